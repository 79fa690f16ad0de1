import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import { setGradient } from '../registry';
import { cast } from '../ops/array/cast';
import { oneHot } from '../ops/array/one-hot';
import { gatherGrad } from '../ops/array/gradient-ops';
import { gather } from '../ops/array/gather';
import { add, div, greater, less, logicalAnd, logicalOr, mul, notEqual, sub, where } from '../ops/math/binary';
import { abs, neg, square } from '../ops/math/unary';
import { broadcastToShapeOf, sumToShapeOf } from '../ops/math/broadcast-gradient';
import { expandDims } from '../ops/array/reshape';
import { reduceMean, reduceSum } from '../ops/reduce/reduce';
import { scalarOf } from './helpers';

/** Gradients of the activations, normalization and losses ONNX import brought in. */

const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);
const zeroLike = (t: SymbolicTensor): SymbolicTensor => scalarOf(t, 0);

setGradient('softsign', ({ inputs, grads }) => [div(grads[0]!, square(add(abs(inputs[0]), 1)))]);

setGradient('thresholdedRelu', ({ node, inputs, grads }) => [
  where(greater(inputs[0], scalarOf(inputs[0], num(node.attrs.alpha, 1))), grads[0]!, zeroLike(grads[0]!)),
]);

// celu: slope 1 for x > 0, else exp(x / alpha) = y / alpha + 1
setGradient('celu', ({ node, inputs, outputs, grads }) => {
  const alpha = num(node.attrs.alpha, 1);
  const dy = grads[0]!;
  return [where(greater(inputs[0], scalarOf(inputs[0], 0)), dy, mul(dy, add(mul(outputs[0], 1 / alpha), 1)))];
});

setGradient('shrink', ({ node, inputs, grads }) => {
  const l = num(node.attrs.lambd, 0.5);
  const [x] = inputs;
  const outside = logicalOr(less(x, scalarOf(x, -l)), greater(x, scalarOf(x, l)));
  return [where(outside, grads[0]!, zeroLike(grads[0]!))];
});

// hardSigmoid = clamp(alpha x + beta, 0, 1): slope alpha strictly inside
setGradient('hardSigmoid', ({ node, inputs, grads }) => {
  const alpha = num(node.attrs.alpha, 0.2);
  const beta = num(node.attrs.beta, 0.5);
  const [x] = inputs;
  const z = add(mul(x, alpha), beta);
  const inside = logicalAnd(greater(z, scalarOf(z, 0)), less(z, scalarOf(z, 1)));
  return [where(inside, mul(grads[0]!, alpha), zeroLike(grads[0]!))];
});

// hardSwish = x clamp(x/6 + 1/2, 0, 1): 0 below -3, 1 above 3, x/3 + 1/2 between
setGradient('hardSwish', ({ inputs, grads }) => {
  const [x] = inputs;
  const dy = grads[0]!;
  const slope = where(less(x, scalarOf(x, -3)), zeroLike(x), where(greater(x, scalarOf(x, 3)), scalarOf(x, 1), add(div(x, 3), 0.5)));
  return [mul(dy, slope)];
});

/**
 * layerNorm over the axes A = [axis, rank): with xhat = (x - mean) inv and g = dy scale,
 * dx = inv (g - mean_A(g) - xhat mean_A(g xhat)); plus what reaches the Mean and InvStdDev outputs.
 */
setGradient('layerNorm', ({ node, inputs, outputs, grads }) => {
  const [x, scale, bias] = inputs;
  const [dy, dMean, dInv] = grads;
  const rank = x.rank;
  const a = num(node.attrs.axis, -1);
  const axis = a < 0 ? a + rank : a;
  const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
  const mean = outputs[1];
  const inv = outputs[2];
  const centered = sub(x, mean);
  const xhat = mul(centered, inv);
  let dx: SymbolicTensor | null = null;
  let dScale: SymbolicTensor | null = null;
  let dBias: SymbolicTensor | null = null;
  if (dy) {
    const g = mul(dy, scale);
    const meanG = reduceMean(g, axes, true);
    const meanGx = reduceMean(mul(g, xhat), axes, true);
    dx = mul(inv, sub(sub(g, meanG), mul(xhat, meanGx)));
    dScale = sumToShapeOf(mul(dy, xhat), scale);
    dBias = bias ? sumToShapeOf(dy, bias) : null;
  }
  const count = reduceSum(broadcastToShapeOf(scalarOf(x, 1), x), axes, true);
  if (dMean) {
    const part = broadcastToShapeOf(div(dMean, count), x);
    dx = dx ? add(dx, part) : part;
  }
  if (dInv) {
    // inv = (var + eps)^(-1/2), d var / dx = 2 (x - mean) / n: d inv / dx = -inv^3 (x - mean) / n
    const part = mul(neg(div(mul(dInv, mul(inv, square(inv))), count)), centered);
    dx = dx ? add(dx, part) : part;
  }
  return bias ? [dx, dScale, dBias] : [dx, dScale];
});

