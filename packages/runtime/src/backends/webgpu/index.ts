export { WebGpuBackend } from './backend';
export { WebGpuExecutable } from './executable';
export type { FallbackRecord } from './executable';
export { WebGpuVariableState } from './state';
export { WebGpuUnavailableError, webgpuAvailability, releaseGpu, creationCounts } from './device';
export { registerWebGpuKernel, getWebGpuKernel, webGpuKernelOps, NoGpuKernel } from './kernel';
export type { WebGpuKernel, WebGpuKernelContext, KernelPlan, WgslDispatch, WgslBinding, GpuTensorInfo } from './kernel';
export { planBuffers } from './memory';
export { setWebGpuGemmTile, webGpuGemmTile } from './kernels/gemm';
