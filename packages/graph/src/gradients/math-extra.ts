import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import { expandDims } from '../ops/array/reshape';
import { apply1 } from '../ops/builder';
import { broadcastToShapeOf, sumToShapeOf } from '../ops/math/broadcast-gradient';
import { parseEinsum } from '../ops/math/einsum';
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

/**
 * einsum: the gradient of operand i is the einsum of the output gradient with the other operands
 * onto operand i's labels (`out,others->term_i`). Labels only operand i has are summed away in the
 * forward op, so its gradient is constant along them: computed without them, then broadcast back.
 * Broadcast dimensions (size-1 labels, a shorter '...') are summed back to the operand's shape.
 * Repeated labels within one operand (diagonals) are not supported.
 */
setGradient('einsum', ({ node, inputs, grads }) => {
  const spec = parseEinsum(String(node.attrs.equation), inputs.map((t) => t.rank));
  const dy = grads[0]!;
  return inputs.map((x, i) => {
    const term = spec.inputs[i];
    const labels = term.replace('*', '');
    if (new Set(labels).size !== labels.length) {
      throw new GradientError(`gradient of einsum (node '${node.name}'): operand ${i} repeats a label ('${term}'); diagonals are not supported`);
    }
    const others = spec.inputs.filter((_, j) => j !== i);
    const available = spec.output + others.join('');
    const kept = [...term].filter((ch) => ch === '*' || available.includes(ch)).join('');
    if (term.includes('*') && !kept.includes('*')) {
      throw new GradientError(`gradient of einsum (node '${node.name}'): operand ${i}'s '...' dimensions appear nowhere else`);
    }
    const equation = `${[spec.output, ...others].map(dots).join(',')}->${dots(kept)}`;
    let g = apply1('einsum', [dy, ...inputs.filter((_, j) => j !== i)], { equation });
    if (kept !== term) {
      // give back the summed-away labels as size-1 dims, then broadcast
      const ellRank = x.rank - labels.length;
      let pos = 0;
      for (const ch of term) {
        if (ch === '*') pos += ellRank;
        else {
          if (!kept.includes(ch)) g = expandDims(g, pos);
          pos++;
        }
      }
      g = broadcastToShapeOf(g, x);
    }
    if (term.includes('*') && term.indexOf('*') !== 0 && g.rank !== x.rank) {
      throw new GradientError(`gradient of einsum (node '${node.name}'): a broadcast '...' inside operand ${i}'s labels is not supported`);
    }
    return g.rank === x.rank && g.shape.every((d, k) => d !== null && d === x.shape[k]) ? g : sumToShapeOf(g, x);
  });
});

const dots = (term: string): string => term.replace('*', '...');
