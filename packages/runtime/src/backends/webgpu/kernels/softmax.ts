import { sizeOf } from '@graphc/graph';
import { WebGpuKernelContext, WgslBinding, WgslDispatch, registerWebGpuKernel, requireDTypes } from '../kernel';
import { flatDispatch, u32Lit } from '../wgsl';

/**
 * softmax, logSoftmax and the softmax cross entropies, each one kernel: a lane is one row along the
 * axis (of `len` elements `inner` apart). Long rows get a workgroup each, reducing max and sum-of-exp
 * with trees in workgroup memory; short rows (class counts) get a thread each.
 */
const WG = 256;
const TREE_MIN = 128;

interface RowSpec {
  rows: number;
  len: number;
  inner: number;
  bindings: WgslBinding[];
  /** Statements run once per row after max (`mx`) and sum of exp(x - mx) (`se`) are known; `base`, `tid`/`lane` in scope. */
  finish(tree: boolean): string;
  maxPerDim: number;
}

/** max and sum of exp(x - max) over each row of binding `x`, then `finish`. */
function rowDispatch(spec: RowSpec): WgslDispatch {
  const { rows, len, inner } = spec;
  const U = u32Lit;
  const at = (k: string): string => (inner === 1 ? `base + ${k}` : `base + (${k}) * ${U(inner)}`);
  const baseOf = (row: string): string =>
    inner === 1 ? `${row} * ${U(len)}` : `(${row} / ${U(inner)}) * ${U(len * inner)} + ${row} % ${U(inner)}`;
  if (len < TREE_MIN) {
    return flatDispatch({
      n: rows,
      maxPerDim: spec.maxPerDim,
      index: 'row',
      bindings: spec.bindings,
      body: `let base = ${baseOf('row')};
  var mx = -gc_inf();
  for (var k = 0u; k < ${U(len)}; k++) { mx = max(mx, x[${at('k')}]); }
  var se = 0.0;
  for (var k = 0u; k < ${U(len)}; k++) { se += exp(x[${at('k')}] - mx); }
  ${spec.finish(false)}`,
    });
  }
  const ry = Math.min(rows, spec.maxPerDim);
  const rz = Math.ceil(rows / ry);
  return {
    bindings: spec.bindings,
    body: `
var<workgroup> red: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.x + wid.y * ${U(ry)};
  let valid = row < ${U(rows)};
  let base = ${baseOf('row')};
  var m = -gc_inf();
  if (valid) { for (var k = tid; k < ${U(len)}; k += ${WG}u) { m = max(m, x[${at('k')}]); } }
  red[tid] = m;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (tid < s) { red[tid] = max(red[tid], red[tid + s]); }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var e = 0.0;
  if (valid) { for (var k = tid; k < ${U(len)}; k += ${WG}u) { e += exp(x[${at('k')}] - mx); } }
  red[tid] = e;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (tid < s) { red[tid] = red[tid] + red[tid + s]; }
    workgroupBarrier();
  }
  let se = red[0];
  if (valid) {
    ${spec.finish(true)}
  }
}`,
    workgroups: [ry, rz, 1],
  };
}

for (const log of [false, true]) {
  registerWebGpuKernel(log ? 'logSoftmax' : 'softmax', (ctx) => {
    requireDTypes(ctx, ['float32']);
    const x = ctx.inputs[0];
    const rank = x.shape.length;
    const a = (ctx.attrs.axis as number | undefined) ?? -1;
    const axis = a < 0 ? a + rank : a;
    const len = x.shape[axis];
    const inner = sizeOf(x.shape.slice(axis + 1));
    const rows = len === 0 ? 0 : sizeOf(x.shape) / len;
    const loop = (tree: boolean): string => (tree ? `for (var k = tid; k < ${u32Lit(len)}; k += ${WG}u)` : `for (var k = 0u; k < ${u32Lit(len)}; k++)`);
    const idx = inner === 1 ? 'base + k' : `base + k * ${u32Lit(inner)}`;
    return {
      dispatches: [
        rowDispatch({
          rows,
          len,
          inner,
          maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
          bindings: [
            { ref: { input: 0 }, name: 'x', type: 'array<f32>' },
            { ref: { output: 0 }, name: 'y', type: 'array<f32>' },
          ],
          finish: (tree) =>
            log
              ? `let lse = mx + log(se);\n  ${loop(tree)} { y[${idx}] = x[${idx}] - lse; }`
              : `let inv = 1.0 / se;\n  ${loop(tree)} { y[${idx}] = exp(x[${idx}] - mx) * inv; }`,
        }),
      ],
    };
  });
}

/**
 * A softmax cross entropy's dispatch: rows of `classes` logits (input 1, bound as `x`) and the
 * row's labels (input 0, bound as `labels` says); `perRow` writes the row's loss from `mx`, `se`
 * and `base`, once per row (by thread 0 where a workgroup shares the row).
 */
