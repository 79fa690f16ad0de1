import type { DType } from '../../dtype';
import { SymbolicTensor, TensorLike } from '../../graph';
import type { Attrs, ElementwiseExpr } from '../../opdef';
import { registerOp } from '../../registry';
import { SELU_ALPHA, SELU_SCALE } from '../../scalar-helpers';
import { apply1 } from '../builder';
import { requireDType } from '../infer-helpers';

const FLOAT: DType[] = ['float32', 'float64'];
const SIGNED: DType[] = ['float32', 'float64', 'int32', 'int64'];

interface UnarySpec {
  name: string;
  dtypes: DType[];
  js: ElementwiseExpr['js'];
  wgsl: ElementwiseExpr['wgsl'];
}

const num = (attrs: Attrs, key: string, fallback: number): number => (typeof attrs[key] === 'number' ? (attrs[key] as number) : fallback);
const lit = (x: number): string => (Number.isInteger(x) ? `${x}.0` : String(x));

/** Pointwise single-input ops: one table row each, codegen-ready for CPU and WGSL. */
const UNARY: UnarySpec[] = [
  { name: 'neg', dtypes: SIGNED, js: () => '-a', wgsl: () => '-a' },
  { name: 'abs', dtypes: SIGNED, js: () => 'Math.abs(a)', wgsl: () => 'abs(a)' },
  { name: 'exp', dtypes: FLOAT, js: () => 'Math.exp(a)', wgsl: () => 'exp(a)' },
  { name: 'log', dtypes: FLOAT, js: () => 'Math.log(a)', wgsl: () => 'log(a)' },
  // log(1 + x) and e^x - 1 without the rounding of 1 + x and of e^x near 1 (tf.math.log1p, expm1)
  { name: 'log1p', dtypes: FLOAT, js: () => 'Math.log1p(a)', wgsl: () => 'gc_log1p(a)' },
  { name: 'expm1', dtypes: FLOAT, js: () => 'Math.expm1(a)', wgsl: () => 'gc_expm1(a)' },
  { name: 'sqrt', dtypes: FLOAT, js: () => 'Math.sqrt(a)', wgsl: () => 'sqrt(a)' },
  { name: 'rsqrt', dtypes: FLOAT, js: () => '1 / Math.sqrt(a)', wgsl: () => 'inverseSqrt(a)' },
  { name: 'square', dtypes: SIGNED, js: (_, dt) => (dt === 'int32' ? 'H.imul(a, a)' : 'a * a'), wgsl: () => 'a * a' },
  { name: 'reciprocal', dtypes: FLOAT, js: () => '1 / a', wgsl: () => '1.0 / a' },
  { name: 'sign', dtypes: SIGNED, js: () => 'H.sign(a)', wgsl: () => 'sign(a)' },
  { name: 'floor', dtypes: FLOAT, js: () => 'Math.floor(a)', wgsl: () => 'floor(a)' },
  { name: 'ceil', dtypes: FLOAT, js: () => 'Math.ceil(a)', wgsl: () => 'ceil(a)' },
  { name: 'round', dtypes: FLOAT, js: () => 'H.roundEven(a)', wgsl: () => 'round(a)' },
  { name: 'sin', dtypes: FLOAT, js: () => 'Math.sin(a)', wgsl: () => 'sin(a)' },
  { name: 'cos', dtypes: FLOAT, js: () => 'Math.cos(a)', wgsl: () => 'cos(a)' },
  { name: 'tanh', dtypes: FLOAT, js: () => 'Math.tanh(a)', wgsl: () => 'tanh(clamp(a, -15.0, 15.0))' },
  { name: 'sigmoid', dtypes: FLOAT, js: () => 'H.sigmoid(a)', wgsl: () => '(1.0 / (1.0 + exp(-a)))' },
  // NaN stays NaN and -0 becomes +0 on every dtype; float64 keeps the branch (see H.relu)
  { name: 'relu', dtypes: SIGNED, js: (_, dt) => (dt === 'float64' ? '(a < 0 ? 0 : a + 0)' : 'H.relu(a)'), wgsl: () => 'max(a, 0.0)' },
  { name: 'relu6', dtypes: SIGNED, js: () => '(a > 0 ? (a < 6 ? a : 6) : 0)', wgsl: () => 'clamp(a, 0.0, 6.0)' },
  {
    name: 'leakyRelu',
    dtypes: FLOAT,
    js: (at) => `(a > 0 ? a : ${num(at, 'alpha', 0.2)} * a)`,
    wgsl: (at) => `select(${lit(num(at, 'alpha', 0.2))} * a, a, a > 0.0)`,
  },
  {
    name: 'elu',
    dtypes: FLOAT,
    js: (at) => `(a > 0 ? a : ${num(at, 'alpha', 1)} * (Math.exp(a) - 1))`,
    wgsl: (at) => `select(${lit(num(at, 'alpha', 1))} * (exp(a) - 1.0), a, a > 0.0)`,
  },
  {
    name: 'selu',
    dtypes: FLOAT,
    js: () => `(a > 0 ? ${SELU_SCALE} * a : ${SELU_SCALE * SELU_ALPHA} * (Math.exp(a) - 1))`,
    wgsl: () => `select(${SELU_SCALE * SELU_ALPHA} * (exp(a) - 1.0), ${SELU_SCALE} * a, a > 0.0)`,
  },
  { name: 'softplus', dtypes: FLOAT, js: () => 'H.softplus(a)', wgsl: () => '(max(a, 0.0) + log(1.0 + exp(-abs(a))))' },
  { name: 'erf', dtypes: FLOAT, js: () => 'H.erf(a)', wgsl: () => 'gc_erf(a)' },
  {
    // exact gelu by default (as tf.nn.gelu(approximate=False) and ONNX Gelu); tanh form on request
    name: 'gelu',
    dtypes: FLOAT,
    js: (at) =>
      at.approximate
        ? '(0.5 * a * (1 + Math.tanh(0.7978845608028654 * (a + 0.044715 * a * a * a))))'
        : '(0.5 * a * (1 + H.erf(a * 0.7071067811865476)))',
    wgsl: (at) =>
      at.approximate
        ? '(0.5 * a * (1.0 + tanh(clamp(0.7978845608 * (a + 0.044715 * a * a * a), -15.0, 15.0))))'
        : '(0.5 * a * (1.0 + gc_erf(a * 0.70710678)))',
  },
  { name: 'logicalNot', dtypes: ['bool'], js: () => '(a ? 0 : 1)', wgsl: () => 'select(1.0, 0.0, a != 0.0)' },
];

