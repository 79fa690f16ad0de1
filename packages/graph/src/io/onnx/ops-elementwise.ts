import { DType, finiteRange, isFloat, isInteger } from '../../dtype';
import { SymbolicTensor } from '../../graph';
import { SELU_ALPHA, SELU_SCALE } from '../../scalar-helpers';
import { tensor } from '../../tensor';
import type { OnnxNode } from './context';
import { castTo, reshapeTo, scalarOf } from './helpers';
import { defineOnnxOp } from './import';
import { DataType } from './proto';
import { dtypeOfOnnx } from './tensor';

/** Pointwise ONNX ops: each maps onto one graphc elementwise op (or a short composition). */

const UNARY: Record<string, string> = {
  Abs: 'abs',
  Neg: 'neg',
  Exp: 'exp',
  Log: 'log',
  Sqrt: 'sqrt',
  Reciprocal: 'reciprocal',
  Floor: 'floor',
  Ceil: 'ceil',
  Round: 'round',
  Sin: 'sin',
  Cos: 'cos',
  Tan: 'tan',
  Asin: 'asin',
  Acos: 'acos',
  Atan: 'atan',
  Sinh: 'sinh',
  Cosh: 'cosh',
  Asinh: 'asinh',
  Acosh: 'acosh',
  Atanh: 'atanh',
  Tanh: 'tanh',
  Sigmoid: 'sigmoid',
  Relu: 'relu',
  Erf: 'erf',
  Sign: 'sign',
  Softplus: 'softplus',
  Softsign: 'softsign',
  HardSwish: 'hardSwish',
  IsNaN: 'isNaN',
  Not: 'logicalNot',
};

for (const [onnxOp, op] of Object.entries(UNARY)) {
  defineOnnxOp(onnxOp, (n) => [n.op(op, [n.input(0)])]);
}

// opset 20
defineOnnxOp('Gelu', (n) => {
  const approximate = n.attr.string('approximate', 'none');
  if (approximate !== 'none' && approximate !== 'tanh') n.fail(`approximate '${approximate}' is not none or tanh`);
  return [n.op('gelu', [n.input(0)], { approximate: approximate === 'tanh' })];
});

// opset 24: x sigmoid(alpha x)
defineOnnxOp('Swish', (n) => {
  const x = n.input(0);
  const alpha = n.attr.float('alpha', 1);
  return [n.op('mul', [x, n.op('sigmoid', [alpha === 1 ? x : n.op('mul', [x, scalarOf(n, alpha, x.dtype)])])])];
});

// opset 18: x tanh(softplus(x))
defineOnnxOp('Mish', (n) => {
  const x = n.input(0);
  return [n.op('mul', [x, n.op('tanh', [n.op('softplus', [x])])])];
});

/** Both operands of a binary op, with opset < 7's explicit broadcast (B aligned at `axis`) applied. */
function operands(n: OnnxNode): [SymbolicTensor, SymbolicTensor] {
  const a = n.input(0);
  let b = n.input(1);
  if (n.opset < 7 && n.attr.int('broadcast', 0) === 1 && n.attr.has('axis')) {
    const axis = n.attr.int('axis');
    const start = axis < 0 ? axis + a.rank : axis;
    const trailing = a.rank - start - b.rank;
    if (trailing > 0) b = reshapeTo(n, b, [...b.shape, ...new Array(trailing).fill(1)], b);
  }
  return [a, b];
}

const BINARY: Record<string, string> = {
  Add: 'add',
  Sub: 'sub',
  Mul: 'mul',
  Div: 'div',
  Equal: 'equal',
  Less: 'less',
  Greater: 'greater',
  LessOrEqual: 'lessEqual',
  GreaterOrEqual: 'greaterEqual',
  And: 'logicalAnd',
  Or: 'logicalOr',
  Xor: 'notEqual',
};

for (const [onnxOp, op] of Object.entries(BINARY)) {
  defineOnnxOp(onnxOp, (n) => [n.op(op, operands(n))]);
}

defineOnnxOp('Pow', (n) => {
  const [a, b] = operands(n);
  if (a.dtype === b.dtype) return [n.op('pow', [a, b])];
  if (isFloat(a.dtype)) return [n.op('pow', [a, castTo(n, b, a.dtype)])];
  // integer base, float exponent: compute in float64, then back to the base's type (ONNX's output type is the base's)
  const r = n.op('pow', [castTo(n, a, 'float64'), castTo(n, b, 'float64')]);
  return [castTo(n, r, a.dtype)];
});

defineOnnxOp('Mod', (n) => {
  const [a, b] = operands(n);
  return [n.op(n.attr.int('fmod', 0) === 1 ? 'fmod' : 'mod', [a, b])];
});

defineOnnxOp('BitShift', (n) => {
  const direction = n.attr.string('direction');
  if (direction !== 'LEFT' && direction !== 'RIGHT') n.fail(`direction must be LEFT or RIGHT, got '${direction}'`);
  return [n.op('bitShift', operands(n), { direction: direction.toLowerCase() })];
});

/** Sum, Max, Min and Mean take any number of inputs and broadcast them all. */
function variadic(op: string) {
  return (n: OnnxNode) => {
    const inputs = Array.from({ length: n.inputCount }, (_, i) => i).filter((i) => n.has(i)).map((i) => n.input(i));
    if (inputs.length === 0) n.fail('needs at least one input');
    let acc = inputs[0];
    for (const x of inputs.slice(1)) acc = n.op(op, [acc, x]);
    return acc;
  };
}

