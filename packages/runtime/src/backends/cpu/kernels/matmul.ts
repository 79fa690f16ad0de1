import { TensorValue, ops, sizeOf, stridesOf } from '@graphc/graph';
import { gemm, gemmPacked, packMatrixB } from '../gemm';
import { CpuEpilogueKernel, broadcastResultShape, registerCpuEpilogueKernel } from '../kernel';

/**
 * Batched matmul: broadcast batch dims, then one GEMM per batch entry on strided views (one in all
 * where B is shared). A fused epilogue is applied to each block of C (`applied`) where the product
 * is one GEMM: a single matrix, or a batch stacked over one B.
 */
const matmul: CpuEpilogueKernel = (inputs, attrs, ctx, epilogueFor) => {
  const [a, b] = inputs;
  const { transposeA: ta, transposeB: tb, m, k, n, batchA, batchB } = ops.matmulGeometry(a.shape, b.shape, attrs);
  const batch = broadcastResultShape([batchA, batchB]);
  const out: TensorValue = ctx.alloc(a.dtype, [...batch, m, n]);
  const count = sizeOf(batch);
  const batchStrides = stridesOf(batch);
  const offsetIn = (shape: number[], idx: number): number => {
    // flat index of a broadcast batch entry in an operand with batch dims `shape`
    let off = 0;
    let stride = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const dim = shape[d];
      const coord = Math.floor(idx / batchStrides[d + batch.length - shape.length]) % batch[d + batch.length - shape.length];
      if (dim !== 1) off += coord * stride;
      stride *= dim;
    }
    return off;
  };
  const matA = m * k;
  const matB = k * n;
  const bView = (offset: number) => ({ data: b.data, offset, rowStride: tb ? 1 : n, colStride: tb ? k : 1 });
  if (count > 1 && sizeOf(batchB) === 1) {
    // one B for every entry: a row-major A whose batch is not broadcast is one tall product (an
    // input projection over every time step), else B is packed once for all the products
    if (!ta && sizeOf(batchA) === count) {
      const applied = gemm(count * m, n, k, { data: a.data, offset: 0, rowStride: k, colStride: 1 }, bView(0), out.data, 0, false, epilogueFor(out) ?? undefined);
      return { outputs: [out], applied };
    }
    const packed = packMatrixB(k, n, bView(0));
    for (let i = 0; i < count; i++) {
      gemmPacked(m, n, k, { data: a.data, offset: offsetIn(batchA, i) * matA, rowStride: ta ? 1 : k, colStride: ta ? m : 1 }, packed, out.data, i * m * n);
    }
    return { outputs: [out], applied: false };
  }
  // a single matrix product applies the epilogue (a batch of them would need one per entry)
  const epilogue = count === 1 ? (epilogueFor(out) ?? undefined) : undefined;
  let applied = false;
  for (let i = 0; i < count; i++) {
    const aOff = offsetIn(batchA, i) * matA;
    const bOff = offsetIn(batchB, i) * matB;
    applied = gemm(m, n, k, { data: a.data, offset: aOff, rowStride: ta ? 1 : k, colStride: ta ? m : 1 }, bView(bOff), out.data, i * m * n, false, epilogue);
  }
  return { outputs: [out], applied };
};

registerCpuEpilogueKernel('matmul', matmul);
