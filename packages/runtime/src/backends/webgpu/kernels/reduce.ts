import { DType, sizeOf } from '@graphc/graph';
import { GpuTensorInfo, KernelPlan, NoGpuKernel, WebGpuKernelContext, WgslDispatch, registerWebGpuKernel } from '../kernel';
import { f32Lit, flatDispatch, u32Lit } from '../wgsl';
import { valueType } from './elementwise';

/**
 * Reductions: the input is seen as alternating runs of kept and reduced dimensions; an output
 * element's input offset comes from its kept coordinates, the reduction walks the reduced ones.
 *
 * - Few long reductions: a workgroup of 256 threads per output (and per chunk of the reduction when
 *   it is very long), each thread folding a strided share, then a tree over workgroup memory; the
 *   chunks' partial results are folded by a second dispatch.
 * - Many short ones: one thread per output, consecutive threads on consecutive outputs.
 *
 * NaN propagates through max and min, as the CPU reference's. Integer sums wrap as i32 (as the CPU's
 * int32 results do); int64 sums, products and means, and int32 products and means (whose CPU results
 * come from exact doubles) run through the CPU fallback.
 */
export type ReduceKind = 'sum' | 'mean' | 'max' | 'min' | 'prod';

interface Runs {
  kept: { size: number; stride: number }[];
  reduced: { size: number; stride: number }[];
}

/** The input as kept and reduced runs (merged neighbours, size-1 dimensions dropped). */
export function reductionRuns(shape: number[], axes: Set<number>): Runs {
  const strides: number[] = new Array(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  const runs: { size: number; stride: number; reduced: boolean }[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const reduced = axes.has(i);
    const last = runs[runs.length - 1];
    if (last && last.reduced === reduced) {
      last.size *= d;
      last.stride = strides[i];
    } else runs.push({ size: d, stride: strides[i], reduced });
  });
  return {
    kept: runs.filter((r) => !r.reduced).map(({ size, stride }) => ({ size, stride })),
    reduced: runs.filter((r) => r.reduced).map(({ size, stride }) => ({ size, stride })),
  };
}

/** WGSL expression of the input offset of flat index `i` over `runs` (row-major over their sizes). */
export function runOffset(i: string, runs: { size: number; stride: number }[]): string {
  if (runs.length === 0) return '0u';
  const terms: string[] = [];
  let inner = 1;
  for (let k = runs.length - 1; k >= 0; k--) {
    const { size, stride } = runs[k];
    let coord = inner === 1 ? i : `(${i} / ${u32Lit(inner)})`;
    if (k > 0) coord = `(${coord} % ${u32Lit(size)})`;
    terms.push(stride === 1 ? coord : `${coord} * ${u32Lit(stride)}`);
    inner *= size;
  }
  return terms.join(' + ');
}

function identity(kind: ReduceKind, type: 'f32' | 'i32'): string {
  switch (kind) {
    case 'sum':
    case 'mean':
      return type === 'f32' ? '0.0' : '0i';
    case 'prod':
      return type === 'f32' ? '1.0' : '1i';
    case 'max':
      return type === 'f32' ? '(-gc_inf())' : 'i32(-2147483648)';
    case 'min':
      return type === 'f32' ? 'gc_inf()' : '2147483647i';
  }
}

function combineFn(kind: ReduceKind, type: 'f32' | 'i32'): string {
  // a NaN accumulator stays; a NaN value takes over (comparisons alone may be folded as NaN-free)
  const guard = (cmp: string): string => (type === 'f32' ? `!gc_isnan(a) && (${cmp} || gc_isnan(b))` : cmp);
  switch (kind) {
    case 'sum':
    case 'mean':
      return `fn combine(a: ${type}, b: ${type}) -> ${type} { return a + b; }`;
    case 'prod':
      return `fn combine(a: ${type}, b: ${type}) -> ${type} { return a * b; }`;
    case 'max':
      return `fn combine(a: ${type}, b: ${type}) -> ${type} { return select(a, b, ${guard('b > a')}); }`;
    case 'min':
      return `fn combine(a: ${type}, b: ${type}) -> ${type} { return select(a, b, ${guard('b < a')}); }`;
  }
}

function checkDType(kind: ReduceKind, dtype: DType): 'f32' | 'i32' {
  const t = valueType(dtype);
  if (t === 'u32') throw new NoGpuKernel('reduction of bool');
  if (dtype === 'int64' && kind !== 'max' && kind !== 'min') throw new NoGpuKernel(`int64 ${kind} can leave the 32-bit range int64 is held in on the device`);
  if (dtype === 'int32' && (kind === 'prod' || kind === 'mean')) throw new NoGpuKernel(`int32 ${kind} (the CPU computes it exactly in doubles)`);
  return t as 'f32' | 'i32';
}

const WG = 256;
/** Reduction length above which a workgroup (rather than a thread) takes each output. */
const TREE_MIN = 128;
/** Elements one workgroup folds before the reduction is split into chunks. */
const CHUNK = 16384;

