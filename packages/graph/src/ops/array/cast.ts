import { DType, isDType, isFloat } from '../../dtype';
import { DTypeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import type { Attrs } from '../../opdef';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';

const target = (attrs: Attrs): DType => attrs.dtype as DType;

/**
 * Converts element types. Floats to integers truncate toward zero (NaN gives 0), anything to bool is
 * `x != 0`, and float64 to float32 rounds to nearest. An elementwise op, so it fuses with its neighbours.
 */
registerOp({
  name: 'cast',
  family: 'array',
  numInputs: 1,
  infer: (ctx) => {
    const dtype = ctx.attrs.dtype;
    if (!isDType(dtype)) throw new DTypeError(`${ctx.where}attr 'dtype' must be a dtype, got ${String(dtype)}`);
    return [{ dtype, shape: ctx.inputs[0].shape }];
  },
  elementwise: {
    js: (attrs, from) => {
      const to = target(attrs);
      if (to === 'bool') return '(a !== 0 ? 1 : 0)';
      // int32 storage truncates (and maps NaN to 0) by itself; int64 lives in a Float64Array
      if (to === 'int64' && isFloat(from)) return '(a === a ? Math.trunc(a) : 0)';
      if (to === 'int32' && isFloat(from)) return 'Math.trunc(a)';
      return 'a';
    },
    wgsl: (attrs) => {
      const to = target(attrs);
      if (to === 'bool') return 'select(0.0, 1.0, a != 0.0)';
      return to === 'int32' || to === 'int64' ? 'trunc(a)' : 'a';
    },
  },
});

/**
 * `x` converted to `dtype`.
 *
 * ```ts
 * ops.cast(ops.greater(x, 0), 'float32');   // 1 where x > 0, else 0
 * ops.cast(t, 'int32');                      // [1.7, -1.7] -> [1, -1]
 * ```
 */
export function cast(x: TensorLike, dtype: DType, name?: string): SymbolicTensor {
  return apply1('cast', [x], { dtype }, name);
}
