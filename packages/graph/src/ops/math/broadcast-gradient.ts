import { ShapeError } from '../../errors';
import { SymbolicTensor } from '../../graph';
import type { InferContext } from '../../opdef';
import { registerOp } from '../../registry';
import { Shape, broadcastShapes, shapeToString } from '../../shape';
import { apply1 } from '../builder';

/**
 * The two halves of numpy broadcasting that autodiff needs, with the target shape taken from a
 * reference tensor at run time (so unknown dimensions are resolved then, as TensorFlow's
 * BroadcastGradientArgs does):
 *
 * - `sumToShapeOf(x, like)`: sums `x` over the dimensions that broadcasting `like` to `x` expanded,
 *   giving `like`'s shape. The gradient of an input that was broadcast in the forward op.
 * - `broadcastToShapeOf(x, like)`: broadcasts `x` to `like`'s shape.
 *
 * Each is the other's gradient, so gradients of gradients stay closed. `like` is read for its shape
 * only (any dtype) and takes no gradient.
 */

/** Checks that `small` broadcasts to `big` without enlarging `big` (unknown dims match anything). */
function checkBroadcastsTo(ctx: InferContext, small: Shape, big: Shape): void {
  const fits =
    small.length <= big.length &&
    small.every((d, i) => {
      const b = big[i + big.length - small.length];
      return d === null || d === 1 || b === null || d === b;
    });
  if (!fits) {
    throw new ShapeError(`${ctx.where}shape ${shapeToString(small)} does not broadcast to ${shapeToString(big)}`);
  }
  broadcastShapes(small, big, ctx.where);
}

registerOp({
  name: 'sumToShapeOf',
  family: 'reduce',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const [x, like] = ctx.inputs;
    checkBroadcastsTo(ctx, like.shape, x.shape);
    return [{ dtype: x.dtype, shape: [...like.shape] }];
  },
  gradient: ({ inputs, grads }) => [broadcastToShapeOf(grads[0]!, inputs[0]), null],
});

registerOp({
  name: 'broadcastToShapeOf',
  family: 'array',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const [x, like] = ctx.inputs;
    checkBroadcastsTo(ctx, x.shape, like.shape);
    return [{ dtype: x.dtype, shape: [...like.shape] }];
  },
  gradient: ({ inputs, grads }) => [sumToShapeOf(grads[0]!, inputs[0]), null],
});

/**
 * Sums `x` down to the run-time shape of `like` (which must broadcast to x's shape).
 *
 * ```ts
 * const db = ops.sumToShapeOf(dy, b);   // dy: [N, 10], b: [10] -> [10] (sum over the batch)
 * ```
 */
export function sumToShapeOf(x: SymbolicTensor, like: SymbolicTensor, name?: string): SymbolicTensor {
  return apply1('sumToShapeOf', [x, like], {}, name);
}

/** Broadcasts `x` to the run-time shape of `like` (zeros or ones shaped like a tensor, a tiled bias). */
export function broadcastToShapeOf(x: SymbolicTensor, like: SymbolicTensor, name?: string): SymbolicTensor {
  return apply1('broadcastToShapeOf', [x, like], {}, name);
}

/**
 * Whether summing `grad` (shaped as the broadcast of `input` with `others`) back to `input`'s shape
 * may change it: false only when it provably cannot, whatever the unknown dims turn out to be.
 * An unknown dim of `input` is safe when every other operand has 1 (or nothing) there, as a batch
 * dimension against a bias.
 */
export function broadcastReduces(input: Shape, output: Shape, others: Shape[]): boolean {
  if (input.length !== output.length) return true;
  for (let i = 0; i < input.length; i++) {
    const d = input[i];
    if (d !== null && d === output[i]) continue;
    if (d === null) {
      const othersAreOne = others.every((o) => {
        const j = i - (output.length - o.length);
        return j < 0 || o[j] === 1;
      });
      if (othersAreOne) continue;
    }
    return true;
  }
  return false;
}
