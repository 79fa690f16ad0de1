import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { normalizeAxis } from '../../shape';
import { apply1 } from '../builder';
import { requireDType } from '../infer-helpers';

/**
 * cumSum(x): running sums along `axis`; `exclusive` leaves out the element itself, `reverse` sums
 * from the end (ONNX CumSum, tf.math.cumsum).
 */
registerOp({
  name: 'cumSum',
  family: 'math',
  numInputs: 1,
  infer: (ctx) => {
    requireDType(ctx, 0, ['float32', 'float64', 'int32', 'int64']);
    normalizeAxis(Number(ctx.attrs.axis ?? 0), ctx.inputs[0].shape.length, ctx.where);
    return [{ ...ctx.inputs[0] }];
  },
});

export function cumSum(x: TensorLike, axis = 0, options: { exclusive?: boolean; reverse?: boolean } = {}, name?: string): SymbolicTensor {
  return apply1('cumSum', [x], { axis, exclusive: options.exclusive ?? false, reverse: options.reverse ?? false }, name);
}
