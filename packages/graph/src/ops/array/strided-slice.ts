import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { attrInts } from '../infer-helpers';

/**
 * stridedSlice(x; begin, strides, size): per dimension, `size` elements starting at `begin` and
 * `strides` apart (a negative stride walks backwards). Every entry is explicit and in range, so
 * numpy/ONNX slicing rules (clamping, negative indices, "to the end") are resolved by whoever builds
 * the node, and shapes are static.
 */
registerOp({
  name: 'stridedSlice',
  family: 'array',
  numInputs: 1,
  infer: (ctx) => {
    const shape = ctx.inputs[0].shape;
    const begin = attrInts(ctx, 'begin');
    const strides = attrInts(ctx, 'strides');
    const size = attrInts(ctx, 'size');
    if (begin.length !== shape.length || strides.length !== shape.length || size.length !== shape.length) {
      throw new ShapeError(`${ctx.where}begin, strides and size must have one entry per dimension of ${shapeToString(shape)}`);
    }
    shape.forEach((d, i) => {
      const last = begin[i] + (size[i] - 1) * strides[i];
      if (strides[i] === 0 || size[i] < 0) throw new ShapeError(`${ctx.where}dimension ${i}: stride must be non-zero and size non-negative`);
      if (size[i] > 0 && (begin[i] < 0 || last < 0 || (d !== null && (begin[i] >= d || last >= d)))) {
        throw new ShapeError(`${ctx.where}dimension ${i}: ${size[i]} elements from ${begin[i]} by ${strides[i]} run outside ${shapeToString(shape)}`);
      }
    });
    return [{ dtype: ctx.inputs[0].dtype, shape: [...size] }];
  },
});

/**
 * `size[i]` elements of dimension i from `begin[i]`, `strides[i]` apart.
 *
 * ```ts
 * ops.stridedSlice(x, [4], [-1], [5]);   // x [5]: reversed
 * ops.stridedSlice(x, [0, 1], [2, 2], [2, 2]);  // every other row and column, from column 1
 * ```
 */
export function stridedSlice(x: TensorLike, begin: number[], strides: number[], size: number[], name?: string): SymbolicTensor {
  return apply1('stridedSlice', [x], { begin: [...begin], strides: [...strides], size: [...size] }, name);
}