/** Dispatches reducing `input` over `axes` into an output of `outSize` elements (any shape with the kept order). */
export function reduceDispatches(kind: ReduceKind, input: GpuTensorInfo, axes: Set<number>, outSize: number, maxPerDim: number): KernelPlan {
  const type = checkDType(kind, input.dtype);
  const runs = reductionRuns(input.shape, axes);
  const r = sizeOf(runs.reduced.map((x) => x.size));
  const count = r;
  const finalize = (acc: string): string =>
    kind === 'mean' ? (count === 0 ? 'gc_nan()' : `(${acc} / ${f32Lit(count)})`) : acc;
  const helpers = combineFn(kind, type);
  const keptOffset = (o: string): string => runOffset(o, runs.kept);
  const redOffset = (i: string): string => runOffset(i, runs.reduced);
  const bindings = (final: boolean, scratch: boolean) => [
    { ref: { input: 0 }, name: 'src', type: `array<${type}>` },
    scratch && !final ? { ref: { scratch: 0 }, name: 'dst', type: `array<${type}>` } : { ref: { output: 0 }, name: 'dst', type: `array<${type}>` },
  ];
  if (r >= TREE_MIN && columnwise(runs)) return columnDispatches(kind, type, runs, r, outSize, maxPerDim, finalize);
  if (r < TREE_MIN || outSize > 65535 * 4) {
    return {
      dispatches: [
        flatDispatch({
          n: outSize,
          maxPerDim,
          index: 'o',
          bindings: bindings(true, false),
          decls: `\n${helpers}`,
          body: `let base = ${keptOffset('o')};
  var acc = ${identity(kind, type)};
  for (var i = 0u; i < ${u32Lit(r)}; i++) { acc = combine(acc, src[base + ${redOffset('i')}]); }
  dst[o] = ${finalize('acc')};`,
        }),
      ],
    };
  }
  const chunks = Math.min(256, Math.ceil(r / CHUNK));
  const per = Math.ceil(r / chunks);
  const oy = Math.min(outSize, maxPerDim);
  const oz = Math.ceil(outSize / oy);
  const tree: WgslDispatch = {
    bindings: bindings(chunks === 1, chunks > 1),
    body: `
${helpers}
var<workgroup> part: array<${type}, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let o = wid.y + wid.z * ${u32Lit(oy)};
  let c = wid.x;
  let valid = o < ${u32Lit(outSize)};
  let base = ${keptOffset('o')};
  var acc = ${identity(kind, type)};
  let r1 = min((c + 1u) * ${u32Lit(per)}, ${u32Lit(r)});
  if (valid) {
    for (var i = c * ${u32Lit(per)} + tid; i < r1; i += ${WG}u) { acc = combine(acc, src[base + ${redOffset('i')}]); }
  }
  part[tid] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (tid < s) { part[tid] = combine(part[tid], part[tid + s]); }
    workgroupBarrier();
  }
  if (tid == 0u && valid) { ${chunks === 1 ? `dst[o] = ${finalize('part[0]')};` : `dst[c * ${u32Lit(outSize)} + o] = part[0];`} }
}`,
    workgroups: [chunks, oy, oz],
  };
  if (chunks === 1) return { dispatches: [tree] };
  return { dispatches: [tree, foldChunks(type, helpers, outSize, chunks, maxPerDim, finalize)], scratch: [outSize * chunks * 4] };
}

/**
 * The second dispatch of a reduction split into chunks: the partial results lie chunk-major in the
 * scratch buffer (chunk c of output o at c * outSize + o), and a thread per output folds them.
 */
function foldChunks(type: 'f32' | 'i32', helpers: string, outSize: number, chunks: number, maxPerDim: number, finalize: (acc: string) => string): WgslDispatch {
  return flatDispatch({
    n: outSize,
    maxPerDim,
    index: 'o',
    bindings: [
      { ref: { scratch: 0 }, name: 'src', type: `array<${type}>` },
      { ref: { output: 0 }, name: 'dst', type: `array<${type}>` },
    ],
    decls: `\n${helpers}`,
    body: `var acc = src[o];
  for (var c = 1u; c < ${u32Lit(chunks)}; c++) { acc = combine(acc, src[c * ${u32Lit(outSize)} + o]); }
  dst[o] = ${finalize('acc')};`,
  });
}

/**
 * Whether the reduction walks outer dimensions of contiguous kept rows (a bias gradient: [rows, C]
 * summed over rows): then consecutive outputs read consecutive addresses, and one thread per output
 * and chunk of rows reads memory coalesced, where a workgroup per output would read it strided.
 */
function columnwise(runs: Runs): boolean {
  if (runs.kept.length === 0 || runs.kept[runs.kept.length - 1].stride !== 1) return false;
  const keptInner = runs.kept[runs.kept.length - 1].size;
  return runs.reduced.every((run) => run.stride >= keptInner);
}

