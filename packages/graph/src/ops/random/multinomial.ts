import { DType, isDType } from '../../dtype';
import { DTypeError, ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1, cleanAttrs } from '../builder';
import { requireFloat, requireRank } from '../infer-helpers';

/**
 * multinomial(logits): `numSamples` class indices per row of logits [batch, classes], each drawn
 * with probability softmax(row) (tf.random.categorical, TensorFlow 1's tf.multinomial, ONNX
 * Multinomial). Stateful: every run draws anew from the node's seeded generator, one uniform draw
 * per sample in row-major order, so every backend gives the cpu's indices. Not differentiable.
 */
registerOp({
  name: 'multinomial',
  family: 'random',
  numInputs: 1,
  stateful: true,
  nonDifferentiableInputs: [0],
  infer: (ctx) => {
    requireFloat(ctx, 0);
    const [batch, classes] = requireRank(ctx, 0, 2);
    const samples = ctx.attrs.numSamples;
    if (!(typeof samples === 'number' && Number.isInteger(samples) && samples >= 0)) {
      throw new ShapeError(`${ctx.where}numSamples must be a non-negative integer, got ${String(samples)}`);
    }
    if (classes === 0 && samples > 0) throw new ShapeError(`${ctx.where}logits have no classes to draw from`);
    const dtype = ctx.attrs.dtype ?? 'int32';
    if (!isDType(dtype) || (dtype !== 'int32' && dtype !== 'int64')) throw new DTypeError(`${ctx.where}dtype must be int32 or int64, got ${String(dtype)}`);
    return [{ dtype, shape: [batch, samples] }];
  },
});

export interface MultinomialOptions {
  /** int32 (the default, as ONNX's) or int64 (TensorFlow's). */
  dtype?: DType;
  /** Seeds the node's generator: the same draws in every new session. Without one, the node's name seeds it. */
  seed?: number;
  name?: string;
}

/**
 * Class indices drawn from the softmax of each row of `logits` (unnormalized log-probabilities).
 *
 * ```ts
 * const next = ops.multinomial(logits, 1, { seed: 7 });   // logits [batch, vocab] -> [batch, 1] int32
 * ```
 */
export function multinomial(logits: TensorLike, numSamples: number, options: MultinomialOptions = {}): SymbolicTensor {
  return apply1('multinomial', [logits], cleanAttrs({ numSamples, dtype: options.dtype ?? 'int32', seed: options.seed }), options.name);
}
