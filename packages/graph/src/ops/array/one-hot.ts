import { DType, isDType, isInteger } from '../../dtype';
import { DTypeError, ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import { registerOp } from '../../registry';
import { normalizeAxis } from '../../shape';
import { apply1 } from '../builder';
import { attrNumber, requireDType } from '../infer-helpers';

/**
 * A `depth`-long axis inserted at `axis` holding `onValue` where it equals the index, `offValue`
 * elsewhere. Indices outside [0, depth) (negative ones too) give a row of `offValue`, as tf.one_hot.
 */
registerOp({
  name: 'oneHot',
  family: 'array',
  numInputs: 1,
  nonDifferentiableInputs: [0],
  infer: (ctx) => {
    const { shape } = ctx.inputs[0];
    requireDType(ctx, 0, ['int32', 'int64']);
    const depth = attrNumber(ctx, 'depth');
    if (!Number.isInteger(depth) || depth < 0) throw new ShapeError(`${ctx.where}depth must be a non-negative integer, got ${depth}`);
    const dtype = ctx.attrs.dtype ?? 'float32';
    if (!isDType(dtype)) throw new DTypeError(`${ctx.where}attr 'dtype' must be a dtype, got ${String(dtype)}`);
    for (const key of ['onValue', 'offValue']) {
      const v = attrNumber(ctx, key);
      if (isInteger(dtype) && !Number.isInteger(v)) throw new DTypeError(`${ctx.where}${key} ${v} is not an integer, as ${dtype} needs`);
    }
    const axis = normalizeAxis(Number(ctx.attrs.axis ?? -1), shape.length + 1, ctx.where);
    return [{ dtype, shape: [...shape.slice(0, axis), depth, ...shape.slice(axis)] }];
  },
});

/**
 * One-hot encoding of int32/int64 `indices` along a new axis of length `depth` (last by default).
 *
 * ```ts
 * ops.oneHot(labels, 10);                 // int32 [N] -> float32 [N, 10]
 * ops.oneHot([0, 2], 3, 5, -1, 0);        // [[5, -1, -1], [-1, -1, 5]]
 * ```
 */
export function oneHot(
  indices: TensorLike,
  depth: number,
  onValue = 1,
  offValue = 0,
  axis = -1,
  dtype: DType = 'float32',
  name?: string,
): SymbolicTensor {
  const idx = toSymbolic(graphOf([indices]), indices, 'int32');
  return apply1('oneHot', [idx], { depth, onValue, offValue, axis, dtype }, name);
}
