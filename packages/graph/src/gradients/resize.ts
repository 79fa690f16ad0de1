import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import { setGradient } from '../registry';
import { shapeToString } from '../shape';
import { tensor } from '../tensor';
import { fill } from '../ops/array/fill';
import { gatherGrad } from '../ops/array/gradient-ops';
import { expandDims } from '../ops/array/reshape';
import { mul } from '../ops/math/binary';
import { broadcastToShapeOf } from '../ops/math/broadcast-gradient';
import { resizeDimensions } from '../ops/nn/resize-taps';
import { scalarOf } from './helpers';

/**
 * The gradient of resize, its adjoint. Resize is separable: one dimension after another, each output
 * coordinate a weighted sum of a few input taps (1 for nearest, 2 for linear, 4 for cubic; an
 * extrapolated coordinate of tf_crop_and_resize is a constant). So each dimension's step is a linear
 * map given by constant (index, weight) tables, and its adjoint scatters dy · weight back to the taps
 * (gatherGrad, whose gradient is gather: second derivatives stay closed). The steps run in reverse
 * order. The tables are the kernels' own (ops/nn/resize-taps.ts); they need x's shape to be known.
 * An extrapolated coordinate's taps weigh 0: no gradient flows from a constant.
 */

setGradient('resize', ({ node, inputs, grads }) => {
  const [x] = inputs;
  const dy = grads[0]!;
  const graph = x.graph;
  const rank = x.rank;
  if (!x.shape.every((d): d is number => d !== null)) {
    throw new GradientError(`gradient of resize (node '${node.name}'): x ${shapeToString(x.shape)} must have a known shape (the resampling tables depend on it)`);
  }
  const xShape = x.shape as number[];
  if (xShape.some((d) => d === 0)) return [broadcastToShapeOf(scalarOf(x, 0), x)];
  const attrs = node.attrs;
  const dims = resizeDimensions(attrs, xShape);
  let g = dy;
  for (let d = rank - 1; d >= 0; d--) {
    const { outLen, taps: t } = dims[d];
    if (!t) continue;
    const inLen = xShape[d];
    const trailing = new Array<number>(rank - d - 1).fill(1);
    const single = t.width === 1;
    const indices = graph.constant(tensor(Array.from(t.index), single ? [outLen] : [outLen, t.width], 'int32'));
    const weights = graph.constant(tensor(Array.from(t.weight), single ? [outLen, ...trailing] : [outLen, t.width, ...trailing], x.dtype));
    const weighted = single && t.weight.every((w) => w === 1) ? g : mul(single ? g : expandDims(g, d + 1), weights);
    // the step's input: x's sizes from d on, the output's before d
    const stepShape = xShape.map((s, i) => (i < d ? dims[i].outLen : s));
    const like = stepShape.every((s, i) => s === xShape[i]) ? x : fill(stepShape, 0, x.dtype, { graph });
    g = gatherGrad(weighted, indices, like, d);
  }
  return [g];
});
