import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1, cleanAttrs } from '../builder';
import { attrNumber, requireFloat } from '../infer-helpers';

/**
 * Inverted dropout: each element is zeroed with probability `rate`, the survivors scaled by
 * `1 / (1 - rate)` so the expectation is unchanged. Applied on every run (there is no training
 * flag in the graph: build an inference graph without it). Stateful: each run draws a new mask from
 * the node's generator, which is seeded, so a fresh session replays the same masks.
 *
 * Output 1 is the factor each element was multiplied by (0 or 1 / (1 - rate)): the mask of this
 * run, which the gradient needs (dy * factor) and cannot redraw. `ops.dropout` returns output 0.
 */
registerOp({
  name: 'dropout',
  family: 'nn',
  numInputs: 1,
  stateful: true,
  infer: (ctx) => {
    const dtype = requireFloat(ctx, 0);
    const rate = attrNumber(ctx, 'rate');
    if (!(rate >= 0 && rate < 1)) throw new ShapeError(`${ctx.where}rate must be in [0, 1), got ${rate}`);
    return [
      { dtype, shape: [...ctx.inputs[0].shape] },
      { dtype, shape: [...ctx.inputs[0].shape] },
    ];
  },
});

/**
 * `tf.nn.dropout(x, rate, seed)`.
 *
 * ```ts
 * const h = ops.dropout(ops.relu(z), 0.5, 42);  // half the units zeroed, the rest doubled
 * ```
 */
export function dropout(x: TensorLike, rate: number, seed?: number, name?: string): SymbolicTensor {
  return apply1('dropout', [x], cleanAttrs({ rate, seed }), name);
}
