import type { SymbolicTensor } from '../graph';
import type { GradientBuilder } from '../opdef';
import { setGradient } from '../registry';
import { SELU_ALPHA, SELU_SCALE } from '../scalar-helpers';
import { leakyReluGrad, relu6Grad, reluGrad } from '../ops/math/activation-grad';
import {
  add,
  div,
  equal,
  greater,
  greaterEqual,
  lessEqual,
  mul,
  pow,
  sub,
  where,
} from '../ops/math/binary';
import { cos, erf, exp, floor, log, neg, sigmoid, sign, sin, square, tanh } from '../ops/math/unary';
import { matmul } from '../ops/math/matmul';
import { reshape } from '../ops/array/reshape';
import { broadcastReduces, broadcastToShapeOf, sumToShapeOf } from '../ops/math/broadcast-gradient';
import { scalarOf, unbroadcast } from './helpers';

/**
 * Gradients of the math family (TensorFlow's math_grad.py): pointwise ops by the chain rule, with
 * broadcast inputs summed back to their shapes, and matmul by the two transposed products. Every
 * builder is made of differentiable ops, so gradients of gradients work.
 */

const unary = (name: string, f: (dy: SymbolicTensor, x: SymbolicTensor, y: SymbolicTensor) => SymbolicTensor | null): void =>
  setGradient(name, ({ inputs, outputs, grads }) => [f(grads[0]!, inputs[0], outputs[0])]);

const zerosLikeOf = (x: SymbolicTensor): SymbolicTensor => broadcastToShapeOf(scalarOf(x, 0), x);

unary('neg', (dy) => neg(dy));
unary('abs', (dy, x) => mul(dy, sign(x)));
unary('exp', (dy, _x, y) => mul(dy, y));
unary('log', (dy, x) => div(dy, x));
unary('log1p', (dy, x) => div(dy, add(x, 1)));
unary('expm1', (dy, x) => mul(dy, exp(x)));
unary('sqrt', (dy, _x, y) => div(dy, mul(y, 2)));
// d/dx x^(-1/2) = -1/2 x^(-3/2) = -1/2 y^3
unary('rsqrt', (dy, _x, y) => mul(dy, mul(mul(y, square(y)), -0.5)));
unary('square', (dy, x) => mul(dy, mul(x, 2)));
unary('reciprocal', (dy, _x, y) => neg(mul(dy, square(y))));
unary('sin', (dy, x) => mul(dy, cos(x)));
unary('cos', (dy, x) => neg(mul(dy, sin(x))));
unary('tanh', (dy, _x, y) => mul(dy, sub(1, square(y))));
unary('sigmoid', (dy, _x, y) => mul(dy, mul(y, sub(1, y))));
unary('softplus', (dy, x) => mul(dy, sigmoid(x)));
// d/dx erf(x) = 2/sqrt(pi) exp(-x^2)
unary('erf', (dy, x) => mul(dy, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))));
// step functions: zero slope wherever they are differentiable
for (const name of ['sign', 'floor', 'ceil', 'round']) unary(name, (_dy, x) => zerosLikeOf(x));

