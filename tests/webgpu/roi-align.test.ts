import { Graph, SymbolicTensor, gradients, ops, tensor } from 'graphc';
import { checkOnGpu, describeGpu, seeded } from './helpers';

/**
 * roiAlign and its gradient (roiAlignGrad) on webgpu against the cpu backend, at O0 and O2, both
 * placed on the device: every mode and coordinate rule, adaptive and fixed sampling, rois inside,
 * more than a pixel outside, across the last row and column, smaller than a pixel, and reversed.
 */
const ROIS = [0.4, 0.3, 4.6, 3.7, -2.6, 1.2, 2.3, 6.1, 3.3, 2.2, 6.8, 5.9, 1.1, 1.3, 1.5, 1.6, 3.9, 3.1, 1.2, 0.7, -9, -9, 11, 12];
const OPTIONS: Parameters<typeof ops.roiAlign>[3][] = [
  { outputHeight: 2, outputWidth: 3, samplingRatio: 2 },
  { outputHeight: 3, outputWidth: 2, coordinateTransformationMode: 'output_half_pixel', spatialScale: 0.8 },
  { mode: 'max', outputHeight: 2, outputWidth: 2 },
  { mode: 'max', outputHeight: 2, outputWidth: 3, samplingRatio: 3, coordinateTransformationMode: 'output_half_pixel', spatialScale: 1.2 },
];

describeGpu('webgpu roiAlign', () => {
  test('forward and gradient w.r.t. x: avg and max, half_pixel and output_half_pixel, int64 and int32 batch indices', async () => {
    for (const dtype of ['int64', 'int32'] as const) {
      const g = new Graph();
      const x = g.placeholder('float32', [2, 3, 5, 6], 'x');
      const rois = g.placeholder('float32', [6, 4], 'rois');
      const batch = g.placeholder(dtype, [6], 'batch');
      const outs: SymbolicTensor[] = [];
      for (const options of OPTIONS) {
        const y = ops.roiAlign(x, rois, batch, options);
        outs.push(y, gradients(ops.reduceSum(ops.mul(y, ops.sin(y))), [x])[0]);
      }
      const feeds = { x: tensor(seeded(180, 401, 2), [2, 3, 5, 6]), rois: tensor(ROIS, [6, 4]), batch: tensor([1, 0, 1, 0, 1, 0], [6], dtype) };
      await checkOnGpu(g, outs, feeds, ['roiAlign', 'roiAlignGrad']);
    }
  });
});
