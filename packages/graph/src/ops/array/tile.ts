import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { attrInts } from '../infer-helpers';

/** Repeats the input `multiples[i]` times along dimension i. */
registerOp({
  name: 'tile',
  family: 'array',
  numInputs: 1,
  infer: (ctx) => {
    const { dtype, shape } = ctx.inputs[0];
    const multiples = attrInts(ctx, 'multiples');
    if (multiples.length !== shape.length || multiples.some((m) => m < 0)) {
      throw new ShapeError(`${ctx.where}multiples [${multiples.join(', ')}] must be one non-negative integer per dimension of ${shapeToString(shape)}`);
    }
    return [{ dtype, shape: shape.map((d, i) => (multiples[i] === 0 ? 0 : d === null ? null : d * multiples[i])) }];
  },
});

/**
 * `x` repeated `multiples[i]` times along each dimension i, as tf.tile.
 *
 * ```ts
 * ops.tile(x, [1, 3]);   // [[1, 2]] -> [[1, 2, 1, 2, 1, 2]]
 * ```
 */
export function tile(x: TensorLike, multiples: number[], name?: string): SymbolicTensor {
  return apply1('tile', [x], { multiples: [...multiples] }, name);
}
