import type { Attrs } from '../../opdef';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { requireFloat } from '../infer-helpers';

const num = (attrs: Attrs, key: string, fallback: number): number => (typeof attrs[key] === 'number' ? (attrs[key] as number) : fallback);
const lit = (x: number): string => (Number.isInteger(x) ? `${x}.0` : String(x));

/** hardSigmoid(x) = max(0, min(1, alpha * x + beta)); ONNX's defaults alpha 0.2, beta 0.5. */
registerOp({
  name: 'hardSigmoid',
  family: 'nn',
  numInputs: 1,
  infer: (ctx) => [{ dtype: requireFloat(ctx, 0), shape: ctx.inputs[0].shape }],
  inplaceInput: 0,
  elementwise: {
    js: (at) => `Math.max(0, Math.min(1, ${num(at, 'alpha', 0.2)} * a + ${num(at, 'beta', 0.5)}))`,
    wgsl: (at) => `clamp(${lit(num(at, 'alpha', 0.2))} * a + ${lit(num(at, 'beta', 0.5))}, 0.0, 1.0)`,
  },
});

/** hardSwish(x) = x * max(0, min(1, x / 6 + 1 / 2)) (MobileNetV3; ONNX HardSwish). */
registerOp({
  name: 'hardSwish',
  family: 'nn',
  numInputs: 1,
  infer: (ctx) => [{ dtype: requireFloat(ctx, 0), shape: ctx.inputs[0].shape }],
  inplaceInput: 0,
  elementwise: {
    js: () => '(a * Math.max(0, Math.min(1, a / 6 + 0.5)))',
    wgsl: () => '(a * clamp(a / 6.0 + 0.5, 0.0, 1.0))',
  },
});

/** Piecewise-linear sigmoid: `max(0, min(1, alpha * x + beta))`. */
export function hardSigmoid(x: TensorLike, alpha = 0.2, beta = 0.5, name?: string): SymbolicTensor {
  return apply1('hardSigmoid', [x], { alpha, beta }, name);
}

/** `x * hardSigmoid(x, 1/6, 1/2)`. */
export function hardSwish(x: TensorLike, name?: string): SymbolicTensor {
  return apply1('hardSwish', [x], {}, name);
}