// from the output, as TensorFlow's ReluGrad (y > 0 exactly where x > 0): the pre-activation then
// has no reader but relu, so fusion can put the relu in the epilogue of the op before it
unary('relu', (dy, _x, y) => reluGrad(dy, y));
unary('relu6', (dy, _x, y) => relu6Grad(dy, y)); // 0 < y < 6 exactly where 0 < x < 6
setGradient('leakyRelu', ({ node, inputs, grads }) => [leakyReluGrad(grads[0]!, inputs[0], node.attrs.alpha as number)]);
// for x <= 0, elu(x) + alpha = alpha e^x, its slope
setGradient('elu', ({ node, inputs, outputs, grads }) => {
  const dy = grads[0]!;
  const alpha = typeof node.attrs.alpha === 'number' ? node.attrs.alpha : 1;
  return [where(greater(inputs[0], 0), dy, mul(dy, add(outputs[0], alpha)))];
});
unary('selu', (dy, x, y) => where(greater(x, 0), mul(dy, SELU_SCALE), mul(dy, add(y, SELU_SCALE * SELU_ALPHA))));
setGradient('gelu', ({ node, inputs, grads }) => {
  const [x] = inputs;
  const dy = grads[0]!;
  if (node.attrs.approximate) {
    // y = x/2 (1 + tanh(u)), u = c (x + 0.044715 x^3): y' = (1 + t)/2 + x/2 (1 - t^2) c (1 + 3 * 0.044715 x^2)
    const c = 0.7978845608028654;
    const x2 = square(x);
    const t = tanh(mul(add(x, mul(mul(x2, x), 0.044715)), c));
    const du = mul(add(mul(x2, 3 * 0.044715), 1), c);
    const slope = add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, square(t))), du));
    return [mul(dy, slope)];
  }
  // y = x Phi(x): y' = Phi(x) + x phi(x)
  const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
  const pdf = mul(exp(mul(square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return [mul(dy, add(cdf, mul(x, pdf)))];
});

// ---- binary ops: each input's share, summed back over the dimensions broadcasting added ----

const binary = (name: string, f: (dy: SymbolicTensor, a: SymbolicTensor, b: SymbolicTensor, y: SymbolicTensor) => [SymbolicTensor | null, SymbolicTensor | null]): void => {
  const builder: GradientBuilder = ({ node, inputs, outputs, grads }) => {
    const [ga, gb] = f(grads[0]!, inputs[0], inputs[1], outputs[0]);
    return [ga && unbroadcast(ga, node, 0), gb && unbroadcast(gb, node, 1)];
  };
  setGradient(name, builder);
};

binary('add', (dy) => [dy, dy]);
binary('sub', (dy) => [dy, neg(dy)]);
binary('mul', (dy, a, b) => [mul(dy, b), mul(dy, a)]);
binary('div', (dy, a, b) => [div(dy, b), neg(div(mul(dy, a), square(b)))]);
// d/da a^b = b a^(b-1) (written b y / a would fail at a = 0); d/db = y log a, taken as 0 where a <= 0
binary('pow', (dy, a, b, y) => {
  const da = mul(dy, mul(b, powMinusOne(a, b)));
  const positive = greater(a, 0);
  const safeLog = log(where(positive, a, scalarOf(a, 1)));
  const db = mul(dy, where(positive, mul(y, safeLog), scalarOf(a, 0)));
  return [da, db];
});
// ties send the gradient to the first operand, as TensorFlow
binary('maximum', (dy, a, b) => {
  const first = greaterEqual(a, b);
  return [where(first, dy, scalarOf(dy, 0)), where(first, scalarOf(dy, 0), dy)];
});
binary('minimum', (dy, a, b) => {
  const first = lessEqual(a, b);
  return [where(first, dy, scalarOf(dy, 0)), where(first, scalarOf(dy, 0), dy)];
});
// a mod b = a - floor(a / b) b
binary('mod', (dy, a, b) => [dy, neg(mul(dy, floor(div(a, b))))]);
binary('floorDiv', () => [null, null]);
binary('squaredDifference', (dy, a, b) => {
  const d = mul(mul(dy, sub(a, b)), 2);
  return [d, neg(d)];
});

// atan2(y, x): d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2), as TensorFlow's (NaN at the origin)
binary('atan2', (dy, y, x) => {
  const scaled = div(dy, add(square(x), square(y)));
  return [mul(scaled, x), neg(mul(scaled, y))];
});

function powMinusOne(a: SymbolicTensor, b: SymbolicTensor): SymbolicTensor {
  // b a^(b-1) with 0^0 = 1 so that d/da a^1 at a = 0 is 1
  const exponent = sub(b, 1);
  return where(equal(exponent, 0), scalarOf(a, 1), pow(a, exponent));
}

setGradient(
  'where',
  ({ node, inputs, grads }) => {
    const [cond] = inputs;
    const dy = grads[0]!;
    const zero = scalarOf(dy, 0);
    return [null, unbroadcast(where(cond, dy, zero), node, 1), unbroadcast(where(cond, zero, dy), node, 2)];
  },
  [0],
);

/**
 * C = op(A) op(B): dA and dB are products of dC with the other operand, arranged so no transpose is
 * ever materialized (the GEMM reads transposed operands through strides). Batch dimensions that
 * broadcast are summed back.
 */
setGradient('matmul', ({ node, inputs, grads }) => {
  const [a, b] = inputs;
  const dc = grads[0]!;
  const ta = node.attrs.transposeA === true;
  const tb = node.attrs.transposeB === true;
  let da: SymbolicTensor;
  let db: SymbolicTensor;
  if (!ta && !tb) {
    da = matmul(dc, b, { transposeB: true });
    db = matmul(a, dc, { transposeA: true });
  } else if (!ta && tb) {
    da = matmul(dc, b);
    db = matmul(dc, a, { transposeA: true });
  } else if (ta && !tb) {
    da = matmul(b, dc, { transposeB: true });
    db = matmul(a, dc);
  } else {
    da = matmul(b, dc, { transposeA: true, transposeB: true });
    db = matmul(dc, a, { transposeA: true, transposeB: true });
  }
  // one B for a batch of A (a dense layer over [batch, time, features]): dB is one product of the
  // batch's rows, A^T·dC over [N * m, k] and [N * m, n], not N products summed afterwards
  const [depth, width] = [a.shape[a.shape.length - 1], dc.shape[dc.shape.length - 1]];
  if (b.shape.length === 2 && a.shape.length > 2 && !ta && depth !== null && width !== null) {
    const [rowsA, rowsC] = [reshape(a, [-1, depth]), reshape(dc, [-1, width])];
    db = tb ? matmul(rowsC, rowsA, { transposeA: true }) : matmul(rowsA, rowsC, { transposeA: true });
    return [batchUnbroadcast(da, a, b), db];
  }
  return [batchUnbroadcast(da, a, b), batchUnbroadcast(db, b, a)];
});

/**
 * Sums a matmul operand's gradient over the batch dimensions that broadcasting added; the matrix
 * dimensions always match already.
 */
function batchUnbroadcast(grad: SymbolicTensor, input: SymbolicTensor, other: SymbolicTensor): SymbolicTensor {
  const matrixless = (s: (number | null)[]): (number | null)[] => [...s.slice(0, -2), 1, 1];
  const reduces = broadcastReduces(matrixless(input.shape), matrixless(grad.shape), [matrixless(other.shape)]);
  return reduces ? sumToShapeOf(grad, input) : grad;
}
