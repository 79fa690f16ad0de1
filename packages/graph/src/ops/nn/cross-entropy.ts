import { DTypeError, ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import type { InferContext, OutputInfo } from '../../opdef';
import { registerOp } from '../../registry';
import { Shape, shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireDType, requireFloat, sameDType } from '../infer-helpers';

/** Unknown dims match anything; known dims must agree. Returns the more specific shape. */
function unifyShapes(ctx: InferContext, a: Shape, b: Shape, what: string): Shape {
  if (a.length !== b.length || !a.every((d, i) => d === null || b[i] === null || d === b[i])) {
    throw new ShapeError(`${ctx.where}${what}: labels ${shapeToString(a)} and logits ${shapeToString(b)} do not match`);
  }
  return a.map((d, i) => d ?? b[i]);
}

/**
 * Shared inference of the cross entropies whose labels have the logits' shape and float dtype
 * (softmax's distributions, sigmoid's 0/1 or soft labels): one loss per row over the last (class)
 * axis when `perRow`, else one per element.
 */
function inferDenseCrossEntropy(ctx: InferContext, perRow: boolean): OutputInfo[] {
  const dtype = sameDType(ctx);
  requireFloat(ctx, 1);
  const [labels, logits] = ctx.inputs.map((i) => i.shape);
  if (perRow && logits.length < 1) throw new ShapeError(`${ctx.where}logits must have rank >= 1, got ${shapeToString(logits)}`);
  const shape = unifyShapes(ctx, labels, logits, 'labels and logits must have the same shape');
  return [{ dtype, shape: perRow ? shape.slice(0, -1) : shape }];
}

/**
 * sparseSoftmaxCrossEntropyWithLogits(labels [...B], logits [...B, C]) -> [...B]:
 * `logsumexp(logits) - logits[label]` per row. A label outside [0, C) is an error at run time.
 */
registerOp({
  name: 'sparseSoftmaxCrossEntropyWithLogits',
  family: 'nn',
  numInputs: 2,
  nonDifferentiableInputs: [0],
  infer: (ctx) => {
    const { dtype, batch } = sparseRows(ctx);
    return [{ dtype, shape: batch }];
  },
});

/** A sparse cross entropy's integer labels [...B] against float logits [...B, C]: the logits' dtype and B. */
function sparseRows(ctx: InferContext): { dtype: OutputInfo['dtype']; batch: Shape } {
  requireDType(ctx, 0, ['int32', 'int64']);
  const dtype = requireFloat(ctx, 1);
  const labels = ctx.inputs[0].shape;
  const logits = ctx.inputs[1].shape;
  if (logits.length < 1) throw new ShapeError(`${ctx.where}logits must have rank >= 1, got ${shapeToString(logits)}`);
  return { dtype, batch: unifyShapes(ctx, labels, logits.slice(0, -1), 'labels must have the shape of logits without its last (class) axis') };
}

/**
 * sparseSoftmaxCrossEntropyWithLogitsGrad(labels [...B], logits [...B, C], dy [...B]) -> [...B, C]:
 * the loss's gradient with respect to the logits, `dy * (softmax(logits) - onehot(labels))` per
 * row, in one kernel (TensorFlow's op returns it beside the loss as `backprop`). Made by autodiff.
 */
registerOp({
  name: 'sparseSoftmaxCrossEntropyWithLogitsGrad',
  family: 'nn',
  numInputs: 3,
  nonDifferentiableInputs: [0],
  infer: (ctx) => {
    const { dtype, batch } = sparseRows(ctx);
    if (ctx.inputs[2].dtype !== dtype) throw new DTypeError(`${ctx.where}dy is ${ctx.inputs[2].dtype}, the logits ${dtype}`);
    unifyShapes(ctx, ctx.inputs[2].shape, batch, 'dy must have the shape of the labels');
    return [{ dtype, shape: [...batch, ctx.inputs[1].shape[ctx.inputs[1].shape.length - 1]] }];
  },
});

/**
 * softmaxCrossEntropyWithLogits(labels [...B, C], logits [...B, C]) -> [...B]:
 * `-sum(labels * logSoftmax(logits))` over the class axis (labels are a distribution per row).
 */
registerOp({
  name: 'softmaxCrossEntropyWithLogits',
  family: 'nn',
  numInputs: 2,
  infer: (ctx) => inferDenseCrossEntropy(ctx, true),
});

/**
 * sigmoidCrossEntropyWithLogits(labels z, logits x), elementwise, in TensorFlow's stable form
 * `max(x, 0) - x * z + log(1 + exp(-|x|))`.
 */
registerOp({
  name: 'sigmoidCrossEntropyWithLogits',
  family: 'nn',
  numInputs: 2,
  infer: (ctx) => inferDenseCrossEntropy(ctx, false),
  elementwise: {
    js: () => '((b > 0 ? b : 0) - b * a + Math.log1p(Math.exp(-Math.abs(b))))',
    wgsl: () => '(max(b, 0.0) - b * a + log(1.0 + exp(-abs(b))))',
  },
});

/**
 * Cross entropy of integer class labels against unnormalized logits, as
 * `tf.nn.sparse_softmax_cross_entropy_with_logits`; one loss per row.
 *
 * ```ts
 * const loss = ops.mean(ops.sparseSoftmaxCrossEntropyWithLogits(y, logits));  // y: int32 [N], logits: [N, C]
 * ```
 */
export function sparseSoftmaxCrossEntropyWithLogits(labels: TensorLike, logits: TensorLike, name?: string): SymbolicTensor {
  const g = graphOf([labels, logits]);
  return apply1('sparseSoftmaxCrossEntropyWithLogits', [toSymbolic(g, labels, 'int32'), logits], {}, name, g);
}

/** Cross entropy of label distributions against logits over the last axis (tf.nn.softmax_cross_entropy_with_logits). */
export function softmaxCrossEntropyWithLogits(labels: TensorLike, logits: TensorLike, name?: string): SymbolicTensor {
  const g = graphOf([labels, logits]);
  const dtype = logits instanceof SymbolicTensor ? logits.dtype : undefined;
  return apply1('softmaxCrossEntropyWithLogits', [toSymbolic(g, labels, dtype), logits], {}, name, g);
}

/** Elementwise logistic loss of logits against 0/1 (or soft) labels (tf.nn.sigmoid_cross_entropy_with_logits). */
export function sigmoidCrossEntropyWithLogits(labels: TensorLike, logits: TensorLike, name?: string): SymbolicTensor {
  const g = graphOf([labels, logits]);
  const dtype = logits instanceof SymbolicTensor ? logits.dtype : undefined;
  return apply1('sigmoidCrossEntropyWithLogits', [toSymbolic(g, labels, dtype), logits], {}, name, g);
}

/** The logits' gradient of sparseSoftmaxCrossEntropyWithLogits for the loss gradient `dy` (autodiff's builder). */
export function sparseSoftmaxCrossEntropyWithLogitsGrad(labels: SymbolicTensor, logits: SymbolicTensor, dy: SymbolicTensor, name?: string): SymbolicTensor {
  return apply1('sparseSoftmaxCrossEntropyWithLogitsGrad', [labels, logits, dy], {}, name);
}
