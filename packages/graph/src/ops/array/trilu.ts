import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';

/**
 * trilu(x): the upper (`upper`, default) or lower triangle of each matrix in the last two
 * dimensions, the rest zeroed; `k` shifts the diagonal (ONNX Trilu, numpy triu/tril).
 */
registerOp({
  name: 'trilu',
  family: 'array',
  numInputs: 1,
  infer: (ctx) => {
    if (ctx.inputs[0].shape.length < 2) throw new ShapeError(`${ctx.where}input must have rank >= 2`);
    if (!Number.isInteger(Number(ctx.attrs.k ?? 0))) throw new ShapeError(`${ctx.where}k must be an integer`);
    return [{ ...ctx.inputs[0] }];
  },
});

export function triu(x: TensorLike, k = 0, name?: string): SymbolicTensor {
  return apply1('trilu', [x], { upper: true, k }, name);
}

export function tril(x: TensorLike, k = 0, name?: string): SymbolicTensor {
  return apply1('trilu', [x], { upper: false, k }, name);
}
