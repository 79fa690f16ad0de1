import { GraphcError, ShapeError, TensorValue } from '@graphc/graph';
import type { KernelContext } from '../../kernel';
import { registerCpuKernel } from '../../kernel';

/**
 * Softmax cross entropies, one loss per row of the class (last) axis, through the log-sum-exp of the
 * row (max subtracted), so large logits neither overflow nor lose the loss to rounding.
 * (sigmoidCrossEntropyWithLogits is elementwise: its kernel is generated from the OpDef.)
 */

/**
 * Visits each row of a sparse cross entropy: its label (checked to lie in [0, classes), else an
 * error naming the node), the offset of its logits, and the row's max and sum of exp(x - max).
 */
function forEachLabelledRow(labels: TensorValue, logits: TensorValue, ctx: KernelContext, visit: (r: number, label: number, base: number, max: number, sum: number) => void): void {
  const classes = logits.shape[logits.shape.length - 1];
  const x = logits.data;
  for (let r = 0; r < labels.data.length; r++) {
    const label = labels.data[r];
    if (!(label >= 0 && label < classes)) {
      throw new GraphcError(`op '${ctx.node.op}' (node '${ctx.node.name}'): label ${label} at row ${r} is outside the ${classes} classes [0, ${classes})`);
    }
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[base + j] > max) max = x[base + j];
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(x[base + j] - max);
    visit(r, label, base, max, sum);
  }
}

registerCpuKernel('sparseSoftmaxCrossEntropyWithLogits', (inputs, _attrs, ctx) => {
  const [labels, logits] = inputs;
  const classes = logits.shape[logits.shape.length - 1];
  if (labels.data.length * classes !== logits.data.length) mismatch(labels, logits, ctx);
  const out = ctx.alloc(logits.dtype, labels.shape);
  forEachLabelledRow(labels, logits, ctx, (r, label, base, max, sum) => (out.data[r] = max + Math.log(sum) - logits.data[base + label]));
  return [out];
});

/** dy * (softmax(logits) - onehot(label)) per row, the softmax in double as the loss computes it. */
registerCpuKernel('sparseSoftmaxCrossEntropyWithLogitsGrad', (inputs, _attrs, ctx) => {
  const [labels, logits, dy] = inputs;
  const classes = logits.shape[logits.shape.length - 1];
  if (labels.data.length * classes !== logits.data.length || dy.data.length !== labels.data.length) mismatch(labels, logits, ctx);
  const out = ctx.alloc(logits.dtype, logits.shape);
  const x = logits.data;
  forEachLabelledRow(labels, logits, ctx, (r, label, base, max, sum) => {
    const d = dy.data[r];
    const scale = d / sum;
    for (let j = 0; j < classes; j++) out.data[base + j] = Math.exp(x[base + j] - max) * scale - (j === label ? d : 0);
  });
  return [out];
});

registerCpuKernel('softmaxCrossEntropyWithLogits', (inputs, _attrs, ctx) => {
  const [labels, logits] = inputs;
  const classes = logits.shape[logits.shape.length - 1];
  const out = ctx.alloc(logits.dtype, logits.shape.slice(0, -1));
  const rows = out.data.length;
  if (labels.shape.join() !== logits.shape.join()) mismatch(labels, logits, ctx);
  const x = logits.data;
  const z = labels.data;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[base + j] > max) max = x[base + j];
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(x[base + j] - max);
    const lse = max + Math.log(sum);
    let loss = 0;
    for (let j = 0; j < classes; j++) loss += z[base + j] * (lse - x[base + j]);
    out.data[r] = loss;
  }
  return [out];
});

function mismatch(labels: TensorValue, logits: TensorValue, ctx: KernelContext): never {
  throw new ShapeError(
    `op '${ctx.node.op}' (node '${ctx.node.name}'): labels [${labels.shape.join(', ')}] do not fit logits [${logits.shape.join(', ')}]`,
  );
}
