import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { normalizeAxis, shapeToString } from '../../shape';
import { applyOp } from '../builder';
import { requireDType } from '../infer-helpers';

/**
 * unique(x): ONNX Unique, numpy.unique with return_index, return_inverse and return_counts. Without
 * `axis` over x's elements (flattened); with `axis` over the slices x[..., i, ...] along it, equal
 * when every entry is. Outputs: y, the distinct elements or slices (`sorted`, the default: ascending,
 * slices in lexicographic order of their row-major entries; else in order of first occurrence);
 * int64 `indices` of each one's first occurrence in x; int64 `inverseIndices`, for each element or
 * slice of x, its position in y; int64 `counts`. How many are distinct depends on the values.
 */
registerOp({
  name: 'unique',
  family: 'array',
  numInputs: 1,
  nonDifferentiableInputs: [0],
  infer: (ctx) => {
    const dtype = requireDType(ctx, 0, ['float32', 'float64', 'int32', 'int64', 'bool']);
    const shape = ctx.inputs[0].shape;
    const axisAttr = ctx.attrs.axis;
    if (axisAttr === undefined || axisAttr === null) {
      const size = shape.every((d) => d !== null) ? (shape as number[]).reduce((a, b) => a * b, 1) : null;
      return [
        { dtype, shape: [null] },
        { dtype: 'int64', shape: [null] },
        { dtype: 'int64', shape: [size] },
        { dtype: 'int64', shape: [null] },
      ];
    }
    if (shape.length === 0) throw new ShapeError(`${ctx.where}axis ${String(axisAttr)} given for a scalar ${shapeToString(shape)}`);
    const axis = normalizeAxis(Number(axisAttr), shape.length, ctx.where);
    return [
      { dtype, shape: shape.map((d, i) => (i === axis ? null : d)) },
      { dtype: 'int64', shape: [null] },
      { dtype: 'int64', shape: [shape[axis]] },
      { dtype: 'int64', shape: [null] },
    ];
  },
});

/**
 * `[y, indices, inverseIndices, counts]` of the distinct elements of x (or slices along `axis`).
 *
 * ```ts
 * const [y, first, inverse, counts] = ops.unique(x);   // x [2, 1, 2] -> y [1, 2], counts [1, 2]
 * ```
 */
export function unique(x: TensorLike, options: { axis?: number; sorted?: boolean } = {}, name?: string): [SymbolicTensor, SymbolicTensor, SymbolicTensor, SymbolicTensor] {
  const attrs: Record<string, number | boolean> = { sorted: options.sorted !== false };
  if (options.axis !== undefined) attrs.axis = options.axis;
  const node = applyOp('unique', [x], attrs, name);
  return [node.output(0), node.output(1), node.output(2), node.output(3)];
}
