import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { requireFloat } from '../infer-helpers';

/**
 * roundFloat(x, format): x rounded to the nearest value of a narrower float format ('float16' or
 * 'bfloat16'), kept in x's dtype. graphc widens those ONNX types to float32; this op keeps their
 * precision where a model casts to them (ONNX Cast to FLOAT16/BFLOAT16).
 */
registerOp({
  name: 'roundFloat',
  family: 'math',
  numInputs: 1,
  infer: (ctx) => [{ dtype: requireFloat(ctx, 0), shape: ctx.inputs[0].shape }],
  inplaceInput: 0,
  elementwise: { js: (at) => (at.format === 'bfloat16' ? 'H.roundBfloat16(a)' : 'H.roundFloat16(a)') },
});

export function roundFloat(x: TensorLike, format: 'float16' | 'bfloat16', name?: string): SymbolicTensor {
  return apply1('roundFloat', [x], { format }, name);
}
