import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import { setGradient } from '../registry';
import { oneHot } from '../ops/array/one-hot';
import { expandDims } from '../ops/array/reshape';
import { add, mul, sub } from '../ops/math/binary';
import { exp, neg, rsqrt, sigmoid, square } from '../ops/math/unary';
import { reduceSum } from '../ops/reduce/reduce';
import { logSoftmax, softmax } from '../ops/nn/softmax';
import { sparseSoftmaxCrossEntropyWithLogitsGrad } from '../ops/nn/cross-entropy';
import { conv2dBackpropFilter, conv2dBackpropInput, depthwiseConv2dBackpropFilter, depthwiseConv2dBackpropInput } from '../ops/nn/conv2d-backprop';
import { avgPoolGrad, maxPoolGrad } from '../ops/nn/pool-grad';
import { unbroadcast } from './helpers';

/**
 * Gradients of the nn family (TensorFlow's nn_grad.py). Convolutions and pools use their adjoint
 * ops (fast kernels of their own); softmax, the losses and batchNorm are written with ordinary ops,
 * so they are differentiable again.
 */

setGradient('conv2d', ({ node, inputs, grads }) => {
  const [x, filter] = inputs;
  const dy = grads[0]!;
  return [conv2dBackpropInput(dy, filter, x, node.attrs), conv2dBackpropFilter(x, dy, filter, node.attrs)];
});

setGradient('depthwiseConv2d', ({ node, inputs, grads }) => {
  const [x, filter] = inputs;
  const dy = grads[0]!;
  return [depthwiseConv2dBackpropInput(dy, filter, x, node.attrs), depthwiseConv2dBackpropFilter(x, dy, filter, node.attrs)];
});

setGradient('maxPool', ({ node, inputs, grads }) => [maxPoolGrad(grads[0]!, inputs[0], node.attrs)]);
setGradient('avgPool', ({ node, inputs, grads }) => [avgPoolGrad(grads[0]!, inputs[0], node.attrs)]);

const axisOf = (attrs: Record<string, unknown>): number => (typeof attrs.axis === 'number' ? attrs.axis : -1);

// dx = y (dy - sum(dy y))
setGradient('softmax', ({ node, outputs, grads }) => {
  const y = outputs[0];
  const dy = grads[0]!;
  return [mul(y, sub(dy, reduceSum(mul(dy, y), axisOf(node.attrs), true)))];
});

// dx = dy - softmax(x) sum(dy)
setGradient('logSoftmax', ({ node, outputs, grads }) => {
  const dy = grads[0]!;
  return [sub(dy, mul(exp(outputs[0]), reduceSum(dy, axisOf(node.attrs), true)))];
});

/** The per-row loss gradient as a column, to scale each row of the class axis. */
const column = (dy: SymbolicTensor): SymbolicTensor => expandDims(dy, -1);

// d/dlogits (logsumexp(l) - l[label]) = softmax(l) - onehot(label), times dy: one kernel
setGradient('sparseSoftmaxCrossEntropyWithLogits', ({ inputs, grads }) => [null, sparseSoftmaxCrossEntropyWithLogitsGrad(inputs[0], inputs[1], grads[0]!)], [0]);

// out = dy (s - onehot), s = softmax(l): d/dl = dy s (g - sum(g s)); d/ddy = sum(g (s - onehot))
setGradient(
  'sparseSoftmaxCrossEntropyWithLogitsGrad',
  ({ node, inputs, grads }) => {
    const [labels, logits, dy] = inputs;
    const g = grads[0]!;
    const classes = logits.shape[logits.rank - 1];
    if (classes === null) {
      throw new GradientError(`gradient of sparseSoftmaxCrossEntropyWithLogitsGrad (node '${node.name}'): the number of classes (last axis of the logits) must be known`);
    }
    const s = softmax(logits);
    const dLogits = mul(column(dy), mul(s, sub(g, reduceSum(mul(g, s), -1, true))));
    const dDy = reduceSum(mul(g, sub(s, oneHot(labels, classes, 1, 0, -1, logits.dtype))), -1);
    return [null, dLogits, dDy];
  },
  [0],
);

// d/dlogits -sum(z log softmax(l)) = softmax(l) sum(z) - z; d/dz = -log softmax(l)
setGradient('softmaxCrossEntropyWithLogits', ({ inputs, grads }) => {
  const [labels, logits] = inputs;
  const dy = column(grads[0]!);
  const dLogits = mul(dy, sub(mul(softmax(logits), reduceSum(labels, -1, true)), labels));
  return [neg(mul(dy, logSoftmax(logits))), dLogits];
});

// max(x, 0) - x z + log(1 + e^-|x|): d/dx = sigmoid(x) - z, d/dz = -x
setGradient('sigmoidCrossEntropyWithLogits', ({ inputs, grads }) => {
  const [labels, logits] = inputs;
  const dy = grads[0]!;
  return [neg(mul(dy, logits)), mul(dy, sub(sigmoid(logits), labels))];
});

/**
 * y = (x - mean) scale / sqrt(var + eps) + offset, every parameter broadcast against x. The
 * statistics may be the batch's own moments (training): their gradients flow on through them.
 */
setGradient('batchNorm', ({ node, inputs, grads }) => {
  const [x, mean, variance, offset, scale] = inputs;
  const dy = grads[0]!;
  const eps = typeof node.attrs.varianceEpsilon === 'number' ? node.attrs.varianceEpsilon : 1e-3;
  const inv = rsqrt(add(variance, eps));
  const centered = sub(x, mean);
  const dxHat = mul(dy, mul(scale, inv));
  const dVar = mul(mul(mul(dy, centered), mul(scale, mul(inv, square(inv)))), -0.5);
  return [
    unbroadcast(dxHat, node, 0),
    unbroadcast(neg(dxHat), node, 1),
    unbroadcast(dVar, node, 2),
    unbroadcast(dy, node, 3),
    unbroadcast(mul(dy, mul(centered, inv)), node, 4),
  ];
});

/** Dropout's output 1 is the factor each element was multiplied by in this run: dy * factor. */
setGradient('dropout', ({ outputs, grads }) => [mul(grads[0]!, outputs[1])]);
