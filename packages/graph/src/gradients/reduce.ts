import type { SymbolicTensor } from '../graph';
import type { GradientContext } from '../opdef';
import { setGradient } from '../registry';
import { cast } from '../ops/array/cast';
import { onesLike } from '../ops/array/fill';
import { expandDims } from '../ops/array/reshape';
import { broadcastToShapeOf } from '../ops/math/broadcast-gradient';
import { div, equal, mul, where } from '../ops/math/binary';
import { reduceProd, reduceSum } from '../ops/reduce/reduce';
import { scalarOf } from './helpers';

/**
 * Gradients of the reductions (TensorFlow's math_grad.py): the output gradient is given its reduced
 * axes back (as size 1) and broadcast over x, then weighted: 1 for sum, 1/N for mean, the arg-max
 * mask shared among ties for max/min, the product of the other elements for prod.
 */

/** A reduction's output (or its gradient) with the reduced axes back as size 1, keepDims or not. */
function keepDims(t: SymbolicTensor, ctx: GradientContext): SymbolicTensor {
  if (ctx.attrs.keepDims === true) return t;
  let out = t;
  for (const axis of ctx.attrs.axes as number[]) out = expandDims(out, axis);
  return out;
}

const axesOf = (ctx: GradientContext): number[] => (ctx.inputs[0].rank === 0 ? [] : (ctx.attrs.axes as number[]));

setGradient('reduceSum', (ctx) => [broadcastToShapeOf(keepDims(ctx.grads[0]!, ctx), ctx.inputs[0])]);

setGradient('reduceMean', (ctx) => {
  const [x] = ctx.inputs;
  const axes = axesOf(ctx);
  const dims = axes.map((a) => x.shape[a]);
  const dy = keepDims(ctx.grads[0]!, ctx);
  // the count is a constant when the reduced dimensions are known, else counted at run time
  const scaled = dims.every((d) => d !== null)
    ? mul(dy, 1 / dims.reduce<number>((p, d) => p * d!, 1))
    : div(dy, reduceSum(onesLike(x), axes, true));
  return [broadcastToShapeOf(scaled, x)];
});

/** max/min: the gradient goes to the elements equal to the result, shared equally among ties. */
function extremumGradient(ctx: GradientContext): (SymbolicTensor | null)[] {
  const [x] = ctx.inputs;
  const y = keepDims(ctx.outputs[0], ctx);
  const dy = keepDims(ctx.grads[0]!, ctx);
  const hit = cast(equal(x, y), x.dtype);
  const ties = reduceSum(hit, axesOf(ctx), true);
  return [mul(hit, div(dy, ties))];
}
setGradient('reduceMax', extremumGradient);
setGradient('reduceMin', extremumGradient);

/**
 * prod: d/dx_i = product of the other elements. Written without dividing by x_i where it is 0: with
 * no zero in the slice it is prod / x_i; with exactly one, only that element gets the product of the
 * rest; with more, all get 0.
 */
setGradient('reduceProd', (ctx) => {
  const [x] = ctx.inputs;
  const axes = axesOf(ctx);
  const dy = keepDims(ctx.grads[0]!, ctx);
  const isZero = equal(x, scalarOf(x, 0));
  const zeros = reduceSum(cast(isZero, x.dtype), axes, true);
  const nonZero = where(isZero, scalarOf(x, 1), x);
  const prodNonZero = reduceProd(nonZero, axes, true);
  const noZero = equal(zeros, scalarOf(x, 0));
  const oneZero = equal(zeros, scalarOf(x, 1));
  const zero = scalarOf(x, 0);
  const slope = where(isZero, where(oneZero, prodNonZero, zero), where(noZero, div(prodNonZero, nonZero), zero));
  return [mul(slope, dy)];
});
