import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { Shape, broadcastShapes, shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireDType, sameDType } from '../infer-helpers';

/**
 * Batched matrix product over the last two dimensions; leading (batch) dimensions broadcast.
 * Rank-1 operands are not promoted: use reshape/expandDims (as tf.matmul requires rank >= 2).
 */
registerOp({
  name: 'matmul',
  family: 'math',
  numInputs: 2,
  infer: (ctx) => {
    const dtype = sameDType(ctx);
    requireDType(ctx, 0, ['float32', 'float64', 'int32']);
    const [a, b] = ctx.inputs.map((i) => i.shape);
    if (a.length < 2 || b.length < 2) {
      throw new ShapeError(`${ctx.where}inputs must have rank >= 2, got ${shapeToString(a)} and ${shapeToString(b)}`);
    }
    const ta = ctx.attrs.transposeA === true;
    const tb = ctx.attrs.transposeB === true;
    const m = a[a.length - (ta ? 1 : 2)];
    const ka = a[a.length - (ta ? 2 : 1)];
    const kb = b[b.length - (tb ? 1 : 2)];
    const n = b[b.length - (tb ? 2 : 1)];
    if (ka !== null && kb !== null && ka !== kb) {
      throw new ShapeError(
        `${ctx.where}inner dimensions differ: ${shapeToString(a)}${ta ? 'ᵀ' : ''} x ${shapeToString(b)}${tb ? 'ᵀ' : ''} (${ka} vs ${kb})`,
      );
    }
    const batch: Shape = broadcastShapes(a.slice(0, -2), b.slice(0, -2), ctx.where);
    return [{ dtype, shape: [...batch, m, n] }];
  },
});

/** `a @ b` over the last two dimensions, optionally transposing either operand first. */
export function matmul(
  a: TensorLike,
  b: TensorLike,
  options: { transposeA?: boolean; transposeB?: boolean } = {},
  name?: string,
): SymbolicTensor {
  return apply1('matmul', [a, b], { transposeA: options.transposeA ?? false, transposeB: options.transposeB ?? false }, name);
}
