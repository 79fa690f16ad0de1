import type { SymbolicTensor } from '../graph';
import { setGradient } from '../registry';
import { add, div, greater, less, logicalOr, mul, sub, where } from '../ops/math/binary';
import { ceil, floor, neg, sqrt, square } from '../ops/math/unary';
import { cosh, sinh } from '../ops/math/trig';
import { cumSum } from '../ops/math/cumsum';
import { scalarOf, unbroadcast } from './helpers';

/**
 * Gradients of the math ops ONNX import brought in: the inverse and hyperbolic trigonometric
 * functions, clip, fmod, cumSum and the narrow-float rounding.
 */

const unary = (name: string, f: (dy: SymbolicTensor, x: SymbolicTensor, y: SymbolicTensor) => SymbolicTensor): void =>
  setGradient(name, ({ inputs, outputs, grads }) => [f(grads[0]!, inputs[0], outputs[0])]);

const oneMinusSquare = (x: SymbolicTensor): SymbolicTensor => sub(scalarOf(x, 1), square(x));

unary('tan', (dy, _x, y) => mul(dy, add(square(y), 1)));
unary('asin', (dy, x) => div(dy, sqrt(oneMinusSquare(x))));
unary('acos', (dy, x) => neg(div(dy, sqrt(oneMinusSquare(x)))));
unary('atan', (dy, x) => div(dy, add(square(x), 1)));
unary('sinh', (dy, x) => mul(dy, cosh(x)));
unary('cosh', (dy, x) => mul(dy, sinh(x)));
unary('asinh', (dy, x) => div(dy, sqrt(add(square(x), 1))));
unary('acosh', (dy, x) => div(dy, sqrt(sub(square(x), 1))));
unary('atanh', (dy, x) => div(dy, oneMinusSquare(x)));
// rounding to float16/bfloat16 stands for a cast to a narrower float: the gradient passes, as cast's
unary('roundFloat', (dy) => dy);

// clip(x, lo, hi) = lo where x < lo, hi where x > hi (and x >= lo), else x
setGradient('clip', ({ node, inputs, grads }) => {
  const [x, lo, hi] = inputs;
  const dy = grads[0]!;
  const zero = scalarOf(dy, 0);
  const below = less(x, lo);
  const above = greater(x, hi);
  return [
    unbroadcast(where(logicalOr(below, above), zero, dy), node, 0),
    unbroadcast(where(below, dy, zero), node, 1),
    unbroadcast(where(below, zero, where(above, dy, zero)), node, 2),
  ];
});

// fmod(a, b) = a - trunc(a / b) b
setGradient('fmod', ({ node, inputs, grads }) => {
  const [a, b] = inputs;
  const dy = grads[0]!;
  const q = div(a, b);
  const trunc = where(less(q, scalarOf(q, 0)), ceil(q), floor(q));
  return [unbroadcast(dy, node, 0), unbroadcast(neg(mul(dy, trunc)), node, 1)];
});

// each input element adds into the outputs after (before, reversed) it: the gradient sums the other way
setGradient('cumSum', ({ node, grads }) => [
  cumSum(grads[0]!, node.attrs.axis as number, { exclusive: node.attrs.exclusive === true, reverse: node.attrs.reverse !== true }),
]);
