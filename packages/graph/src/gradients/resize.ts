import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import { setGradient } from '../registry';
import { shapeToString } from '../shape';
import { tensor } from '../tensor';
import { fill } from '../ops/array/fill';
import { gatherGrad } from '../ops/array/gradient-ops';
import { expandDims } from '../ops/array/reshape';
import { mul } from '../ops/math/binary';
import { broadcastToShapeOf } from '../ops/math/broadcast-gradient';
import { scalarOf } from './helpers';

/**
 * The gradient of resize, its adjoint. Resize is separable: one dimension after another, each output
 * coordinate a weighted sum of a few input taps (1 for nearest, 2 for linear, 4 for cubic; an
 * extrapolated coordinate of tf_crop_and_resize is a constant). So each dimension's step is a linear
 * map given by constant (index, weight) tables, and its adjoint scatters dy · weight back to the taps
 * (gatherGrad, whose gradient is gather: second derivatives stay closed). The steps run in reverse
 * order. The tables are computed as the kernels compute them (the same coordinate transforms,
 * rounding, cubic coefficients and excludeOutside renormalization); they need x's shape to be known.
 */

interface Taps {
  index: number[];
  weight: number[];
  width: number;
}

function sourceCoordinate(mode: string, o: number, scale: number, outLen: number, inLen: number, roiStart: number, roiEnd: number): number {
  switch (mode) {
    case 'asymmetric':
      return o / scale;
    case 'align_corners':
      return outLen === 1 ? 0 : (o * (inLen - 1)) / (outLen - 1);
    case 'pytorch_half_pixel':
      return outLen > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case 'tf_half_pixel_for_nn':
      return (o + 0.5) / scale;
    case 'half_pixel_symmetric': {
      const adjustment = outLen / (scale * inLen);
      const center = inLen / 2;
      const offset = center * (1 - adjustment);
      return offset + (o + 0.5) / scale - 0.5;
    }
    case 'tf_crop_and_resize':
      return outLen > 1 ? roiStart * (inLen - 1) + (o * (roiEnd - roiStart) * (inLen - 1)) / (outLen - 1) : 0.5 * (roiStart + roiEnd) * (inLen - 1);
    default:
      return (o + 0.5) / scale - 0.5;
  }
}

function nearestIndex(x: number, mode: string): number {
  switch (mode) {
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    case 'round_prefer_ceil':
      return x - Math.floor(x) === 0.5 ? Math.ceil(x) : Math.round(x);
    default:
      return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
  }
}

function cubicCoefficients(r: number, a: number): number[] {
  const c = (t: number): number => {
    const x = Math.abs(t);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
  };
  return [c(r + 1), c(r), c(1 - r), c(2 - r)];
}

/** Per output coordinate, `width` (input index, weight) pairs; an extrapolated coordinate has weight 0 everywhere (its value is a constant). */
export function resizeTaps(attrs: Record<string, unknown>, inLen: number, outLen: number, scale: number, roiStart: number, roiEnd: number): Taps {
  const mode = String(attrs.mode ?? 'nearest');
  const coordinate = String(attrs.coordinateTransformationMode ?? 'half_pixel');
  const width = mode === 'nearest' ? 1 : mode === 'linear' ? 2 : 4;
  const index = new Array<number>(outLen * width).fill(0);
  const weight = new Array<number>(outLen * width).fill(0);
  const a = Number(attrs.cubicCoeffA ?? -0.75);
  const exclude = attrs.excludeOutside === true;
  for (let o = 0; o < outLen; o++) {
    // ONNX's length_resized is input length x scale, unrounded (as its reference implementation)
    const x = sourceCoordinate(coordinate, o, scale, inLen * scale, inLen, roiStart, roiEnd);
    const at = o * width;
    if (coordinate === 'tf_crop_and_resize' && (x < 0 || x > inLen - 1)) continue;
    if (mode === 'nearest') {
      index[at] = Math.min(Math.max(nearestIndex(x, String(attrs.nearestMode ?? 'round_prefer_floor')), 0), inLen - 1);
      weight[at] = 1;
      continue;
    }
    const base = Math.floor(x);
    const r = x - base;
    const ws = mode === 'linear' ? [1 - r, r] : cubicCoefficients(r, a);
    const first = mode === 'linear' ? base : base - 1;
    let total = 0;
    for (let k = 0; k < width; k++) {
      const i = first + k;
      const w = exclude && (i < 0 || i >= inLen) ? 0 : ws[k];
      index[at + k] = Math.min(Math.max(i, 0), inLen - 1);
      weight[at + k] = w;
      total += w;
    }
    if (exclude && total !== 0) for (let k = 0; k < width; k++) weight[at + k] /= total;
  }
  return { index, weight, width };
}

setGradient('resize', ({ node, inputs, grads }) => {
  const [x] = inputs;
  const dy = grads[0]!;
  const graph = x.graph;
  const rank = x.rank;
  if (!x.shape.every((d): d is number => d !== null)) {
    throw new GradientError(`gradient of resize (node '${node.name}'): x ${shapeToString(x.shape)} must have a known shape (the resampling tables depend on it)`);
  }
  const xShape = x.shape as number[];
  if (xShape.some((d) => d === 0)) return [broadcastToShapeOf(scalarOf(x, 0), x)];
  const attrs = node.attrs;
  const sizes = attrs.sizes as number[];
  const scales = (attrs.scales as number[] | undefined) ?? sizes.map((s, d) => s / xShape[d]);
  const roi = attrs.roi as number[] | undefined;
  const coordinate = String(attrs.coordinateTransformationMode ?? 'half_pixel');
  const resized = xShape.map((inLen, d) => !(inLen === sizes[d] && scales[d] === 1 && coordinate !== 'tf_crop_and_resize'));
  let g = dy;
  for (let d = rank - 1; d >= 0; d--) {
    if (!resized[d]) continue;
    const inLen = xShape[d];
    const outLen = sizes[d];
    const t = resizeTaps(attrs, inLen, outLen, scales[d], roi ? roi[d] : 0, roi ? roi[d + rank] : 1);
    const trailing = new Array<number>(rank - d - 1).fill(1);
    const single = t.width === 1;
    const indices = graph.constant(tensor(t.index, single ? [outLen] : [outLen, t.width], 'int32'));
    const weights = graph.constant(tensor(t.weight, single ? [outLen, ...trailing] : [outLen, t.width, ...trailing], x.dtype));
    const weighted = single && t.weight.every((w) => w === 1) ? g : mul(single ? g : expandDims(g, d + 1), weights);
    // the step's input: x's sizes from d on, the output's before d
    const stepShape = xShape.map((s, i) => (i < d ? sizes[i] : s));
    const like = stepShape.every((s, i) => s === xShape[i]) ? x : fill(stepShape, 0, x.dtype, { graph });
    g = gatherGrad(weighted, indices, like, d);
  }
  return [g];
});
