import { GraphcError, ShapeError, TensorValue } from '@graphc/graph';
import type { KernelContext } from '../../kernel';
import { registerCpuKernel } from '../../kernel';
import { softmaxRowsWith } from '../../wasm-softmax';

/**
 * Softmax cross entropies, one loss per row of the class (last) axis, through the log-sum-exp of the
 * row (max subtracted), so large logits neither overflow nor lose the loss to rounding.
 * (sigmoidCrossEntropyWithLogits is elementwise: its kernel is generated from the OpDef.)
 */

/** Throws, naming the node, where a label lies outside [0, classes). */
function checkLabels(labels: TensorValue, classes: number, ctx: KernelContext): void {
  labels.data.forEach((label, r) => {
    if (!(label >= 0 && label < classes)) {
      throw new GraphcError(`op '${ctx.node.op}' (node '${ctx.node.name}'): label ${label} at row ${r} is outside the ${classes} classes [0, ${classes})`);
    }
  });
}

/**
 * Visits each row of a sparse cross entropy (its labels checked already): its label, the offset of
 * its logits, and the row's max and sum of exp(x - max).
 */
function forEachLabelledRow(labels: TensorValue, logits: TensorValue, visit: (r: number, label: number, base: number, max: number, sum: number) => void): void {
  const classes = logits.shape[logits.shape.length - 1];
  const x = logits.data;
  for (let r = 0; r < labels.data.length; r++) {
    const label = labels.data[r];
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
  checkLabels(labels, classes, ctx);
  const loss = (r: number, max: number, sum: number) => (out.data[r] = max + Math.log(sum) - logits.data[r * classes + labels.data[r]]);
  // float32 rows of whole vectors: the row statistics on WebAssembly SIMD (wasm-softmax.ts)
  if (logits.data instanceof Float32Array && softmaxRowsWith(logits.data, classes, null, 'scale', loss)) return [out];
  forEachLabelledRow(labels, logits, (r, _label, _base, max, sum) => loss(r, max, sum));
  return [out];
});

/** dy * (softmax(logits) - onehot(label)) per row, the softmax in double as the loss computes it. */
registerCpuKernel('sparseSoftmaxCrossEntropyWithLogitsGrad', (inputs, _attrs, ctx) => {
  const [labels, logits, dy] = inputs;
  const classes = logits.shape[logits.shape.length - 1];
  if (labels.data.length * classes !== logits.data.length || dy.data.length !== labels.data.length) mismatch(labels, logits, ctx);
  const out = ctx.alloc(logits.dtype, logits.shape);
  const x = logits.data;
  checkLabels(labels, classes, ctx);
  if (x instanceof Float32Array && out.data instanceof Float32Array && softmaxRowsWith(x, classes, out.data, 'scale', (r, _max, sum) => dy.data[r] / sum)) {
    for (let r = 0; r < labels.data.length; r++) out.data[r * classes + labels.data[r]] -= dy.data[r];
    return [out];
  }
  forEachLabelledRow(labels, logits, (r, label, base, max, sum) => {
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
