import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { attrInts } from '../infer-helpers';

/** Output dimension i is input dimension perm[i]. */
registerOp({
  name: 'transpose',
  family: 'array',
  numInputs: 1,
  infer: (ctx) => {
    const shape = ctx.inputs[0].shape;
    const perm = attrInts(ctx, 'perm');
    const seen = new Set(perm);
    if (perm.length !== shape.length || seen.size !== perm.length || !perm.every((p) => p >= 0 && p < shape.length)) {
      throw new ShapeError(`${ctx.where}perm [${perm.join(', ')}] is not a permutation of the ${shape.length} axes of the input`);
    }
    return [{ dtype: ctx.inputs[0].dtype, shape: perm.map((p) => shape[p]) }];
  },
});

/**
 * Permutes dimensions: output dimension i is input dimension `perm[i]` (negative entries count from
 * the end). Without `perm`, reverses them (a matrix transpose for rank 2).
 *
 * ```ts
 * ops.transpose(x);                 // [2, 3] -> [3, 2]
 * ops.transpose(x, [0, 3, 1, 2]);   // NHWC -> NCHW
 * ```
 */
export function transpose(x: TensorLike, perm?: number[], name?: string): SymbolicTensor {
  const t = toSymbolic(graphOf([x]), x);
  const rank = t.rank;
  const resolved = perm ? perm.map((p) => (p < 0 ? p + rank : p)) : Array.from({ length: rank }, (_, i) => rank - 1 - i);
  return apply1('transpose', [t], { perm: resolved }, name);
}