/** Rows one thread folds in the column form before the rows are split into chunks. */
const COLUMN_ROWS = 64;

/**
 * The column form: thread (o, c) folds rows [c * per, (c + 1) * per) of output o, consecutive
 * threads on consecutive outputs; a second dispatch folds the chunks, also by consecutive outputs.
 */
function columnDispatches(
  kind: ReduceKind,
  type: 'f32' | 'i32',
  runs: Runs,
  r: number,
  outSize: number,
  maxPerDim: number,
  finalize: (acc: string) => string,
): KernelPlan {
  const chunks = Math.min(256, Math.ceil(r / COLUMN_ROWS));
  const per = Math.ceil(r / chunks);
  const helpers = combineFn(kind, type);
  const partial = flatDispatch({
    n: outSize * chunks,
    maxPerDim,
    index: 't',
    bindings: [
      { ref: { input: 0 }, name: 'src', type: `array<${type}>` },
      chunks > 1 ? { ref: { scratch: 0 }, name: 'dst', type: `array<${type}>` } : { ref: { output: 0 }, name: 'dst', type: `array<${type}>` },
    ],
    decls: `\n${helpers}`,
    body: `let o = t % ${u32Lit(outSize)};
  let c = t / ${u32Lit(outSize)};
  let base = ${runOffset('o', runs.kept)};
  var acc = ${identity(kind, type)};
  let end = min((c + 1u) * ${u32Lit(per)}, ${u32Lit(r)});
  for (var i = c * ${u32Lit(per)}; i < end; i++) { acc = combine(acc, src[base + ${runOffset('i', runs.reduced)}]); }
  dst[t] = ${chunks > 1 ? 'acc' : finalize('acc')};`,
  });
  if (chunks === 1) return { dispatches: [partial] };
  return { dispatches: [partial, foldChunks(type, helpers, outSize, chunks, maxPerDim, finalize)], scratch: [outSize * chunks * 4] };
}

const KINDS: [string, ReduceKind][] = [
  ['reduceSum', 'sum'],
  ['reduceMean', 'mean'],
  ['reduceMax', 'max'],
  ['reduceMin', 'min'],
  ['reduceProd', 'prod'],
];

for (const [op, kind] of KINDS) {
  registerWebGpuKernel(op, (ctx: WebGpuKernelContext) => {
    const x = ctx.inputs[0];
    const rank = x.shape.length;
    const axes = new Set(rank === 0 ? [] : (ctx.attrs.axes as number[]).map((a) => (a < 0 ? a + rank : a)));
    return reduceDispatches(kind, x, axes, sizeOf(ctx.outputs[0].shape), ctx.limits.maxComputeWorkgroupsPerDimension);
  });
}

/** sumToShapeOf(x, like): a sum over the dimensions where `like` is 1 or missing. */
registerWebGpuKernel('sumToShapeOf', (ctx) => {
  const [x, like] = ctx.inputs;
  const offset = x.shape.length - like.shape.length;
  const axes = new Set<number>();
  x.shape.forEach((d, i) => {
    if (i < offset || (like.shape[i - offset] === 1 && d !== 1)) axes.add(i);
  });
  return reduceDispatches('sum', x, axes, sizeOf(ctx.outputs[0].shape), ctx.limits.maxComputeWorkgroupsPerDimension);
});

/** argMax/argMin: one thread per output walks the axis; the first extreme wins, a NaN beats any number. */
for (const [op, cmp] of [
  ['argMax', '>'],
  ['argMin', '<'],
] as const) {
  registerWebGpuKernel(op, (ctx) => {
    const x = ctx.inputs[0];
    const type = valueType(x.dtype);
    if (type === 'u32') throw new NoGpuKernel(`${op} of bool`);
    const rank = x.shape.length;
    const a = ctx.attrs.axis as number;
    const axis = a < 0 ? a + rank : a;
    const dim = x.shape[axis];
    const inner = sizeOf(x.shape.slice(axis + 1));
    const outSize = sizeOf(ctx.outputs[0].shape);
    const better = type === 'f32' ? `!gc_isnan(best) && (v ${cmp} best || gc_isnan(v))` : `v ${cmp} best`;
    return {
      dispatches: [
        flatDispatch({
          n: outSize,
          maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
          index: 'o',
          bindings: [
            { ref: { input: 0 }, name: 'src', type: `array<${type}>` },
            { ref: { output: 0 }, name: 'dst', type: 'array<i32>' },
          ],
          body: `let base = (o / ${u32Lit(inner)}) * ${u32Lit(dim * inner)} + o % ${u32Lit(inner)};
  var best = src[base];
  var at = 0i;
  for (var k = 1u; k < ${u32Lit(dim)}; k++) {
    let v = src[base + k * ${u32Lit(inner)}];
    if (${better}) { best = v; at = i32(k); }
  }
  dst[o] = at;`,
        }),
      ],
    };
  });
}
