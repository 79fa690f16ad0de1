import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireDType } from '../infer-helpers';

export const RESIZE_MODES = ['nearest', 'linear', 'cubic'];
export const RESIZE_COORDINATES = ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn', 'tf_crop_and_resize'];
export const RESIZE_NEAREST = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

/**
 * resize(x): x resampled to `sizes` (one per dimension), as ONNX Resize: `mode` nearest | linear |
 * cubic (separable over every resized dimension, any rank), `coordinateTransformationMode`,
 * `nearestMode`, `cubicCoeffA`, `excludeOutside`, `extrapolationValue`, `roi` (tf_crop_and_resize).
 * `scales` (one per dimension) sets the coordinate scale; without it the scale is sizes / x's size.
 */
registerOp({
  name: 'resize',
  family: 'nn',
  numInputs: 1,
  infer: (ctx) => {
    const dtype = requireDType(ctx, 0, ['float32', 'float64', 'int32', 'int64']);
    const x = ctx.inputs[0].shape;
    const sizes = ctx.attrs.sizes;
    if (!Array.isArray(sizes) || sizes.length !== x.length || !sizes.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 0)) {
      throw new ShapeError(`${ctx.where}sizes must hold a non-negative integer per dimension of ${shapeToString(x)}`);
    }
    const scales = ctx.attrs.scales;
    if (scales !== undefined && scales !== null && (!Array.isArray(scales) || scales.length !== x.length || !scales.every((s) => typeof s === 'number' && s > 0))) {
      throw new ShapeError(`${ctx.where}scales must hold a positive number per dimension`);
    }
    const check = (name: string, allowed: string[], fallback: string) => {
      const v = String(ctx.attrs[name] ?? fallback);
      if (!allowed.includes(v)) throw new ShapeError(`${ctx.where}${name} '${v}' is not one of ${allowed.join(', ')}`);
    };
    check('mode', RESIZE_MODES, 'nearest');
    check('coordinateTransformationMode', RESIZE_COORDINATES, 'half_pixel');
    check('nearestMode', RESIZE_NEAREST, 'round_prefer_floor');
    if (ctx.attrs.mode !== 'nearest' && ctx.attrs.mode !== undefined && dtype !== 'float32' && dtype !== 'float64') {
      throw new ShapeError(`${ctx.where}${String(ctx.attrs.mode)} resizing needs a float input`);
    }
    return [{ dtype, shape: [...(sizes as number[])] }];
  },
});

export interface ResizeOptions {
  mode?: 'nearest' | 'linear' | 'cubic';
  coordinateTransformationMode?: string;
  nearestMode?: string;
  cubicCoeffA?: number;
  excludeOutside?: boolean;
  extrapolationValue?: number;
  scales?: number[];
  roi?: number[];
}

/**
 * ```ts
 * ops.resize(x, [1, 3, 64, 64], { mode: 'linear' });   // NCHW 32x32 -> 64x64, half-pixel centers
 * ```
 */
export function resize(x: TensorLike, sizes: number[], options: ResizeOptions = {}, name?: string): SymbolicTensor {
  const attrs: Record<string, string | number | boolean | number[]> = { sizes: [...sizes] };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) attrs[k] = v as never;
  return apply1('resize', [x], attrs, name);
}
