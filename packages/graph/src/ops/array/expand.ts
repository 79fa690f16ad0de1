import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { broadcastShapes } from '../../shape';
import { apply1 } from '../builder';
import { attrInts } from '../infer-helpers';

/**
 * expand(x, shape): x broadcast against `shape` both ways (ONNX Expand): the output shape is the
 * numpy broadcast of x's shape and `shape`, so a 1 in `shape` keeps x's dimension.
 */
registerOp({
  name: 'expand',
  family: 'array',
  numInputs: 1,
  infer: (ctx) => {
    const shape = attrInts(ctx, 'shape');
    if (shape.some((d) => d < 0)) throw new ShapeError(`${ctx.where}shape [${shape.join(', ')}] must hold non-negative sizes`);
    return [{ dtype: ctx.inputs[0].dtype, shape: broadcastShapes(ctx.inputs[0].shape, shape, ctx.where) }];
  },
});

/**
 * `x` repeated along broadcast dimensions to the numpy broadcast of its shape and `shape`.
 *
 * ```ts
 * ops.expand(x, [2, 3]);   // x [3] -> [2, 3]; x [2, 1] -> [2, 3]
 * ```
 */
export function expand(x: TensorLike, shape: number[], name?: string): SymbolicTensor {
  return apply1('expand', [x], { shape: [...shape] }, name);
}