defineOnnxOp('Sum', (n) => [variadic('add')(n)]);
defineOnnxOp('Max', (n) => [variadic('maximum')(n)]);
defineOnnxOp('Min', (n) => [variadic('minimum')(n)]);
defineOnnxOp('Mean', (n) => {
  const sum = variadic('add')(n);
  const count = Array.from({ length: n.inputCount }, (_, i) => i).filter((i) => n.has(i)).length;
  return [count === 1 ? sum : n.op('div', [sum, scalarOf(n, count, sum.dtype)])];
});

defineOnnxOp('Where', (n) => [n.op('where', [n.input(0), n.input(1), n.input(2)])]);

defineOnnxOp('LeakyRelu', (n) => [n.op('leakyRelu', [n.input(0)], { alpha: n.attr.float('alpha', 0.01) })]);
defineOnnxOp('Elu', (n) => [n.op('elu', [n.input(0)], { alpha: n.attr.float('alpha', 1) })]);
defineOnnxOp('Celu', (n) => [n.op('celu', [n.input(0)], { alpha: n.attr.float('alpha', 1) })]);
defineOnnxOp('ThresholdedRelu', (n) => [n.op('thresholdedRelu', [n.input(0)], { alpha: n.attr.float('alpha', 1) })]);
defineOnnxOp('HardSigmoid', (n) => [n.op('hardSigmoid', [n.input(0)], { alpha: n.attr.float('alpha', 0.2), beta: n.attr.float('beta', 0.5) })]);
defineOnnxOp('Shrink', (n) => [n.op('shrink', [n.input(0)], { lambd: n.attr.float('lambd', 0.5), bias: n.attr.float('bias', 0) })]);
defineOnnxOp('IsInf', (n) => [
  n.op('isInf', [n.input(0)], { detectPositive: n.attr.int('detect_positive', 1) === 1, detectNegative: n.attr.int('detect_negative', 1) === 1 }),
]);

defineOnnxOp('Selu', (n) => {
  const x = n.input(0);
  const alpha = n.attr.float('alpha', SELU_ALPHA);
  const gamma = n.attr.float('gamma', SELU_SCALE);
  // ONNX's defaults are the float32 roundings of graphc's constants
  if (Math.abs(alpha - SELU_ALPHA) < 1e-6 && Math.abs(gamma - SELU_SCALE) < 1e-6) return [n.op('selu', [x])];
  return [n.op('mul', [n.op('elu', [x], { alpha }), scalarOf(n, gamma, x.dtype)])];
});

defineOnnxOp('PRelu', (n) => {
  const x = n.input(0);
  let slope = n.input(1);
  // before opset 7 a [C] slope meant one slope per channel of an [N, C, ...] input
  if (slope.rank === 1 && x.rank > 2 && slope.shape[0] === x.shape[1] && slope.shape[0] !== 1 && slope.shape[0] !== x.shape[x.rank - 1]) {
    slope = reshapeTo(n, slope, [slope.shape[0], ...new Array(x.rank - 2).fill(1)]);
  }
  const negative = n.op('less', [x, scalarOf(n, 0, x.dtype)]);
  return [n.op('where', [negative, n.op('mul', [x, slope]), x])];
});

defineOnnxOp('Clip', (n) => {
  const x = n.input(0);
  const [lowest, highest] = isInteger(x.dtype) ? finiteRange(x.dtype) : [-Infinity, Infinity];
  let lo: SymbolicTensor;
  let hi: SymbolicTensor;
  if (n.opset < 11) {
    lo = scalarOf(n, n.attr.float('min', lowest), x.dtype);
    hi = scalarOf(n, n.attr.float('max', highest), x.dtype);
  } else {
    lo = n.has(1) ? n.input(1) : scalarOf(n, lowest, x.dtype);
    hi = n.has(2) ? n.input(2) : scalarOf(n, highest, x.dtype);
  }
  return [n.op('clip', [x, castTo(n, lo, x.dtype), castTo(n, hi, x.dtype)])];
});

/** Cast to an ONNX element type: the widened graphc dtype, rounded to float16/bfloat16 precision where asked. */
function castToOnnx(n: OnnxNode, x: SymbolicTensor, to: number): SymbolicTensor {
  const dtype = dtypeOfOnnx(to, `node '${n.name}'`);
  let y = castTo(n, x, dtype);
  if (to === DataType.FLOAT16 || to === DataType.BFLOAT16) {
    y = n.op('roundFloat', [y], { format: to === DataType.FLOAT16 ? 'float16' : 'bfloat16' });
  }
  return y;
}

defineOnnxOp('Cast', (n) => {
  const to = n.attr.int('to');
  n.setElemType(0, to);
  return [castToOnnx(n, n.input(0), to)];
});

defineOnnxOp('CastLike', (n) => {
  const to = n.elemType(1);
  n.setElemType(0, to);
  return [castToOnnx(n, n.input(0), to)];
});

defineOnnxOp('Identity', (n) => [n.input(0)]);

/** A constant `value` of `dtype` (ONNX Constant's many attribute forms). */
defineOnnxOp('Constant', (n) => {
  const a = n.attr;
  const t = a.tensor('value');
  if (t) return [t];
  if (a.has('value_float')) return [tensor([a.float('value_float')], [], 'float32')];
  if (a.has('value_floats')) {
    const v = a.floats('value_floats');
    return [tensor(v, [v.length], 'float32')];
  }
  if (a.has('value_int')) return [tensor([a.int('value_int')], [], 'int64')];
  if (a.has('value_ints')) {
    const v = a.ints('value_ints');
    return [tensor(v, [v.length], 'int64')];
  }
  if (a.has('sparse_value') || a.has('value_string') || a.has('value_strings')) n.unsupported('sparse and string constants are not supported');
  return n.fail('has no value attribute');
});