function crossEntropyDispatch(ctx: WebGpuKernelContext, rows: number, classes: number, labels: WgslBinding, perRow: string): WgslDispatch {
  return rowDispatch({
    rows,
    len: classes,
    inner: 1,
    maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
    bindings: [{ ref: { input: 1 }, name: 'x', type: 'array<f32>' }, labels, { ref: { output: 0 }, name: 'loss', type: 'array<f32>' }],
    finish: (tree) => (tree ? `if (tid == 0u) { ${perRow} }` : perRow),
  });
}

/** The host check of a sparse cross entropy's labels: each in [0, classes), else a message naming the node. */
function labelCheck(op: string, node: string, classes: number): (value: { data: ArrayLike<number> }) => string | null {
  return (value) => {
    const d = value.data;
    for (let r = 0; r < d.length; r++) {
      if (!(d[r] >= 0 && d[r] < classes)) return `op '${op}' (node '${node}'): label ${d[r]} at row ${r} is outside the ${classes} classes [0, ${classes})`;
    }
    return null;
  };
}

/**
 * sparseSoftmaxCrossEntropyWithLogits: lse - logits[label] per row. A label outside [0, classes) is
 * an error: checked on the host before the run when the labels are a feed or a constant (the usual
 * case); labels computed on the device give a NaN loss for such a row.
 */
registerWebGpuKernel('sparseSoftmaxCrossEntropyWithLogits', (ctx) => {
  const [labels, logits] = ctx.inputs;
  requireDTypes({ ...ctx, inputs: [logits] }, ['float32']);
  const classes = logits.shape[logits.shape.length - 1];
  const rows = sizeOf(labels.shape);
  return {
    dispatches: [
      crossEntropyDispatch(
        ctx,
        rows,
        classes,
        { ref: { input: 0 }, name: 'labels', type: 'array<i32>' },
        `let label = labels[row];
    if (label < 0i || label >= ${classes}i) { loss[row] = gc_nan(); } else { loss[row] = mx + log(se) - x[base + u32(label)]; }`,
      ),
    ],
    hostChecks: [{ input: 0, check: labelCheck('sparseSoftmaxCrossEntropyWithLogits', ctx.node.name, classes) }],
  };
});

/**
 * sparseSoftmaxCrossEntropyWithLogitsGrad: dy * (softmax(logits) - onehot(label)) over each row, in
 * the row's one pass (a thread per short row, a workgroup per long one). Labels are checked on the
 * host as for the loss; a label outside [0, classes) computed on the device gives NaN for its row.
 */
registerWebGpuKernel('sparseSoftmaxCrossEntropyWithLogitsGrad', (ctx) => {
  const [labels, logits] = ctx.inputs;
  requireDTypes({ ...ctx, inputs: [logits] }, ['float32']);
  const classes = logits.shape[logits.shape.length - 1];
  const rows = sizeOf(labels.shape);
  const C = u32Lit(classes);
  return {
    dispatches: [
      rowDispatch({
        rows,
        len: classes,
        inner: 1,
        maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
        bindings: [
          { ref: { input: 1 }, name: 'x', type: 'array<f32>' },
          { ref: { input: 0 }, name: 'labels', type: 'array<i32>' },
          { ref: { input: 2 }, name: 'dy', type: 'array<f32>' },
          { ref: { output: 0 }, name: 'dx', type: 'array<f32>' },
        ],
        finish: (tree) => `let label = labels[row];
  let bad = label < 0i || label >= ${classes}i;
  let scale = dy[row] / se;
  for (var k = ${tree ? 'tid' : '0u'}; k < ${C}; k += ${tree ? `${WG}u` : '1u'}) {
    let p = exp(x[base + k] - mx) * scale;
    dx[base + k] = select(select(p, p - dy[row], i32(k) == label), gc_nan(), bad);
  }`,
      }),
    ],
    hostChecks: [{ input: 0, check: labelCheck('sparseSoftmaxCrossEntropyWithLogitsGrad', ctx.node.name, classes) }],
  };
});

/** softmaxCrossEntropyWithLogits: sum over classes of labels * (lse - logits). */
registerWebGpuKernel('softmaxCrossEntropyWithLogits', (ctx) => {
  requireDTypes(ctx, ['float32']);
  const logits = ctx.inputs[1];
  const classes = logits.shape[logits.shape.length - 1];
  const rows = sizeOf(ctx.outputs[0].shape);
  return {
    dispatches: [
      crossEntropyDispatch(
        ctx,
        rows,
        classes,
        { ref: { input: 0 }, name: 'z', type: 'array<f32>' },
        `let lse = mx + log(se);
    var acc = 0.0;
    for (var k = 0u; k < ${u32Lit(classes)}; k++) { acc += z[base + k] * (lse - x[base + k]); }
    loss[row] = acc;`,
      ),
    ],
  };
});
