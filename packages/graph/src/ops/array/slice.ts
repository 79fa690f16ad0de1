import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { attrInts } from '../infer-helpers';

/** The block of `size` starting at `begin`; size -1 runs to the end of that dimension (tf.slice). */
registerOp({
  name: 'slice',
  family: 'array',
  numInputs: 1,
  infer: (ctx) => {
    const shape = ctx.inputs[0].shape;
    const begin = attrInts(ctx, 'begin');
    const size = attrInts(ctx, 'size');
    if (begin.length !== shape.length || size.length !== shape.length) {
      throw new ShapeError(`${ctx.where}begin [${begin.join(', ')}] and size [${size.join(', ')}] must each have one entry per dimension of ${shapeToString(shape)}`);
    }
    const out = shape.map((d, i) => {
      const b = begin[i];
      const s = size[i];
      if (b < 0 || s < -1) throw new ShapeError(`${ctx.where}begin must be >= 0 and size >= -1, got begin ${b} and size ${s} in dimension ${i}`);
      if (d !== null && (b > d || (s !== -1 && b + s > d))) {
        throw new ShapeError(
          `${ctx.where}slice of begin [${begin.join(', ')}] and size [${size.join(', ')}] runs past ${shapeToString(shape)} in dimension ${i}`,
        );
      }
      return s !== -1 ? s : d === null ? null : d - b;
    });
    return [{ dtype: ctx.inputs[0].dtype, shape: out }];
  },
});

/**
 * The block of `x` of `size` starting at `begin`, one entry per dimension; a size of -1 takes the
 * rest of that dimension.
 *
 * ```ts
 * ops.slice(x, [1, 0], [2, -1]);   // rows 1 and 2 of a matrix, all columns
 * ```
 */
export function slice(x: TensorLike, begin: number[], size: number[], name?: string): SymbolicTensor {
  return apply1('slice', [x], { begin: [...begin], size: [...size] }, name);
}
