import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireDType, scatterInputs } from '../infer-helpers';

/**
 * gatherNd(data, indices): the last dimension of indices (length q) indexes the first q dimensions
 * of data after `batchDims` shared leading dimensions; out shape is
 * indices.shape[:-1] + data.shape[batchDims + q:] (ONNX GatherND, tf.gather_nd).
 */
registerOp({
  name: 'gatherNd',
  family: 'array',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const [data, indices] = ctx.inputs;
    requireDType(ctx, 1, ['int32', 'int64']);
    const b = Number(ctx.attrs.batchDims ?? 0);
    const q = indices.shape[indices.shape.length - 1];
    if (indices.shape.length < 1 || q === null || !Number.isInteger(b) || b < 0 || b + q > data.shape.length || b >= indices.shape.length) {
      throw new ShapeError(`${ctx.where}indices ${shapeToString(indices.shape)} (batchDims ${b}) do not fit data ${shapeToString(data.shape)}`);
    }
    return [{ dtype: data.dtype, shape: [...indices.shape.slice(0, -1), ...data.shape.slice(b + q)] }];
  },
});

/**
 * How gatherNd addresses data, for kernels: index tuples of length q; each gathers a contiguous
 * slice of `slice` elements; tuples come in `batch` groups of `perBatch` (the batchDims shared
 * leading dimensions), group g's data starting at g * batchStride; coordinate j of a tuple steps
 * data by strides[batchDims + j].
 */
export interface GatherNdGeometry {
  q: number;
  strides: number[];
  slice: number;
  batch: number;
  perBatch: number;
  batchStride: number;
}

export function gatherNdGeometry(dataShape: number[], indicesShape: number[], batchDims: number): GatherNdGeometry {
  const q = indicesShape[indicesShape.length - 1];
  const strides = dataShape.map((_, d) => dataShape.slice(d + 1).reduce((p, n) => p * n, 1));
  const product = (dims: number[]): number => dims.reduce((p, n) => p * n, 1);
  return {
    q,
    strides,
    slice: product(dataShape.slice(batchDims + q)),
    batch: product(dataShape.slice(0, batchDims)),
    perBatch: product(indicesShape.slice(batchDims, -1)),
    batchStride: batchDims > 0 ? strides[batchDims - 1] : 0,
  };
}

/** scatterNd(data, indices, updates): a copy of data with the slices indices point at replaced (or combined by `reduction`). */
registerOp({
  name: 'scatterNd',
  family: 'array',
  numInputs: 3,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const [data, indices, updates] = scatterInputs(ctx);
    const q = indices.shape[indices.shape.length - 1];
    if (indices.shape.length < 1 || q === null || q > data.shape.length) {
      throw new ShapeError(`${ctx.where}indices ${shapeToString(indices.shape)} do not fit data ${shapeToString(data.shape)}`);
    }
    const expected = [...indices.shape.slice(0, -1), ...data.shape.slice(q)];
    if (updates.shape.length !== expected.length || !updates.shape.every((d, i) => d === null || expected[i] === null || d === expected[i])) {
      throw new ShapeError(`${ctx.where}updates ${shapeToString(updates.shape)} must have shape ${shapeToString(expected)}`);
    }
    return [{ dtype: data.dtype, shape: [...data.shape] }];
  },
});

/** How a scatter combines an update with what its position holds (ONNX's reduction attribute). */
export type ScatterReduction = 'none' | 'add' | 'mul' | 'max' | 'min';

export function gatherNd(data: TensorLike, indices: TensorLike, batchDims = 0, name?: string): SymbolicTensor {
  return apply1('gatherNd', [data, indices], { batchDims }, name);
}

export function scatterNd(data: TensorLike, indices: TensorLike, updates: TensorLike, reduction: ScatterReduction = 'none', name?: string): SymbolicTensor {
  return apply1('scatterNd', [data, indices, updates], { reduction }, name);
}
