import { TensorValue, ngramTable, ops, sizeOf, stridesOf } from '@graphc/graph';
import { KernelPlan, NoGpuKernel, WebGpuKernelContext, WgslDispatch, registerWebGpuKernel, requireDTypes } from '../kernel';
import { f32Lit, flatDispatch, i32Lit, u32Lit } from '../wgsl';
import { broadcastCopy, coords, dst, mapDispatch, movable, offsetOf, src } from './array';
import { valueType } from './elementwise';

/**
 * The array ops ONNX models bring (stridedSlice, expand, the element and N-d gathers and scatters,
 * trilu, reverseSequence, cumSum, topK): one thread per output element, shapes baked in. Values move
 * as 32-bit words wherever the op only copies them, so one kernel serves float32, int32, int64 (held
 * as i32) and bool. Indices read from the device are resolved as the CPU kernel does (negative from
 * the end); a fed or constant index out of range is the CPU's error, raised on the host before the
 * run; one computed on the device reads 0 (gathers) or is skipped (scatters).
 */
const U = u32Lit;
const I = i32Lit;

const axisOf = (ctx: WebGpuKernelContext, rank: number, fallback = 0): number => {
  const a = Number(ctx.attrs.axis ?? fallback);
  return a < 0 ? a + rank : a;
};

/** Host check of an index input: every index an integer in [-dim(j), dim(j)), `dims(j)` the bound of flat position j. */
function rangeCheck(ctx: WebGpuKernelContext, input: number, dimOf: (j: number) => number) {
  return {
    input,
    check: (value: TensorValue): string | null => {
      const d = value.data;
      for (let j = 0; j < d.length; j++) {
        const dim = dimOf(j);
        if (d[j] < -dim || d[j] >= dim || !Number.isInteger(d[j])) {
          return `op '${ctx.node.op}' (node '${ctx.node.name}'): index ${d[j]} (at flat position ${j} of indices '${ctx.node.inputs[input].name}') is out of range [${-dim}, ${dim})`;
        }
      }
      return null;
    },
  };
}

/** WGSL: `var <name> = <i32 expr>;` resolved against `dim` (negative from the end), `ok<name>` false when out of range. */
function resolveIndex(name: string, expr: string, dim: number): string {
  return `var ${name} = ${expr};
  if (${name} < 0i) { ${name} += ${I(dim)}; }
  let ok${name} = ${name} >= 0i && ${name} < ${I(dim)};`;
}

