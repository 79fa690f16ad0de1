import type { DType } from '../../dtype';
import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import type { InferContext, OutputInfo } from '../../opdef';
import { registerOp } from '../../registry';
import { Shape, broadcastShapes, normalizeAxis, shapeToString } from '../../shape';
import { applyOp } from '../builder';
import { requireFloat } from '../infer-helpers';

/**
 * What layerNorm and rmsNorm check alike: a float x, epsilon >= 0, and each parameter (scale, bias)
 * of x's dtype and broadcasting against the normalized dimensions [axis, rank) only. Returns x's
 * dtype and shape and the statistics' shape (x's leading dimensions, size 1 in the normalized ones).
 */
function normalization(ctx: InferContext, params: OutputInfo[]): { dtype: DType; shape: Shape; stat: Shape } {
  const dtype = requireFloat(ctx, 0);
  const x = ctx.inputs[0].shape;
  const axis = normalizeAxis(Number(ctx.attrs.axis ?? -1), x.length, ctx.where);
  const eps = Number(ctx.attrs.epsilon ?? 1e-5);
  if (!(eps >= 0)) throw new ShapeError(`${ctx.where}epsilon must be non-negative`);
  for (const p of params) {
    if (p.dtype !== dtype) throw new ShapeError(`${ctx.where}the scale (and bias) must be ${dtype}`);
    const b = broadcastShapes(x.slice(axis), p.shape, ctx.where);
    if (b.length !== x.length - axis) throw new ShapeError(`${ctx.where}${shapeToString(p.shape)} does not broadcast to the normalized dims ${shapeToString(x.slice(axis))}`);
  }
  return { dtype, shape: [...x], stat: x.map((d, i) => (i < axis ? d : 1)) };
}

/**
 * layerNorm(x, scale, bias?): normalizes over dimensions [axis, rank) then scales and shifts
 * (ONNX LayerNormalization): `(x - mean) / sqrt(var + epsilon) * scale + bias`, with scale and bias
 * broadcasting against the normalized dimensions. Outputs Y, Mean and InvStdDev (the last two
 * keep x's leading dimensions and have size 1 in the normalized ones).
 */
registerOp({
  name: 'layerNorm',
  family: 'nn',
  numInputs: 'variadic',
  infer: (ctx) => {
    if (ctx.inputs.length < 2 || ctx.inputs.length > 3) throw new ShapeError(`${ctx.where}takes x, scale and an optional bias`);
    const { dtype, shape, stat } = normalization(ctx, ctx.inputs.slice(1));
    return [
      { dtype, shape },
      { dtype, shape: stat },
      { dtype, shape: [...stat] },
    ];
  },
});

/**
 * rmsNorm(x, scale): root-mean-square normalization over dimensions [axis, rank) (ONNX's
 * RMSNormalization, onnxruntime's SimplifiedLayerNormalization, an LLM's RMSNorm):
 * `x / sqrt(mean(x^2) + epsilon) * scale`, the mean not subtracted, scale broadcasting against the
 * normalized dimensions. Outputs Y and InvStdDev (x's leading dimensions, size 1 in the normalized ones).
 */
registerOp({
  name: 'rmsNorm',
  family: 'nn',
  numInputs: 2,
  infer: (ctx) => {
    const { dtype, shape, stat } = normalization(ctx, [ctx.inputs[1]]);
    return [
      { dtype, shape },
      { dtype, shape: stat },
    ];
  },
});

/**
 * Layer normalization over the dimensions from `axis` on.
 *
 * ```ts
 * const y = ops.layerNorm(x, gamma, beta, -1, 1e-5);   // x [N, T, D], gamma/beta [D]
 * ```
 */
export function layerNorm(x: TensorLike, scale: TensorLike, bias?: TensorLike | null, axis = -1, epsilon = 1e-5, name?: string): SymbolicTensor {
  const g = graphOf([x, scale]);
  const t = toSymbolic(g, x);
  const inputs = [t, toSymbolic(g, scale, t.dtype)];
  if (bias !== undefined && bias !== null) inputs.push(toSymbolic(g, bias, t.dtype));
  return applyOp('layerNorm', inputs, { axis, epsilon }, name, g).output(0);
}

/**
 * RMS normalization over the dimensions from `axis` on (no mean subtracted, no bias).
 *
 * ```ts
 * const y = ops.rmsNorm(x, gamma, -1, 1e-6);   // x [N, T, D], gamma [D]
 * ```
 */
export function rmsNorm(x: TensorLike, scale: TensorLike, axis = -1, epsilon = 1e-5, name?: string): SymbolicTensor {
  const g = graphOf([x, scale]);
  const t = toSymbolic(g, x);
  return applyOp('rmsNorm', [t, toSymbolic(g, scale, t.dtype)], { axis, epsilon }, name, g).output(0);
}
