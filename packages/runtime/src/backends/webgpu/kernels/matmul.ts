import { Attrs, ops, sizeOf } from '@graphc/graph';
import { GpuTensorInfo, WebGpuKernelContext, WgslDispatch, registerWebGpuKernel, requireDTypes } from '../kernel';
import { broadcastIndex, collapseBroadcast, u32Lit } from '../wgsl';
import { GemmEpilogue, GemmTarget, gemmDispatch, gemmOutputType, gemmTarget, matrixOperand } from './gemm';

/**
 * Batched matmul as one GEMM dispatch: the batch dimensions broadcast, each batch entry is one
 * z-slice of the grid; an epilogue (fusedMatmul's bias, activation, ...) runs on each result in
 * registers before the store.
 */
export function matmulDispatch(
  a: GpuTensorInfo,
  b: GpuTensorInfo,
  out: GpuTensorInfo,
  attrs: Attrs,
  target: GemmTarget,
  epilogue?: GemmEpilogue,
): WgslDispatch {
  const { transposeA: ta, transposeB: tb, m, k, n, batchA, batchB } = ops.matmulGeometry(a.shape, b.shape, attrs);
  const batchShape = out.shape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const { shape, strides } = collapseBroadcast(batchShape, [batchA, batchB]);
  const offset = (which: number, size: number) => (bz: string): string => {
    if (batch <= 1) return '0u';
    const idx = broadcastIndex(bz, shape, strides[which]);
    return idx === '0u' ? '0u' : `(${idx}) * ${u32Lit(size)}`;
  };
  return gemmDispatch({
    m,
    n,
    k,
    batch,
    a: matrixOperand('A', 0, m, k, ta, offset(0, m * k)),
    b: matrixOperand('B', 1, k, n, tb, offset(1, k * n)),
    epilogue,
    out: { ref: { output: 0 }, name: 'C', type: gemmOutputType(n) },
    target,
  });
}

registerWebGpuKernel('matmul', (ctx: WebGpuKernelContext) => {
  requireDTypes(ctx, ['float32']);
  const [a, b] = ctx.inputs;
  return { dispatches: [matmulDispatch(a, b, ctx.outputs[0], ctx.attrs, gemmTarget(ctx))] };
});
