import type { DType } from '../../dtype';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { broadcastAll, requireDType, sameDType } from '../infer-helpers';

const FLOAT: DType[] = ['float32', 'float64'];

/** Trigonometric and hyperbolic functions beyond sin/cos/tanh (ONNX Tan ... Atanh), pointwise. */
const TRIG: [string, string, string][] = [
  ['tan', 'Math.tan(a)', 'tan(a)'],
  ['asin', 'Math.asin(a)', 'asin(a)'],
  ['acos', 'Math.acos(a)', 'acos(a)'],
  ['atan', 'Math.atan(a)', 'atan(a)'],
  ['sinh', 'Math.sinh(a)', 'sinh(a)'],
  ['cosh', 'Math.cosh(a)', 'cosh(a)'],
  ['asinh', 'Math.asinh(a)', 'asinh(a)'],
  ['acosh', 'Math.acosh(a)', 'acosh(a)'],
  ['atanh', 'Math.atanh(a)', 'atanh(a)'],
];

for (const [name, js, wgsl] of TRIG) {
  registerOp({
    name,
    family: 'math',
    numInputs: 1,
    infer: (ctx) => [{ dtype: requireDType(ctx, 0, FLOAT), shape: ctx.inputs[0].shape }],
    inplaceInput: 0,
    elementwise: { js: () => js, wgsl: () => wgsl },
  });
}

/**
 * atan2(y, x): the angle of the point (x, y), in [-pi, pi], with numpy broadcasting (TensorFlow's
 * tf.math.atan2, numpy's arctan2; the quadrant from the signs of both, atan2(0, 0) = 0).
 */
registerOp({
  name: 'atan2',
  family: 'math',
  numInputs: 2,
  infer: (ctx) => {
    sameDType(ctx);
    return [{ dtype: requireDType(ctx, 0, FLOAT), shape: broadcastAll(ctx) }];
  },
  inplaceInput: 0,
  elementwise: { js: () => 'Math.atan2(a, b)', wgsl: () => 'atan2(a, b)' },
});

export function atan2(y: TensorLike, x: TensorLike, name?: string): SymbolicTensor {
  return apply1('atan2', [y, x], {}, name);
}

const unary =
  (op: string) =>
  (x: TensorLike, name?: string): SymbolicTensor =>
    apply1(op, [x], {}, name);

export const tan = unary('tan');
export const asin = unary('asin');
export const acos = unary('acos');
export const atan = unary('atan');
export const sinh = unary('sinh');
export const cosh = unary('cosh');
export const asinh = unary('asinh');
export const acosh = unary('acosh');
export const atanh = unary('atanh');