for (const spec of UNARY) {
  registerOp({
    name: spec.name,
    family: 'math',
    numInputs: 1,
    infer: (ctx) => [{ dtype: requireDType(ctx, 0, spec.dtypes), shape: ctx.inputs[0].shape }],
    inplaceInput: 0,
    elementwise: { js: spec.js, wgsl: spec.wgsl },
  });
}

const unary =
  (op: string) =>
  (x: TensorLike, name?: string): SymbolicTensor =>
    apply1(op, [x], {}, name);

export const neg = unary('neg');
export const abs = unary('abs');
export const exp = unary('exp');
export const log = unary('log');
export const log1p = unary('log1p');
export const expm1 = unary('expm1');
export const sqrt = unary('sqrt');
export const rsqrt = unary('rsqrt');
export const square = unary('square');
export const reciprocal = unary('reciprocal');
export const sign = unary('sign');
export const floor = unary('floor');
export const ceil = unary('ceil');
export const round = unary('round');
export const sin = unary('sin');
export const cos = unary('cos');
export const tanh = unary('tanh');
export const sigmoid = unary('sigmoid');
export const relu = unary('relu');
export const relu6 = unary('relu6');
export const selu = unary('selu');
export const softplus = unary('softplus');
export const erf = unary('erf');
export const logicalNot = unary('logicalNot');

/** `x` where x > 0, else `alpha * x` (TensorFlow's default alpha 0.2). */
export function leakyRelu(x: TensorLike, alpha = 0.2, name?: string): SymbolicTensor {
  return apply1('leakyRelu', [x], { alpha }, name);
}

export function elu(x: TensorLike, alpha = 1, name?: string): SymbolicTensor {
  return apply1('elu', [x], { alpha }, name);
}

/** Gaussian error linear unit; exact (erf) form unless `approximate` asks for the tanh form. */
export function gelu(x: TensorLike, approximate = false, name?: string): SymbolicTensor {
  return apply1('gelu', [x], { approximate }, name);
}
