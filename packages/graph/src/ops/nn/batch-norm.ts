import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { applyOp } from '../builder';
import { attrNumber, broadcastAll, requireFloat, sameDType } from '../infer-helpers';

/**
 * batchNorm(x, mean, variance, offset, scale): `(x - mean) * scale / sqrt(variance + eps) + offset`.
 * The statistics broadcast against `x` (typically `[C]` over an NHWC or [N, C] input) but never
 * enlarge it: the output has x's shape.
 */
registerOp({
  name: 'batchNorm',
  family: 'nn',
  numInputs: 5,
  infer: (ctx) => {
    const dtype = sameDType(ctx);
    requireFloat(ctx, 0);
    const eps = attrNumber(ctx, 'varianceEpsilon', 1e-3);
    if (!(eps >= 0)) throw new ShapeError(`${ctx.where}varianceEpsilon must be non-negative, got ${eps}`);
    const x = ctx.inputs[0].shape;
    const out = broadcastAll(ctx);
    if (out.length !== x.length || !out.every((d, i) => d === x[i] || x[i] === null)) {
      const names = ['mean', 'variance', 'offset', 'scale'];
      throw new ShapeError(
        `${ctx.where}${names.map((n, i) => `${n} ${shapeToString(ctx.inputs[i + 1].shape)}`).join(', ')} must broadcast to x ${shapeToString(x)} without enlarging it`,
      );
    }
    return [{ dtype, shape: [...x] }];
  },
});

/**
 * Batch normalization with given statistics, as `tf.nn.batch_normalization`:
 * `(x - mean) * scale / sqrt(variance + varianceEpsilon) + offset`. `offset` and `scale` may be null
 * (0 and 1). Parameters broadcast against x, so `[C]` statistics normalize the last (channel) axis.
 *
 * ```ts
 * const y = ops.batchNorm(x, movingMean, movingVar, beta, gamma, 1e-3);  // x: [N, H, W, C], stats: [C]
 * ```
 */
export function batchNorm(
  x: TensorLike,
  mean: TensorLike,
  variance: TensorLike,
  offset: TensorLike | null,
  scale: TensorLike | null,
  varianceEpsilon: number,
  name?: string,
): SymbolicTensor {
  const g = graphOf([x, mean, variance, offset, scale]);
  const dtype = [x, mean, variance, offset, scale].find((t): t is SymbolicTensor => t instanceof SymbolicTensor)?.dtype ?? 'float32';
  const sym = (t: TensorLike | null, fallback: number) => toSymbolic(g, t ?? fallback, dtype);
  return applyOp(
    'batchNorm',
    [sym(x, 0), sym(mean, 0), sym(variance, 1), sym(offset, 0), sym(scale, 1)],
    { varianceEpsilon },
    name,
    g,
  ).output(0);
}
