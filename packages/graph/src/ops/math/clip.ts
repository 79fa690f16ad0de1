import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { broadcastAll, requireDType, sameDType } from '../infer-helpers';

/**
 * clip(x, lo, hi): `min(max(x, lo), hi)` pointwise, bounds broadcasting against x (ONNX Clip takes
 * them as tensors). NaN in x stays NaN. The output has x's shape: bounds never enlarge it.
 */
registerOp({
  name: 'clip',
  family: 'math',
  numInputs: 3,
  infer: (ctx) => {
    const dtype = sameDType(ctx);
    requireDType(ctx, 0, ['float32', 'float64', 'int32', 'int64']);
    return [{ dtype, shape: broadcastAll(ctx) }];
  },
  inplaceInput: 0,
  elementwise: {
    js: () => '(a < b ? b : a > c ? c : a)',
    wgsl: () => 'clamp(a, b, c)',
  },
});

/**
 * Limits `x` to [lo, hi] (tf.clip_by_value).
 *
 * ```ts
 * ops.clip(x, 0, 6);   // relu6
 * ```
 */
export function clip(x: TensorLike, lo: TensorLike, hi: TensorLike, name?: string): SymbolicTensor {
  const g = graphOf([x, lo, hi]);
  const t = toSymbolic(g, x);
  return apply1('clip', [t, toSymbolic(g, lo, t.dtype), toSymbolic(g, hi, t.dtype)], {}, name, g);
}
