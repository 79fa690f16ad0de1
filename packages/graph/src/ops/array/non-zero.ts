import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';

/**
 * nonZero(x): int64 [rank, count] coordinates of x's non-zero elements in row-major order (ONNX
 * NonZero, numpy.nonzero stacked). The count is known only at run time.
 */
registerOp({
  name: 'nonZero',
  family: 'array',
  numInputs: 1,
  nonDifferentiableInputs: [0],
  infer: (ctx) => [{ dtype: 'int64', shape: [ctx.inputs[0].shape.length, null] }],
});

export function nonZero(x: TensorLike, name?: string): SymbolicTensor {
  return apply1('nonZero', [x], {}, name);
}
