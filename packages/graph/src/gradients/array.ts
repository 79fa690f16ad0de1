import { isFloat } from '../dtype';
import type { DType } from '../dtype';
import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import { setGradient } from '../registry';
import { cast } from '../ops/array/cast';
import { concat, split } from '../ops/array/concat';
import { gatherGrad, padGrad, reshapeToShapeOf, sliceGrad, tileGrad } from '../ops/array/gradient-ops';
import { reshape } from '../ops/array/reshape';
import { transpose } from '../ops/array/transpose';
import { broadcastToShapeOf } from '../ops/math/broadcast-gradient';
import { scalarOf } from './helpers';

/**
 * Gradients of the array family (TensorFlow's array_grad.py): data movement moves the gradient back
 * the other way. Reference-shaped helpers (reshapeToShapeOf, sliceGrad, gatherGrad) take the forward
 * input's run-time shape, so unknown dimensions need no special case.
 */

/** dy with x's shape: a static reshape when at most one dimension is unknown, else x's run-time shape. */
export function reshapeLike(dy: SymbolicTensor, x: SymbolicTensor): SymbolicTensor {
  const unknown = x.shape.filter((d) => d === null).length;
  if (unknown <= 1) return reshape(dy, x.shape.map((d) => (d === null ? -1 : d)));
  return reshapeToShapeOf(dy, x);
}

for (const name of ['reshape', 'expandDims', 'squeeze']) {
  setGradient(name, ({ inputs, grads }) => [reshapeLike(grads[0]!, inputs[0])]);
}

setGradient('transpose', ({ node, grads }) => {
  const perm = node.attrs.perm as number[];
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return [transpose(grads[0]!, inverse)];
});

// a float-to-float cast passes the gradient back in the input's precision; other casts carry none
setGradient('cast', ({ inputs, outputs, grads }) => {
  const from: DType = inputs[0].dtype;
  return [isFloat(from) && isFloat(outputs[0].dtype) ? cast(grads[0]!, from) : null];
});

setGradient('concat', ({ node, inputs, grads }) => {
  const rank = inputs[0].rank;
  const a = node.attrs.axis as number;
  const axis = a < 0 ? a + rank : a;
  if (inputs.length === 1) return [grads[0]];
  const sizes = inputs.map((t) => t.shape[axis]);
  if (sizes.filter((d) => d === null).length > 1) {
    throw new GradientError(
      `gradient of concat (node '${node.name}'): more than one input has an unknown size along axis ${axis}; ` +
        'give the inputs static sizes along the concat axis',
    );
  }
  return split(grads[0]!, sizes.map((d) => (d === null ? -1 : d)), axis);
});

// the parts' gradients concatenated back, zeros for parts that took none
setGradient('split', ({ node, outputs, grads }) => {
  const parts = grads.map((g, i) => g ?? broadcastToShapeOf(scalarOf(outputs[i], 0), outputs[i]));
  return [concat(parts, node.attrs.axis as number)];
});

setGradient('slice', ({ node, inputs, grads }) => [sliceGrad(grads[0]!, inputs[0], node.attrs.begin as number[], node.attrs.size as number[])]);

setGradient('gather', ({ node, inputs, grads }) => [gatherGrad(grads[0]!, inputs[1], inputs[0], (node.attrs.axis as number | undefined) ?? 0), null], [1]);

setGradient('pad', ({ node, inputs, grads }) => [padGrad(grads[0]!, inputs[0], node.attrs.paddings as number[], String(node.attrs.mode ?? 'constant'))]);

setGradient('tile', ({ node, inputs, grads }) => [tileGrad(grads[0]!, inputs[0], node.attrs.multiples as number[])]);

// constant-valued outputs: no gradient reaches the input
for (const name of ['zerosLike', 'onesLike']) setGradient(name, () => [null]);
