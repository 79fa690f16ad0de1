import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { requireFloat } from '../infer-helpers';

/**
 * lrnNchw(x): local response normalization across channels of an [N, C, ...] input (ONNX LRN):
 * `x / (bias + alpha / size * sum of x^2 over size neighbouring channels) ^ beta`.
 */
registerOp({
  name: 'lrnNchw',
  family: 'nn',
  numInputs: 1,
  infer: (ctx) => {
    const dtype = requireFloat(ctx, 0);
    const size = Number(ctx.attrs.size);
    if (ctx.inputs[0].shape.length < 2 || !Number.isInteger(size) || size < 1) throw new ShapeError(`${ctx.where}needs rank >= 2 and a positive integer size`);
    return [{ dtype, shape: [...ctx.inputs[0].shape] }];
  },
});

export function lrnNchw(x: TensorLike, size: number, alpha = 1e-4, beta = 0.75, bias = 1, name?: string): SymbolicTensor {
  return apply1('lrnNchw', [x], { size, alpha, beta, bias }, name);
}
