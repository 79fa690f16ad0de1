import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import type { GradientContext } from '../opdef';
import { setGradient } from '../registry';
import { gatherElements, scatterElements } from '../ops/array/gather-elements';
import { ScatterReduction, gatherNd, scatterNd } from '../ops/array/gather-nd';
import { cast } from '../ops/array/cast';
import { div, equal, where } from '../ops/math/binary';
import { reverseSequence } from '../ops/array/reverse-sequence';
import { stridedSliceGrad } from '../ops/array/gradient-ops';
import { apply1 } from '../ops/builder';
import { broadcastToShapeOf, sumToShapeOf } from '../ops/math/broadcast-gradient';
import { scalarOf } from './helpers';

/**
 * Gradients of the array ops ONNX import brought in: gathers scatter-add back, scatters gather
 * their updates' share, masks and reversals apply themselves to the gradient.
 */

const zerosShapedLike = (t: SymbolicTensor): SymbolicTensor => broadcastToShapeOf(scalarOf(t, 0), t);
const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);

setGradient('expand', ({ inputs, grads }) => [sumToShapeOf(grads[0]!, inputs[0])]);

setGradient('trilu', ({ node, grads }) => [apply1('trilu', [grads[0]!], node.attrs)]);

setGradient(
  'reverseSequence',
  ({ node, inputs, grads }) => [reverseSequence(grads[0]!, inputs[1], num(node.attrs.timeAxis, 0), num(node.attrs.batchAxis, 1)), null],
  [1],
);

setGradient('stridedSlice', ({ node, inputs, grads }) => [
  stridedSliceGrad(grads[0]!, inputs[0], node.attrs.begin as number[], node.attrs.strides as number[], node.attrs.size as number[]),
]);

// the k values go back to where they were taken from; the indices output carries no gradient
setGradient('topK', ({ node, inputs, outputs, grads }) => {
  const dy = grads[0];
  if (!dy) return [null];
  const [x] = inputs;
  return [scatterElements(zerosShapedLike(x), outputs[1], dy, num(node.attrs.axis, -1), 'add')];
});

setGradient(
  'gatherElements',
  ({ node, inputs, grads }) => [scatterElements(zerosShapedLike(inputs[0]), inputs[1], grads[0]!, num(node.attrs.axis, 0), 'add'), null],
  [1],
);

setGradient(
  'gatherNd',
  ({ node, inputs, grads }) => {
    if (num(node.attrs.batchDims, 0) !== 0) {
      throw new GradientError(`gradient of gatherNd (node '${node.name}') with batchDims > 0 is not supported`);
    }
    return [scatterNd(zerosShapedLike(inputs[0]), inputs[1], grads[0]!, 'add'), null];
  },
  [1],
);

/**
 * scatter (reduction 'none'): the written positions of data take no gradient, the updates take the
 * gradient there; 'add': data passes the gradient through and the updates gather it; 'max'/'min':
 * the gradient goes to whichever of data and the updates gave the result, shared equally among ties
 * (as TensorFlow's unsorted_segment_max).
 */
function scatterGradient(kind: 'elements' | 'nd') {
  return ({ node, inputs, outputs, grads }: GradientContext): (SymbolicTensor | null)[] => {
    const [data, indices, updates] = inputs;
    const dy = grads[0]!;
    const reduction = String(node.attrs.reduction ?? 'none');
    const axis = num(node.attrs.axis, 0);
    const gather = (t: SymbolicTensor): SymbolicTensor => (kind === 'elements' ? gatherElements(t, indices, axis) : gatherNd(t, indices));
    const scatter = (into: SymbolicTensor, values: SymbolicTensor, how: ScatterReduction): SymbolicTensor =>
      kind === 'elements' ? scatterElements(into, indices, values, axis, how) : scatterNd(into, indices, values, how);
    if (reduction === 'add') return [dy, null, gather(dy)];
    if (reduction === 'max' || reduction === 'min') {
      const out = outputs[0];
      const dataWon = equal(data, out);
      const updateWon = equal(updates, gather(out));
      const one = (won: SymbolicTensor): SymbolicTensor => cast(won, dy.dtype);
      const winners = scatter(one(dataWon), one(updateWon), 'add');
      const share = div(dy, winners);
      const zero = scalarOf(dy, 0);
      return [where(dataWon, share, zero), null, where(updateWon, gather(share), zero)];
    }
    if (reduction !== 'none') {
      throw new GradientError(`gradient of ${node.op} (node '${node.name}') with reduction '${reduction}' is not supported`);
    }
    return [scatter(dy, zerosShapedLike(updates), 'none'), null, gather(dy)];
  };
}
setGradient('scatterElements', scatterGradient('elements'), [1]);
setGradient('scatterNd', scatterGradient('nd'), [1]);
