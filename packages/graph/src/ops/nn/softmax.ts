import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { normalizeAxis } from '../../shape';
import { apply1 } from '../builder';
import { attrNumber, requireFloat } from '../infer-helpers';

for (const name of ['softmax', 'logSoftmax']) {
  registerOp({
    name,
    family: 'nn',
    numInputs: 1,
    infer: (ctx) => {
      const dtype = requireFloat(ctx, 0);
      const shape = ctx.inputs[0].shape;
      normalizeAxis(attrNumber(ctx, 'axis', -1), shape.length, ctx.where);
      return [{ dtype, shape: [...shape] }];
    },
  });
}

/**
 * `exp(x) / sum(exp(x))` along `axis` (default the last), computed as `exp(x - max)` so large
 * logits do not overflow (tf.nn.softmax).
 *
 * ```ts
 * ops.softmax(logits);        // each row of [N, C] sums to 1
 * ops.softmax(logits, 0);     // each column
 * ```
 */
export function softmax(logits: TensorLike, axis = -1, name?: string): SymbolicTensor {
  return apply1('softmax', [logits], { axis }, name);
}

/** `x - max - log(sum(exp(x - max)))` along `axis`: log of softmax without its underflow (tf.nn.log_softmax). */
export function logSoftmax(logits: TensorLike, axis = -1, name?: string): SymbolicTensor {
  return apply1('logSoftmax', [logits], { axis }, name);
}