/**
 * rmsNorm over the axes A = [axis, rank): y = x inv scale, inv = (mean_A(x^2) + eps)^(-1/2), so
 * d inv / dx = -inv^3 x / n and, with g = dy scale, dx = inv g - x inv^3 mean_A(g x); plus what
 * reaches the InvStdDev output.
 */
setGradient('rmsNorm', ({ node, inputs, outputs, grads }) => {
  const [x, scale] = inputs;
  const [dy, dInv] = grads;
  const rank = x.rank;
  const a = num(node.attrs.axis, -1);
  const axis = a < 0 ? a + rank : a;
  const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
  const inv = outputs[1];
  const invCubed = mul(inv, square(inv));
  let dx: SymbolicTensor | null = null;
  let dScale: SymbolicTensor | null = null;
  if (dy) {
    const g = mul(dy, scale);
    dx = sub(mul(inv, g), mul(x, mul(invCubed, reduceMean(mul(g, x), axes, true))));
    dScale = sumToShapeOf(mul(dy, mul(x, inv)), scale);
  }
  if (dInv) {
    const count = reduceSum(broadcastToShapeOf(scalarOf(x, 1), x), axes, true);
    const part = mul(neg(div(mul(dInv, invCubed), count)), x);
    dx = dx ? add(dx, part) : part;
  }
  return [dx, dScale];
});

/**
 * nllLoss: only the picked log-probability of each element takes gradient, -w[t] (scaled by the
 * reduction); the class weights take -x[t] likewise (minus the mean for 'mean', whose denominator
 * holds the weights too).
 */
setGradient(
  'nllLoss',
  ({ node, inputs, outputs, grads }) => {
    const [x, target, weight] = inputs;
    const dy = grads[0]!;
    const classes = x.shape[1];
    if (classes === null) throw new GradientError(`gradient of nllLoss (node '${node.name}'): the class dimension must be known`);
    const ignore = node.attrs.ignoreIndex;
    const kept = typeof ignore === 'number' ? notEqual(target, scalarOf(target, ignore, target.dtype)) : null;
    const safe = kept ? where(kept, target, scalarOf(target, 0, target.dtype)) : target;
    const mask = kept ? cast(kept, x.dtype) : null;
    const w0 = weight ? gather(weight, safe) : broadcastToShapeOf(scalarOf(x, 1), cast(safe, x.dtype));
    const w = mask ? mul(w0, mask) : w0;
    const reduction = String(node.attrs.reduction ?? 'mean');
    // per-element d(loss)/d(picked log-probability), before the minus sign
    let scaleE: SymbolicTensor = reduction === 'none' ? mul(w, dy) : broadcastToShapeOf(dy, w);
    if (reduction === 'sum') scaleE = mul(w, scaleE);
    const total = reduction === 'mean' ? reduceSum(w) : null;
    if (total) scaleE = div(mul(w, scaleE), total);
    const picked = oneHot(safe, classes, 1, 0, 1, x.dtype);
    const dx = neg(mul(picked, expandDims(scaleE, 1)));
    let dw: SymbolicTensor | null = null;
    if (weight) {
      const xPicked = reduceSum(mul(picked, x), 1);
      let perE = neg(xPicked);
      if (total) perE = div(sub(perE, outputs[0]), total);
      const factor = reduction === 'none' ? dy : broadcastToShapeOf(dy, perE);
      const contrib = mask ? mul(mul(perE, factor), mask) : mul(perE, factor);
      dw = gatherGrad(contrib, safe, weight, 0);
    }
    return weight ? [dx, null, dw] : [dx, null];
  },
  [1],
);
