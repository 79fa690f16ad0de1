import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { requireFloat } from '../infer-helpers';

/** isNaN(x): true where x is NaN (ONNX IsNaN). */
registerOp({
  name: 'isNaN',
  family: 'math',
  numInputs: 1,
  infer: (ctx) => {
    requireFloat(ctx, 0);
    return [{ dtype: 'bool', shape: ctx.inputs[0].shape }];
  },
  elementwise: { js: () => '(a !== a ? 1 : 0)', wgsl: () => 'select(0.0, 1.0, a != a)' },
});

/** isInf(x): true where x is +Infinity (when detectPositive) or -Infinity (when detectNegative); ONNX IsInf. */
registerOp({
  name: 'isInf',
  family: 'math',
  numInputs: 1,
  infer: (ctx) => {
    requireFloat(ctx, 0);
    return [{ dtype: 'bool', shape: ctx.inputs[0].shape }];
  },
  elementwise: {
    js: (at) => {
      const pos = at.detectPositive !== false;
      const neg = at.detectNegative !== false;
      return `(${pos ? 'a === Infinity' : 'false'} || ${neg ? 'a === -Infinity' : 'false'} ? 1 : 0)`;
    },
  },
});

export function isNaN(x: TensorLike, name?: string): SymbolicTensor {
  return apply1('isNaN', [x], {}, name);
}

export function isInf(x: TensorLike, options: { detectPositive?: boolean; detectNegative?: boolean } = {}, name?: string): SymbolicTensor {
  return apply1('isInf', [x], { detectPositive: options.detectPositive ?? true, detectNegative: options.detectNegative ?? true }, name);
}
