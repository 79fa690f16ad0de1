import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import type { Attrs } from '../../opdef';
import { registerOp } from '../../registry';
import { roundEven } from '../../scalar-helpers';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireFloat } from '../infer-helpers';

export const GRID_SAMPLE_MODES = ['linear', 'nearest', 'cubic'];
export const GRID_SAMPLE_PADDING = ['zeros', 'border', 'reflection'];

/**
 * gridSample(x, grid): ONNX GridSample (opset 16 and 20). x [N, C, D1, ..., Dr]; grid
 * [N, O1, ..., Or, r] holds normalized coordinates in [-1, 1], the last entry indexing D1's axis
 * backwards (grid[..., 0] is the innermost spatial axis, as torch.nn.functional.grid_sample); the
 * output is [N, C, O1, ..., Or]. `mode` linear | nearest | cubic (ONNX 16's bilinear / bicubic),
 * `paddingMode` zeros | border | reflection, `alignCorners` (-1 and 1 are the centers of the corner
 * pixels rather than their outer edges). Sampling is separable: per spatial axis a list of taps
 * (`gridSampleTaps`), the product of one tap per axis weighting each pixel read.
 */
registerOp({
  name: 'gridSample',
  family: 'nn',
  numInputs: 2,
  infer: (ctx) => {
    const dtype = requireFloat(ctx, 0);
    if (ctx.inputs[1].dtype !== dtype) throw new ShapeError(`${ctx.where}grid must be ${dtype} as x, got ${ctx.inputs[1].dtype}`);
    const x = ctx.inputs[0].shape;
    const grid = ctx.inputs[1].shape;
    const r = x.length - 2;
    if (r < 1) throw new ShapeError(`${ctx.where}x ${shapeToString(x)} must be [N, C, ...spatial] with at least one spatial axis`);
    if (grid.length !== r + 2 || (grid[r + 1] !== null && grid[r + 1] !== r) || (x[0] !== null && grid[0] !== null && x[0] !== grid[0])) {
      throw new ShapeError(`${ctx.where}grid ${shapeToString(grid)} must be [N, ...output spatial, ${r}] for x ${shapeToString(x)}`);
    }
    const check = (name: string, allowed: string[], fallback: string) => {
      const v = String(ctx.attrs[name] ?? fallback);
      if (!allowed.includes(v)) throw new ShapeError(`${ctx.where}${name} '${v}' is not one of ${allowed.join(', ')}`);
    };
    check('mode', GRID_SAMPLE_MODES, 'linear');
    check('paddingMode', GRID_SAMPLE_PADDING, 'zeros');
    return [{ dtype, shape: [x[0] ?? grid[0], x[1], ...grid.slice(1, r + 1)] }];
  },
});

/** Taps of one spatial axis: the pixel indices read (clamped into range) and their weights. */
export interface GridTaps {
  index: number[];
  weight: number[];
}

/** The source coordinate (in pixels) of normalized coordinate `g` on an axis of `length` pixels. */
export function gridDenormalize(g: number, length: number, alignCorners: boolean): number {
  return alignCorners ? ((g + 1) / 2) * (length - 1) : ((g + 1) * length - 1) / 2;
}

/** The borders reflection mirrors at: pixel centers with alignCorners, else pixel edges. */
export function gridBorders(length: number, alignCorners: boolean): [number, number] {
  return alignCorners ? [0, length - 1] : [-0.5, length - 0.5];
}

/** `x` reflected at lo and hi until it lies between them (a triangle wave); 0 when lo = hi. */
export function gridReflect(x: number, lo: number, hi: number): number {
  const span = hi - lo;
  if (span <= 0) return lo;
  const u = (x - lo) / span;
  const m = u - 2 * Math.floor(u / 2);
  return lo + span * (m <= 1 ? m : 2 - m);
}

/** Keys' cubic convolution weights of the taps at -1, 0, 1, 2 for fraction t (A = -0.75, as ONNX). */
export function gridCubicWeights(t: number): number[] {
  const a = -0.75;
  const c = (s: number): number => {
    const x = Math.abs(s);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
  };
  return [c(t + 1), c(t), c(1 - t), c(2 - t)];
}

/** Taps per axis of a mode: nearest 1, linear 2, cubic 4. */
export const gridTapCount = (mode: string): number => (mode === 'nearest' ? 1 : mode === 'cubic' ? 4 : 2);

/**
 * The taps of normalized coordinate `g` on an axis of `length` pixels, as ONNX's reference
 * implementation: denormalize; for nearest, round (half to even, std::round half away from zero
 * for three spatial axes, as PyTorch); a coordinate outside the borders is clamped (border) or
 * reflected (reflection); then each tap pixel is read with the padding rule: zeros gives weight 0
 * outside the image, border clamps, reflection reflects the integer tap (reflecting an integer at
 * these borders gives an integer, which is rounded to stay exact under float error).
 */
export function gridSampleTaps(g: number, length: number, attrs: Attrs, rank: number): GridTaps {
  const mode = String(attrs.mode ?? 'linear');
  const padding = String(attrs.paddingMode ?? 'zeros');
  const align = attrs.alignCorners === true;
  const [lo, hi] = gridBorders(length, align);
  let x = gridDenormalize(g, length, align);
  if (mode === 'nearest') x = rank === 3 ? Math.sign(x) * Math.floor(Math.abs(x) + 0.5) : roundEven(x);
  if (x < lo || x > hi) {
    if (padding === 'border') x = Math.min(Math.max(x, 0), length - 1);
    else if (padding === 'reflection') x = gridReflect(x, lo, hi);
  }
  let first: number;
  let weights: number[];
  if (mode === 'nearest') {
    // x is a whole number on every path (rounded, clamped, or a whole number reflected at these
    // borders); the reflection's float arithmetic can land a hair below it (0.9999...), so round
    first = Math.round(x);
    weights = [1];
  } else {
    const base = Math.floor(x);
    const t = x - base;
    first = mode === 'cubic' ? base - 1 : base;
    weights = mode === 'cubic' ? gridCubicWeights(t) : [1 - t, t];
  }
  const index: number[] = [];
  const weight: number[] = [];
  weights.forEach((w, k) => {
    let i = first + k;
    if (padding === 'zeros') {
      if (i < 0 || i >= length) w = 0;
    } else if (padding === 'reflection') i = Math.round(gridReflect(i, lo, hi));
    index.push(Math.min(Math.max(i, 0), length - 1));
    weight.push(w);
  });
  return { index, weight };
}

export interface GridSampleOptions {
  mode?: 'linear' | 'nearest' | 'cubic';
  paddingMode?: 'zeros' | 'border' | 'reflection';
  alignCorners?: boolean;
}

/**
 * ```ts
 * ops.gridSample(x, grid, { mode: 'linear', paddingMode: 'border' });   // x [N, C, H, W], grid [N, h, w, 2]
 * ```
 */
export function gridSample(x: TensorLike, grid: TensorLike, options: GridSampleOptions = {}, name?: string): SymbolicTensor {
  return apply1('gridSample', [x, grid], { mode: options.mode ?? 'linear', paddingMode: options.paddingMode ?? 'zeros', alignCorners: options.alignCorners === true }, name);
}