/** stridedSlice: output coordinate c reads begin + c * step in every dimension (steps may be negative). */
registerWebGpuKernel('stridedSlice', (ctx) => {
  movable(ctx);
  const x = ctx.inputs[0];
  const out = ctx.outputs[0];
  const begin = ctx.attrs.begin as number[];
  const step = ctx.attrs.strides as number[];
  const xs = stridesOf(x.shape);
  const base = begin.reduce((s, b, d) => s + b * xs[d], 0);
  if (sizeOf(out.shape) === 0) return { dispatches: [] };
  const terms = out.shape.map((_, d) => `i32(c${d}) * ${I(step[d] * xs[d])}`);
  const offset = [I(base), ...terms].join(' + ');
  const body = `${coords('i', out.shape)}\n  let v = src[u32(${offset})];`;
  return { dispatches: [mapDispatch(sizeOf(out.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [src(), dst()], body)] };
});

/** stridedSliceGrad(dy, x): each x position on the slice's lattice takes its dy element, the rest 0. */
registerWebGpuKernel('stridedSliceGrad', (ctx) => {
  movable(ctx);
  const [dy, x] = ctx.inputs;
  const begin = ctx.attrs.begin as number[];
  const step = ctx.attrs.strides as number[];
  if (sizeOf(dy.shape) > 0) {
    dy.shape.forEach((n, d) => {
      const last = begin[d] + (n - 1) * step[d];
      if (begin[d] < 0 || begin[d] >= x.shape[d] || last < 0 || last >= x.shape[d]) throw new NoGpuKernel('the slice runs outside x (the cpu kernel reports it)');
    });
  }
  const out = ctx.outputs[0];
  const dys = stridesOf(dy.shape);
  const lines = [coords('i', out.shape)];
  const conds: string[] = [];
  out.shape.forEach((_, d) => {
    lines.push(`let t${d} = i32(c${d}) - ${I(begin[d])}; let q${d} = t${d} / ${I(step[d])};`);
    conds.push(`t${d} % ${I(step[d])} == 0i && q${d} >= 0i && q${d} < ${I(dy.shape[d])}`);
  });
  const idx = offsetOf(out.shape.map((_, d) => [`u32(q${d})`, dys[d]]));
  lines.push('var v = 0u;');
  lines.push(`if (${sizeOf(dy.shape) > 0 ? conds.join(' && ') || 'true' : 'false'}) { v = src[${idx}]; }`);
  return { dispatches: [mapDispatch(sizeOf(out.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [src(), dst()], lines.join('\n  '))] };
});

/** expand: a broadcast copy. */
registerWebGpuKernel('expand', broadcastCopy);

/** gatherElements: out[c] = data[c with c[axis] = indices[c]]. */
registerWebGpuKernel('gatherElements', (ctx) => {
  movable(ctx);
  const [data, indices] = ctx.inputs;
  const rank = data.shape.length;
  const axis = axisOf(ctx, rank);
  if (indices.shape.some((d, i) => i !== axis && d > data.shape[i])) throw new NoGpuKernel('indices exceed data outside the axis (the cpu kernel reports it)');
  const ds = stridesOf(data.shape);
  const dim = data.shape[axis];
  const idx = offsetOf(indices.shape.map((_, d) => [d === axis ? 'u32(k)' : `c${d}`, ds[d]]));
  const body = `${coords('i', indices.shape)}
  ${resolveIndex('k', 'ids[i]', dim)}
  var v = 0u;
  if (okk) { v = src[${idx}]; }`;
  return {
    dispatches: [mapDispatch(sizeOf(indices.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [src(0), { ref: { input: 1 }, name: 'ids', type: 'array<i32>' }, dst()], body)],
    hostChecks: [rangeCheck(ctx, 1, () => dim)],
  };
});

/** gatherNd: each index tuple (after batchDims shared leading dimensions) selects a slice of data. */
registerWebGpuKernel('gatherNd', (ctx) => {
  movable(ctx);
  const [data, indices] = ctx.inputs;
  const out = ctx.outputs[0];
  const b = Number(ctx.attrs.batchDims ?? 0);
  const { q, strides: ds, slice, perBatch, batchStride } = ops.gatherNdGeometry(data.shape, indices.shape, b);
  if (sizeOf(out.shape) === 0) return { dispatches: [] };
  const lines = [`let tuple = i / ${U(slice)};`, `var at = i32((tuple / ${U(Math.max(perBatch, 1))}) * ${U(batchStride)} + i % ${U(slice)});`, 'var ok = true;'];
  for (let j = 0; j < q; j++) {
    lines.push(resolveIndex(`k${j}`, `ids[tuple * ${U(q)} + ${U(j)}]`, data.shape[b + j]));
    lines.push(`ok = ok && okk${j}; at += k${j} * ${I(ds[b + j])};`);
  }
  lines.push('var v = 0u;', 'if (ok) { v = src[u32(at)]; }');
  return {
    dispatches: [mapDispatch(sizeOf(out.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [src(0), { ref: { input: 1 }, name: 'ids', type: 'array<i32>' }, dst()], lines.join('\n  '))],
    hostChecks: q > 0 ? [rangeCheck(ctx, 1, (j) => data.shape[b + (j % q)])] : [],
  };
});

/**
 * How a scatter combines an update `u` into the current value `acc` (typed WGSL values), in the
 * CPU kernel's order: none overwrites (the last update wins), add and mul round after each update as
 * the CPU's typed-array store does, max and min propagate NaN as Math.max does.
 */
function combineOf(reduction: string, dtype: string): string {
  const float = dtype === 'float32';
  switch (reduction) {
    case 'none':
      return 'u';
    case 'add':
      return 'acc + u';
    case 'mul':
      return 'acc * u';
    case 'max':
      return float ? 'gc_max(acc, u)' : 'max(acc, u)';
    case 'min':
      return float ? 'gc_min(acc, u)' : 'min(acc, u)';
    default:
      throw new NoGpuKernel(`reduction '${reduction}' (the cpu kernel reports it)`);
  }
}

function scatterTypes(ctx: WebGpuKernelContext, reduction: string): string {
  const data = ctx.inputs[0];
  movable(ctx);
  if ((reduction === 'add' || reduction === 'mul') && data.dtype !== 'float32' && data.dtype !== 'int32') {
    throw new NoGpuKernel(`${data.dtype} ${reduction} scatter (arithmetic that can leave the range runs on the cpu)`);
  }
  return valueType(data.dtype);
}

/**
 * scatterElements: output element c starts from data[c] and folds in, in order, every update whose
 * position matches c outside the axis and whose index resolves to c[axis] (a loop over that axis of
 * the updates, so duplicates combine exactly as the CPU's sequential loop does).
 */
registerWebGpuKernel('scatterElements', (ctx) => {
  const [data, indices, updates] = ctx.inputs;
  const reduction = String(ctx.attrs.reduction ?? 'none');
  const type = scatterTypes(ctx, reduction);
  const rank = data.shape.length;
  const axis = axisOf(ctx, rank);
  if (indices.shape.some((d, i) => d !== updates.shape[i])) throw new NoGpuKernel('indices and updates differ in shape (the cpu kernel reports it)');
  if (indices.shape.some((d, i) => i !== axis && d > data.shape[i])) throw new NoGpuKernel('indices exceed data outside the axis (the cpu kernel reports it)');
  const combine = combineOf(reduction, data.dtype);
  const dim = data.shape[axis];
  const is = stridesOf(indices.shape);
  const out = ctx.outputs[0];
  const inside = indices.shape.map((d, k) => (k === axis ? '' : `c${k} < ${U(d)}`)).filter(Boolean);
  const base = offsetOf(indices.shape.map((_, k) => [k === axis ? '0u' : `c${k}`, is[k]]));
  const body = `${coords('i', out.shape)}
  var acc = data[i];
  if (${inside.join(' && ') || 'true'}) {
    let base = ${base};
    for (var p = 0u; p < ${U(indices.shape[axis])}; p++) {
      let at = base + p * ${U(is[axis])};
      var k = ids[at];
      if (k < 0i) { k += ${I(dim)}; }
      if (k == i32(c${axis})) { let u = upd[at]; acc = ${combine}; }
    }
  }
  dst[i] = acc;`;
  return scatterPlan(ctx, type, body, [rangeCheck(ctx, 1, () => dim)]);
});

/**
 * scatterNd: output element o starts from data[o] and folds in, in tuple order, the update of every
 * index tuple that resolves to o's leading q coordinates.
 */
registerWebGpuKernel('scatterNd', (ctx) => {
  const [data, indices] = ctx.inputs;
  const reduction = String(ctx.attrs.reduction ?? 'none');
  const type = scatterTypes(ctx, reduction);
  const combine = combineOf(reduction, data.dtype);
  const q = indices.shape[indices.shape.length - 1];
  const slice = sizeOf(data.shape.slice(q));
  const tuples = sizeOf(indices.shape.slice(0, -1));
  const ds = stridesOf(data.shape);
  const match: string[] = [];
  for (let j = 0; j < q; j++) {
    const dim = data.shape[j];
    match.push(`var k${j} = ids[t * ${U(q)} + ${U(j)}]; if (k${j} < 0i) { k${j} += ${I(dim)}; }`);
    match.push(`hit = hit && k${j} == i32((i / ${U(ds[j])}) % ${U(dim)});`);
  }
  const body = `var acc = data[i];
  let r = i % ${U(Math.max(slice, 1))};
  for (var t = 0u; t < ${U(tuples)}; t++) {
    var hit = true;
    ${match.join('\n    ')}
    if (hit) { let u = upd[t * ${U(slice)} + r]; acc = ${combine}; }
  }
  dst[i] = acc;`;
  return scatterPlan(ctx, type, body, q > 0 ? [rangeCheck(ctx, 1, (j) => data.shape[j % q])] : []);
});

/**
 * A scatter's one dispatch, a thread per element `i` of the output running `body`: data, indices (as
 * i32) and updates in, the scattered copy out.
 */
function scatterPlan(ctx: WebGpuKernelContext, type: string, body: string, hostChecks: KernelPlan['hostChecks']): KernelPlan {
  const bindings = [
    { ref: { input: 0 }, name: 'data', type: `array<${type}>` },
    { ref: { input: 1 }, name: 'ids', type: 'array<i32>' },
    { ref: { input: 2 }, name: 'upd', type: `array<${type}>` },
    { ref: { output: 0 }, name: 'dst', type: `array<${type}>` },
  ];
  const n = sizeOf(ctx.outputs[0].shape);
  return { dispatches: [flatDispatch({ n, maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, bindings, body })], hostChecks };
}

/** trilu: element (r, c) of each matrix kept where c - r >= k (upper) or <= k (lower), else 0. */
registerWebGpuKernel('trilu', (ctx) => {
  movable(ctx);
  const out = ctx.outputs[0];
  const rank = out.shape.length;
  const rows = out.shape[rank - 2];
  const cols = out.shape[rank - 1];
  const k = Number(ctx.attrs.k ?? 0);
  const upper = ctx.attrs.upper !== false;
  const body = `let c = i32(i % ${U(Math.max(cols, 1))});
  let r = i32((i / ${U(Math.max(cols, 1))}) % ${U(Math.max(rows, 1))});
  let v = select(0u, src[i], c - r ${upper ? '>=' : '<='} ${I(k)});`;
  return { dispatches: [mapDispatch(sizeOf(out.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [src(), dst()], body)] };
});

/** reverseSequence: along the time axis, step t < lengths[b] reads step lengths[b] - 1 - t; the rest copy. */
registerWebGpuKernel('reverseSequence', (ctx) => {
  movable(ctx);
  const [x, lengths] = ctx.inputs;
  const t = Number(ctx.attrs.timeAxis ?? 0);
  const b = Number(ctx.attrs.batchAxis ?? 1);
  const steps = x.shape[t];
  const batch = x.shape[b];
  if (sizeOf(lengths.shape) !== batch) throw new NoGpuKernel('lengths do not match the batch (the cpu kernel reports it)');
  const xs = stridesOf(x.shape);
  const body = `${coords('i', x.shape)}
  let len = lens[c${b}];
  var ts = c${t};
  if (len >= 0i && len <= ${I(steps)} && i32(c${t}) < len) { ts = u32(len) - 1u - c${t}; }
  let v = src[i + ts * ${U(xs[t])} - c${t} * ${U(xs[t])}];`;
  return {
    dispatches: [mapDispatch(sizeOf(x.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [src(0), { ref: { input: 1 }, name: 'lens', type: 'array<i32>' }, dst()], body)],
    hostChecks: [
      {
        input: 1,
        check: (value: TensorValue) => {
          for (const len of value.data) {
            if (len < 0 || len > steps) return `op 'reverseSequence' (node '${ctx.node.name}'): length ${len} is outside [0, ${steps}]`;
          }
          return null;
        },
      },
    ],
  };
});

/**
 * cumSum: a thread per line along the axis, summing in order (from the end with `reverse`; the sum
 * before the element with `exclusive`); lines of CUMSUM_SCAN_MIN_DIM or more a workgroup each
 * (cumSumScan). Integer sums wrap as the CPU's Int32Array store does; int64 sums can leave the
 * 32-bit range and run on the CPU.
 */
registerWebGpuKernel('cumSum', (ctx): KernelPlan => {
  requireDTypes(ctx, ['float32', 'int32']);
  const x = ctx.inputs[0];
  const type = valueType(x.dtype);
  const rank = x.shape.length;
  const axis = axisOf(ctx, rank);
  const dim = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const lines = dim === 0 ? 0 : sizeOf(x.shape) / dim;
  const exclusive = ctx.attrs.exclusive === true;
  const reverse = ctx.attrs.reverse === true;
  if (lines > 0 && dim >= CUMSUM_SCAN_MIN_DIM) return { dispatches: [cumSumScan(type, dim, inner, lines, exclusive, reverse, ctx.limits.maxComputeWorkgroupsPerDimension)] };
  const j = reverse ? `${U(dim - 1)} - s` : 's';
  if (lines === 0) return { dispatches: [] };
  const dispatch = flatDispatch({
    n: lines,
    maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
    index: 'line',
    bindings: [
      { ref: { input: 0 }, name: 'x', type: `array<${type}>` },
      { ref: { output: 0 }, name: 'y', type: `array<${type}>` },
    ],
    body: `let base = (line / ${U(inner)}) * ${U(dim * inner)} + line % ${U(inner)};
  var sum = ${type}(0);
  for (var s = 0u; s < ${U(dim)}; s++) {
    let at = base + (${j}) * ${U(inner)};
    ${exclusive ? 'let v = x[at]; y[at] = sum; sum += v;' : 'sum += x[at]; y[at] = sum;'}
  }`,
  });
  return { dispatches: [dispatch] };
});

const CUMSUM_SCAN_MIN_DIM = 1024;
const SCAN_WG = 256;

/**
 * cumSum of long lines: a workgroup per line. Each thread sums a contiguous chunk of the line (in
 * the scan's order), the workgroup scans the chunk sums (Hillis-Steele in workgroup memory), and
 * each thread walks its chunk again from its chunk's prefix, storing the running sums. Float sums
 * round along a tree of chunk sums rather than one long chain, which keeps them closer to the CPU's
 * float64 running sum than the thread-per-line loop; int32 sums wrap, so any order is exact.
 */
function cumSumScan(type: string, dim: number, inner: number, lines: number, exclusive: boolean, reverse: boolean, maxPerDim: number): WgslDispatch {
  const chunk = Math.ceil(dim / SCAN_WG);
  const gx = Math.min(lines, maxPerDim);
  const gy = Math.ceil(lines / gx);
  if (gy > maxPerDim) throw new NoGpuKernel(`cumSum: ${lines} lines exceed the device's workgroup grid`);
  const at = (s: string) => `base + (${reverse ? `${U(dim - 1)} - ${s}` : s}) * ${U(inner)}`;
  const body = `
var<workgroup> part: array<${type}, ${SCAN_WG}>;

@compute @workgroup_size(${SCAN_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let line = wid.x + wid.y * ${U(gx)};
  let valid = line < ${U(lines)};
  let base = (line / ${U(inner)}) * ${U(dim * inner)} + line % ${U(inner)};
  let first = tid * ${U(chunk)};
  let last = min(first + ${U(chunk)}, ${U(dim)});
  var sum = ${type}(0);
  if (valid) {
    for (var s = first; s < last; s++) { sum += x[${at('s')}]; }
  }
  part[tid] = sum;
  workgroupBarrier();
  for (var off = 1u; off < ${U(SCAN_WG)}; off <<= 1u) {
    var v = part[tid];
    if (tid >= off) { v += part[tid - off]; }
    workgroupBarrier();
    part[tid] = v;
    workgroupBarrier();
  }
  if (valid) {
    var run = select(${type}(0), part[max(tid, 1u) - 1u], tid > 0u);
    for (var s = first; s < last; s++) {
      let to = ${at('s')};
      ${exclusive ? 'let v = x[to]; y[to] = run; run += v;' : 'run += x[to]; y[to] = run;'}
    }
  }
}`;
  return {
    bindings: [
      { ref: { input: 0 }, name: 'x', type: `array<${type}>` },
      { ref: { output: 0 }, name: 'y', type: `array<${type}>` },
    ],
    body,
    workgroups: [gx, gy, 1],
  };
}

/**
 * topK: a thread per element computes its rank in a stable sort of its row (NaN counts as the
 * largest value, equal keys keep index order) and, when the rank is below k, writes its value and
 * index there: every output slot has exactly one writer.
 */
registerWebGpuKernel('topK', (ctx) => {
  const x = ctx.inputs[0];
  requireDTypes({ ...ctx, inputs: [x], outputs: [ctx.outputs[0]] }, ['float32', 'int32', 'int64']);
  const type = valueType(x.dtype);
  const rank = x.shape.length;
  const axis = axisOf(ctx, rank, -1);
  const k = Number(ctx.attrs.k);
  const largest = ctx.attrs.largest !== false;
  const dim = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const n = sizeOf(x.shape);
  const key = x.dtype === 'float32' ? (v: string) => `select(${v}, gc_inf(), gc_isnan(${v}))` : (v: string) => v;
  // q goes before j: a strictly better key, or an equal one at a lower index
  const better = largest ? 'kq > kj' : 'kq < kj';
  const body = `let o = i / ${U(dim * inner)};
  let j = (i / ${U(inner)}) % ${U(dim)};
  let r = i % ${U(inner)};
  let base = o * ${U(dim * inner)} + r;
  let xj = x[i];
  let kj = ${key('xj')};
  var rank = 0u;
  for (var q = 0u; q < ${U(dim)}; q++) {
    let xq = x[base + q * ${U(inner)}];
    let kq = ${key('xq')};
    if (${better} || (kq == kj && q < j)) { rank++; }
  }
  if (rank < ${U(k)}) {
    let at = o * ${U(k * inner)} + rank * ${U(inner)} + r;
    values[at] = xj;
    indices[at] = i32(j);
  }`;
  const bindings = [
    { ref: { input: 0 }, name: 'x', type: `array<${type}>` },
    { ref: { output: 0 }, name: 'values', type: `array<${type}>` },
    { ref: { output: 1 }, name: 'indices', type: 'array<i32>' },
  ];
  if (n === 0 || k === 0) return { dispatches: [] };
  // long rows and a small k (logits over a vocabulary, top-5): k selection passes per row instead of
  // a dim-long rank loop per element; the same order, so the same result
  if (dim >= TOPK_SELECT_MIN_DIM && k <= TOPK_SELECT_MAX_K) {
    return { dispatches: [topKSelection(x.dtype, type, dim, inner, n / (dim * inner), k, largest, key, ctx.limits.maxComputeWorkgroupsPerDimension, bindings)] };
  }
  return { dispatches: [flatDispatch({ n, maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, bindings, body })] };
});

const TOPK_SELECT_MIN_DIM = 512;
const TOPK_SELECT_MAX_K = 32;

/**
 * topK by selection: a workgroup per row makes k passes; pass t finds, with a workgroup tree, the
 * element that comes first (better key, then lower index) among those after pass t-1's pick in that
 * order. O(k * dim / 256) per thread instead of O(dim).
 */
function topKSelection(
  dtype: string,
  type: string,
  dim: number,
  inner: number,
  outer: number,
  k: number,
  largest: boolean,
  key: (v: string) => string,
  maxPerDim: number,
  bindings: WgslDispatch['bindings'],
): WgslDispatch {
  const rows = outer * inner;
  const gx = Math.min(rows, maxPerDim);
  const gy = Math.ceil(rows / gx);
  if (gy > maxPerDim) throw new NoGpuKernel(`topK: ${rows} rows exceed the device's workgroup grid`);
  const worse = dtype === 'float32' ? (largest ? '-gc_inf()' : 'gc_inf()') : largest ? '-2147483647i - 1i' : '2147483647i';
  // (ka, ia) comes before (kb, ib): a better key, or an equal one at a lower index
  const before = (ka: string, ia: string, kb: string, ib: string): string => `(${largest ? `${ka} > ${kb}` : `${ka} < ${kb}`} || (${ka} == ${kb} && ${ia} < ${ib}))`;
  const body = `
var<workgroup> wk: array<${type}, 256>;
var<workgroup> wi: array<u32, 256>;
var<workgroup> prevK: ${type};
var<workgroup> prevI: u32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.x + wid.y * ${U(gx)};
  let valid = row < ${U(rows)};
  let o = row / ${U(inner)};
  let r = row % ${U(inner)};
  let base = o * ${U(dim * inner)} + r;
  for (var t = 0u; t < ${U(k)}; t++) {
    // none: index ${U(dim)}, after every real element in the order
    var bk: ${type} = ${worse};
    var bi = ${U(dim)};
    if (valid) {
      let pk = prevK;
      let pi = prevI;
      for (var q = tid; q < ${U(dim)}; q += 256u) {
        let xq = x[base + q * ${U(inner)}];
        let kq = ${key('xq')};
        if ((t == 0u || ${before('pk', 'pi', 'kq', 'q')}) && ${before('kq', 'q', 'bk', 'bi')}) { bk = kq; bi = q; }
      }
    }
    wk[tid] = bk;
    wi[tid] = bi;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
      if (tid < s && ${before('wk[tid + s]', 'wi[tid + s]', 'wk[tid]', 'wi[tid]')}) { wk[tid] = wk[tid + s]; wi[tid] = wi[tid + s]; }
      workgroupBarrier();
    }
    if (tid == 0u) {
      prevK = wk[0];
      prevI = wi[0];
      if (valid) {
        let at = o * ${U(k * inner)} + t * ${U(inner)} + r;
        values[at] = x[base + wi[0] * ${U(inner)}];
        indices[at] = i32(wi[0]);
      }
    }
    workgroupBarrier();
  }
}`;
  return { bindings, body, workgroups: [gx, gy, 1] };
}

/** Pool entries (tokens plus per-n-gram table rows) a tfIdfVectorizer kernel may bake in; beyond, the CPU fallback. */
const TF_IDF_MAX_TABLE = 1 << 16;

/**
 * tfIdfVectorizer: a thread per output element (row, output index) counts, in the row, each pool
 * n-gram that adds there (the n-grams grouped by output index as constant tables), trying every
 * start, and for n >= 2 every skip, then weights the count as the mode says.
 */
registerWebGpuKernel('tfIdfVectorizer', (ctx) => {
  requireDTypes({ ...ctx, outputs: [] }, ['int32', 'int64']); // the tokens; the output is float32
  const x = ctx.inputs[0];
  const out = ctx.outputs[0];
  const total = sizeOf(out.shape);
  if (total === 0) return { dispatches: [] };
  const { ngrams, width, mode, minGramLength, maxGramLength, maxSkipCount } = ngramTable(ctx.attrs, `op 'tfIdfVectorizer' (node '${ctx.node.name}'): `);
  const length = x.shape[x.shape.length - 1];
  const tokens: number[] = [];
  const starts: number[] = [];
  for (const g of ngrams) {
    starts.push(tokens.length);
    tokens.push(...g.tokens);
  }
  if (tokens.length + 4 * ngrams.length > TF_IDF_MAX_TABLE) throw new NoGpuKernel(`a pool of ${ngrams.length} n-grams (more than the kernel's constant tables hold)`);
  if (tokens.some((t) => t < -(2 ** 31) || t >= 2 ** 31)) throw new NoGpuKernel('a pool token outside the device int range');
  // n-gram ids by output index (CSR): output o's are BY_OUT[OUT_START[o] .. OUT_START[o + 1])
  const byOut = ngrams.map((_, id) => id).sort((a, b) => ngrams[a].output - ngrams[b].output || a - b);
  const outStart = new Array(width + 1).fill(0);
  for (const g of ngrams) outStart[g.output + 1]++;
  for (let o = 0; o < width; o++) outStart[o + 1] += outStart[o];
  const table = (name: string, type: string, values: number[], lit: (v: number) => string) => `const ${name} = array<${type}, ${values.length}>(${values.map(lit).join(', ')});`;
  const decls = [
    table('POOL', 'i32', tokens, I),
    table('START', 'u32', starts, U),
    table('LEN', 'u32', ngrams.map((g) => g.tokens.length), U),
    table('WEIGHT', 'f32', ngrams.map((g) => g.weight), f32Lit),
    table('BY_OUT', 'u32', byOut, U),
    table('OUT_START', 'u32', outStart, U),
  ];
  const weighted = mode === 'TF' ? 'c' : mode === 'IDF' ? 'select(0.0, WEIGHT[g], c > 0.0)' : 'c * WEIGHT[g]';
  const body = `let r = i / ${U(width)};
  let o = i % ${U(width)};
  let row = r * ${U(length)};
  var acc = 0.0;
  for (var k = OUT_START[o]; k < OUT_START[o + 1u]; k++) {
    let g = BY_OUT[k];
    let n = LEN[g];
    let s = START[g];
    if (n < ${U(minGramLength)} || n > ${U(maxGramLength)}) { continue; }
    var c = 0.0;
    // a 1-gram counts once per position; longer ones once per start and skip
    let steps = select(${U(maxSkipCount + 1)}, 1u, n == 1u);
    for (var d = 1u; d <= steps; d++) {
      for (var p = 0u; p + (n - 1u) * d < ${U(length)}; p++) {
        var hit = true;
        for (var t = 0u; t < n; t++) {
          if (bitcast<i32>(X[row + p + t * d]) != POOL[s + t]) { hit = false; break; }
        }
        if (hit) { c += 1.0; }
      }
    }
    acc += ${weighted};
  }
  Y[i] = acc;`;
  const bindings = [
    { ref: { input: 0 }, name: 'X', type: 'array<u32>' },
    { ref: { output: 0 }, name: 'Y', type: 'array<f32>' },
  ];
  return { dispatches: [flatDispatch({ n: total, maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, bindings, decls: `\n${decls.join('\n')}`, body })] };
});
