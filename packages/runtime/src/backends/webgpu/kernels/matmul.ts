import { Attrs, sizeOf } from '@graphc/graph';
import { GpuTensorInfo, WebGpuKernelContext, WgslDispatch, registerWebGpuKernel, requireDTypes } from '../kernel';
import { broadcastIndex, collapseBroadcast, u32Lit } from '../wgsl';
import { GemmEpilogue, gemmDispatch, gemmOutputType, matrixOperand } from './gemm';

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
  maxPerDim: number,
  epilogue?: GemmEpilogue,
): WgslDispatch {
  const ta = attrs.transposeA === true;
  const tb = attrs.transposeB === true;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = a.shape[ra - (ta ? 1 : 2)];
  const k = a.shape[ra - (ta ? 2 : 1)];
  const n = b.shape[rb - (tb ? 2 : 1)];
  const batchShape = out.shape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const { shape, strides } = collapseBroadcast(batchShape, [a.shape.slice(0, -2), b.shape.slice(0, -2)]);
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
    maxPerDim,
  });
}

registerWebGpuKernel('matmul', (ctx: WebGpuKernelContext) => {
  requireDTypes(ctx, ['float32']);
  const [a, b] = ctx.inputs;
  return { dispatches: [matmulDispatch(a, b, ctx.outputs[0], ctx.attrs, ctx.limits.maxComputeWorkgroupsPerDimension)] };
});
