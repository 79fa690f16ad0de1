import type { DType } from '../../dtype';
import { SymbolicTensor } from '../../graph';
import type { Attrs, ElementwiseExpr } from '../../opdef';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { broadcastAll, requireDType, sameDType } from '../infer-helpers';

/**
 * Gradient-only helpers of the piecewise-linear activations: `xxxGrad(dy, x)` is dy where the
 * activation's slope at x is 1 (alpha for leakyRelu), else 0. One pointwise kernel each instead of
 * a compare + select, and fusable like any elementwise op. Their own gradient: the same op applied
 * to the incoming gradient (the slope does not depend on dy); the slope is flat in x, so x gets none.
 */

const num = (attrs: Attrs, key: string, fallback: number): number => (typeof attrs[key] === 'number' ? (attrs[key] as number) : fallback);
const lit = (x: number): string => (Number.isInteger(x) ? `${x}.0` : String(x));

interface GradSpec {
  name: string;
  js: ElementwiseExpr['js'];
  wgsl: ElementwiseExpr['wgsl'];
}

const SIGNED: DType[] = ['float32', 'float64', 'int32', 'int64'];

const SPECS: GradSpec[] = [
  { name: 'reluGrad', js: () => 'H.reluGrad(a, b)', wgsl: () => 'select(0.0, a, b > 0.0)' },
  { name: 'relu6Grad', js: () => '(b > 0 && b < 6 ? a : 0)', wgsl: () => 'select(0.0, a, b > 0.0 && b < 6.0)' },
  {
    name: 'leakyReluGrad',
    js: (at) => `(b > 0 ? a : ${num(at, 'alpha', 0.2)} * a)`,
    wgsl: (at) => `select(${lit(num(at, 'alpha', 0.2))} * a, a, b > 0.0)`,
  },
];

for (const spec of SPECS) {
  registerOp({
    name: spec.name,
    family: 'math',
    numInputs: 2,
    infer: (ctx) => {
      const dtype = sameDType(ctx);
      requireDType(ctx, 0, SIGNED);
      return [{ dtype, shape: broadcastAll(ctx) }];
    },
    inplaceInput: 0,
    elementwise: { js: spec.js, wgsl: spec.wgsl },
    gradient: ({ node, inputs, grads }) => [apply1(spec.name, [grads[0]!, inputs[1]], node.attrs), null],
  });
}

/** dy where x > 0, else 0: the gradient of relu. */
export function reluGrad(dy: SymbolicTensor, x: SymbolicTensor, name?: string): SymbolicTensor {
  return apply1('reluGrad', [dy, x], {}, name);
}

/** dy where 0 < x < 6, else 0: the gradient of relu6. */
export function relu6Grad(dy: SymbolicTensor, x: SymbolicTensor, name?: string): SymbolicTensor {
  return apply1('relu6Grad', [dy, x], {}, name);
}

/** dy where x > 0, else alpha * dy: the gradient of leakyRelu. */
export function leakyReluGrad(dy: SymbolicTensor, x: SymbolicTensor, alpha = 0.2, name?: string): SymbolicTensor {
  return apply1('leakyReluGrad', [dy, x], { alpha }, name);
}
