import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import { registerOp } from '../../registry';
import { normalizeAxis } from '../../shape';
import { apply1 } from '../builder';
import { requireDType } from '../infer-helpers';

/**
 * Slices of `params` along `axis` picked by `indices`: out[..., i..., ...] = params[..., indices[i...], ...].
 * Negative indices count from the end; an index out of range is an error at run time naming the node.
 */
registerOp({
  name: 'gather',
  family: 'array',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const [params, indices] = ctx.inputs;
    requireDType(ctx, 1, ['int32', 'int64']);
    const axis = normalizeAxis(Number(ctx.attrs.axis ?? 0), params.shape.length, ctx.where);
    return [{ dtype: params.dtype, shape: [...params.shape.slice(0, axis), ...indices.shape, ...params.shape.slice(axis + 1)] }];
  },
});

/**
 * Rows (or slices along `axis`) of `params` picked by int32/int64 `indices`, as tf.gather; negative
 * indices count from the end, as in numpy.
 *
 * ```ts
 * ops.gather(embeddings, ids);        // [V, D] gathered by [N, T] -> [N, T, D]
 * ops.gather(x, [2, 0], 1);           // columns 2 and 0
 * ```
 */
export function gather(params: TensorLike, indices: TensorLike, axis = 0, name?: string): SymbolicTensor {
  const g = graphOf([params, indices]);
  const idx = toSymbolic(g, indices, 'int32');
  return apply1('gather', [toSymbolic(g, params), idx], { axis }, name, g);
}
