import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireFloat } from '../infer-helpers';

/** det(x): determinants of the square matrices in x's last two dimensions (ONNX Det), by LU with partial pivoting. */
registerOp({
  name: 'det',
  family: 'math',
  numInputs: 1,
  infer: (ctx) => {
    const dtype = requireFloat(ctx, 0);
    const s = ctx.inputs[0].shape;
    const [m, n] = s.slice(-2);
    if (s.length < 2 || (m !== null && n !== null && m !== n)) throw new ShapeError(`${ctx.where}input ${shapeToString(s)} is not a batch of square matrices`);
    return [{ dtype, shape: s.slice(0, -2) }];
  },
});

export function det(x: TensorLike, name?: string): SymbolicTensor {
  return apply1('det', [x], {}, name);
}
