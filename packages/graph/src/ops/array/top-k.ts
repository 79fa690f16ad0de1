import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import { registerOp } from '../../registry';
import { normalizeAxis, shapeToString } from '../../shape';
import { applyOp } from '../builder';
import { requireDType } from '../infer-helpers';

/**
 * topK(x): the `k` largest (or smallest, `largest: false`) values along `axis` and their int64
 * indices, sorted; ties keep the lower index first (ONNX TopK, tf.math.top_k).
 */
registerOp({
  name: 'topK',
  family: 'array',
  numInputs: 1,
  infer: (ctx) => {
    const { dtype, shape } = ctx.inputs[0];
    requireDType(ctx, 0, ['float32', 'float64', 'int32', 'int64']);
    if (shape.length === 0) throw new ShapeError(`${ctx.where}input must have rank >= 1`);
    const axis = normalizeAxis(Number(ctx.attrs.axis ?? -1), shape.length, ctx.where);
    const k = Number(ctx.attrs.k);
    if (!Number.isInteger(k) || k < 0 || (shape[axis] !== null && k > (shape[axis] as number))) {
      throw new ShapeError(`${ctx.where}k = ${ctx.attrs.k} must be in [0, ${shape[axis]}] (axis ${axis} of ${shapeToString(shape)})`);
    }
    const out = shape.map((d, i) => (i === axis ? k : d));
    return [
      { dtype, shape: out },
      { dtype: 'int64', shape: [...out] },
    ];
  },
});

/** `[values, indices]` of the k largest entries along `axis` (default the last). */
export function topK(x: TensorLike, k: number, axis = -1, largest = true, name?: string): [SymbolicTensor, SymbolicTensor] {
  const t = toSymbolic(graphOf([x]), x);
  const node = applyOp('topK', [t], { k, axis, largest, sorted: true }, name);
  return [node.output(0), node.output(1)];
}
