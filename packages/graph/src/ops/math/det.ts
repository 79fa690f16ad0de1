import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { requireFloat, squareMatrixSize } from '../infer-helpers';

/** det(x): determinants of the square matrices in x's last two dimensions (ONNX Det), by LU with partial pivoting. */
registerOp({
  name: 'det',
  family: 'math',
  numInputs: 1,
  infer: (ctx) => {
    const dtype = requireFloat(ctx, 0);
    squareMatrixSize(ctx, 0);
    return [{ dtype, shape: ctx.inputs[0].shape.slice(0, -2) }];
  },
});

export function det(x: TensorLike, name?: string): SymbolicTensor {
  return apply1('det', [x], {}, name);
}
