import { registerGpujsUnsupported } from '../program';

/**
 * Detection and sampling ops from ONNX: nonMaxSuppression, gridSample, unique, roiAlign, maxUnpool.
 * Same formulas and loop orders as the cpu kernels, in float32.
 */

registerGpujsUnsupported(
  'nonMaxSuppression',
  'the number of boxes it selects depends on the scores and boxes, and a gpu.js kernel has a fixed output size: the session evaluates it on the cpu between two gpujs stages (runtime/src/staged.ts)',
);
