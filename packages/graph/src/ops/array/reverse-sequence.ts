import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { requireDType } from '../infer-helpers';

/**
 * reverseSequence(x, lengths): for each batch entry b, the first lengths[b] steps along `timeAxis`
 * reversed, the rest copied (ONNX ReverseSequence, tf.reverse_sequence).
 */
registerOp({
  name: 'reverseSequence',
  family: 'array',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    requireDType(ctx, 1, ['int32', 'int64']);
    const rank = ctx.inputs[0].shape.length;
    const t = Number(ctx.attrs.timeAxis ?? 0);
    const b = Number(ctx.attrs.batchAxis ?? 1);
    if (rank < 2 || ![0, 1].includes(t) || ![0, 1].includes(b) || t === b) {
      throw new ShapeError(`${ctx.where}needs rank >= 2 and timeAxis/batchAxis 0 and 1 (either way round)`);
    }
    return [{ ...ctx.inputs[0] }];
  },
});

export function reverseSequence(x: TensorLike, lengths: TensorLike, timeAxis = 0, batchAxis = 1, name?: string): SymbolicTensor {
  return apply1('reverseSequence', [x, lengths], { timeAxis, batchAxis }, name);
}
