import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { gather } from '../array/gather';
import { reshapeToShapeOf } from '../array/gradient-ops';
import { reshape } from '../array/reshape';
import { slice } from '../array/slice';
import { apply1 } from '../builder';
import { attrInts, requireDType, requireFloat } from '../infer-helpers';

/**
 * maxUnpool(x, indices): ONNX MaxUnpool, the partial inverse of maxPool with indices: a zero tensor
 * of `indexShape` (the whole shape, [N, C, ...spatial]; default `outputShape`) with each x[i]
 * written at flat index indices[i] of it (MaxPool's Indices output counts over the whole tensor, N
 * and C included), then zero-padded at the end of each axis to `outputShape`, as ONNX's reference
 * implementation does with an output_shape input larger than the unpooled shape. Where two entries
 * name the same index the later one (row-major) wins, as numpy assignment there. Its gradient w.r.t.
 * x gathers dy (cropped to indexShape) at the indices.
 */
registerOp({
  name: 'maxUnpool',
  family: 'nn',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const dtype = requireFloat(ctx, 0);
    requireDType(ctx, 1, ['int32', 'int64']);
    const x = ctx.inputs[0].shape;
    const idx = ctx.inputs[1].shape;
    if (x.length < 3) throw new ShapeError(`${ctx.where}x ${shapeToString(x)} must be [N, C, ...spatial]`);
    if (idx.length !== x.length || !idx.every((d, i) => d === null || x[i] === null || d === x[i])) {
      throw new ShapeError(`${ctx.where}indices ${shapeToString(idx)} must have x's shape ${shapeToString(x)}`);
    }
    const out = attrInts(ctx, 'outputShape');
    if (out.length !== x.length || out.some((d) => !Number.isInteger(d) || d < 0) || [0, 1].some((i) => x[i] !== null && x[i] !== out[i])) {
      throw new ShapeError(`${ctx.where}outputShape [${out.join(', ')}] must be [N, C, ...spatial] for x ${shapeToString(x)}`);
    }
    const within = attrInts(ctx, 'indexShape', out);
    if (within.length !== out.length || within.some((d, i) => !Number.isInteger(d) || d < 0 || d > out[i] || (i < 2 && d !== out[i]))) {
      throw new ShapeError(`${ctx.where}indexShape [${within.join(', ')}] must be [N, C, ...spatial] no larger than outputShape [${out.join(', ')}]`);
    }
    return [{ dtype, shape: [...out] }];
  },
  gradient: ({ node, inputs, grads }) => {
    const out = node.attrs.outputShape as number[];
    const within = (node.attrs.indexShape as number[] | undefined) ?? out;
    const dy = within.every((d, i) => d === out[i]) ? grads[0]! : slice(grads[0]!, within.map(() => 0), within);
    return [reshapeToShapeOf(gather(reshape(dy, [-1]), reshape(inputs[1], [-1]), 0), inputs[0]), null];
  },
});

/**
 * ```ts
 * const [pooled, argmax] = ...;                        // maxPoolNchw with indices
 * ops.maxUnpool(pooled, argmax, [1, 3, 8, 8]);        // the maxima back in place, zeros elsewhere
 * ```
 */
export function maxUnpool(x: TensorLike, indices: TensorLike, outputShape: number[], indexShape?: number[], name?: string): SymbolicTensor {
  return apply1('maxUnpool', [x, indices], indexShape ? { outputShape: [...outputShape], indexShape: [...indexShape] } : { outputShape: [...outputShape] }, name);
}
