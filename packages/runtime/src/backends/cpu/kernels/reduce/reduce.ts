import { Attrs, DType, TensorValue, TypedArray, isInteger } from '@graphc/graph';
import { KernelContext, registerCpuKernel } from '../../kernel';
import { sumRowsSimd } from '../../wasm-reduce';

/**
 * Reductions walk the input once, in memory order, over the shape collapsed into alternating runs of
 * reduced and kept dimensions. The innermost run decides the loop: a reduced one folds a contiguous
 * block into one accumulator, a kept one folds a contiguous block into a row of accumulators. Either
 * way the inner loop is sequential and allocation-free; accumulators are doubles.
 */
interface Reducer {
  identity(dtype: DType): number;
  /** Folds src[p .. p+n) into `acc`. */
  fold(src: TypedArray, p: number, n: number, acc: number): number;
  /** acc[o + k] = combine(acc[o + k], src[p + k]) for k < n. */
  foldRow(src: TypedArray, p: number, n: number, acc: Float64Array, o: number): void;
}

const sum: Reducer = {
  identity: () => 0,
  fold(src, p, n, acc) {
    for (let k = 0; k < n; k++) acc += src[p + k];
    return acc;
  },
  foldRow(src, p, n, acc, o) {
    for (let k = 0; k < n; k++) acc[o + k] += src[p + k];
  },
};

const prod: Reducer = {
  identity: () => 1,
  fold(src, p, n, acc) {
    for (let k = 0; k < n; k++) acc *= src[p + k];
    return acc;
  },
  foldRow(src, p, n, acc, o) {
    for (let k = 0; k < n; k++) acc[o + k] *= src[p + k];
  },
};

// NaN propagates (as `maximum`): once the accumulator is NaN no comparison replaces it
const max: Reducer = {
  identity: (dt) => (dt === 'int32' ? -2147483648 : dt === 'int64' ? -9223372036854775808 : -Infinity),
  fold(src, p, n, acc) {
    for (let k = 0; k < n; k++) {
      const v = src[p + k];
      if (v > acc || v !== v) acc = v;
    }
    return acc;
  },
  foldRow(src, p, n, acc, o) {
    for (let k = 0; k < n; k++) {
      const v = src[p + k];
      if (v > acc[o + k] || v !== v) acc[o + k] = v;
    }
  },
};

const min: Reducer = {
  identity: (dt) => (dt === 'int32' ? 2147483647 : dt === 'int64' ? 9223372036854775807 : Infinity),
  fold(src, p, n, acc) {
    for (let k = 0; k < n; k++) {
      const v = src[p + k];
      if (v < acc || v !== v) acc = v;
    }
    return acc;
  },
  foldRow(src, p, n, acc, o) {
    for (let k = 0; k < n; k++) {
      const v = src[p + k];
      if (v < acc[o + k] || v !== v) acc[o + k] = v;
    }
  },
};

interface Run {
  size: number;
  reduced: boolean;
}

/** The shape as maximal runs of reduced / kept dimensions (size-1 dimensions dropped). */
function runsOf(shape: readonly number[], axes: ReadonlySet<number>): Run[] {
  const runs: Run[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const reduced = axes.has(i);
    const last = runs[runs.length - 1];
    if (last && last.reduced === reduced) last.size *= d;
    else runs.push({ size: d, reduced });
  });
  return runs;
}

/**
 * A float32 sum over the middle of [kept B, reduced R, kept C] (a global average pool over NHWC: B
 * images, R pixels, C channels) on WebAssembly SIMD: each image's R rows of C added into its C
 * accumulators, the same float64 additions in the same order as foldRow. False where the SIMD rows do
 * not apply (and nothing was added).
 */
function sumMiddleSimd(src: TypedArray, runs: Run[], reducer: Reducer, acc: Float64Array): boolean {
  if (reducer !== sum || !(src instanceof Float32Array)) return false;
  const shaped = runs.length === 2 ? runs[0].reduced && !runs[1].reduced : runs.length === 3 && !runs[0].reduced && runs[1].reduced && !runs[2].reduced;
  if (!shaped) return false;
  const c = runs[runs.length - 1].size;
  const block = runs[runs.length - 2].size * c;
  for (let b = 0; b * block < src.length; b++) {
    const rows = src.subarray(b * block, (b + 1) * block);
    const into = acc.subarray(b * c, (b + 1) * c);
    if (sumRowsSimd(rows, c, into)) continue;
    // every block has the same size, so the first call tells whether any applies
    if (b === 0) return false;
    for (let p = 0; p < rows.length; p += c) sum.foldRow(rows, p, c, into, 0);
  }
  return true;
}

/** Folds `x` over `axes` into `acc` (pre-filled with the identity, one slot per output element). */
function reduceInto(x: TensorValue, axes: ReadonlySet<number>, reducer: Reducer, acc: Float64Array): void {
  const src = x.data;
  if (src.length === 0) return;
  const runs = runsOf(x.shape, axes);
  if (sumMiddleSimd(src, runs, reducer, acc)) return;
  if (runs.length === 0) {
    acc[0] = reducer.fold(src, 0, 1, acc[0]);
    return;
  }
  const inner = runs[runs.length - 1];
  const outer = runs.slice(0, -1);
  // output stride of each outer run: 0 for reduced runs
  const outStrides = new Array<number>(outer.length);
  let s = inner.reduced ? 1 : inner.size;
  for (let k = outer.length - 1; k >= 0; k--) {
    outStrides[k] = outer[k].reduced ? 0 : s;
    if (!outer[k].reduced) s *= outer[k].size;
  }
  const idx = new Array<number>(outer.length).fill(0);
  const rows = src.length / inner.size;
  const n = inner.size;
  let o = 0;
  for (let r = 0, p = 0; r < rows; r++, p += n) {
    if (inner.reduced) acc[o] = reducer.fold(src, p, n, acc[o]);
    else reducer.foldRow(src, p, n, acc, o);
    for (let k = outer.length - 1; k >= 0; k--) {
      o += outStrides[k];
      if (++idx[k] < outer[k].size) break;
      idx[k] = 0;
      o -= outStrides[k] * outer[k].size;
    }
  }
}

function reduceKernel(reducer: Reducer, isMean = false) {
  return ([x]: TensorValue[], attrs: Attrs, ctx: KernelContext): TensorValue[] => {
    const rank = x.shape.length;
    const axes = new Set(rank === 0 ? [] : (attrs.axes as number[]).map((a) => (a < 0 ? a + rank : a)));
    const keepDims = attrs.keepDims === true;
    const shape = keepDims ? x.shape.map((d, i) => (axes.has(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.has(i));
    const out = ctx.alloc(x.dtype, shape);
    const size = out.data.length;
    const acc = out.data instanceof Float64Array ? out.data : new Float64Array(size);
    acc.fill(reducer.identity(x.dtype));
    reduceInto(x, axes, reducer, acc);
    if (isMean) {
      let count = 1;
      for (const a of axes) count *= x.shape[a];
      const int = isInteger(x.dtype);
      for (let i = 0; i < size; i++) acc[i] = count === 0 ? (int ? 0 : NaN) : int ? Math.trunc(acc[i] / count) : acc[i] / count;
    }
    if (acc !== out.data) out.data.set(acc);
    return [out];
  };
}

registerCpuKernel('reduceSum', reduceKernel(sum));
registerCpuKernel('reduceMean', reduceKernel(sum, true));
registerCpuKernel('reduceProd', reduceKernel(prod));
registerCpuKernel('reduceMax', reduceKernel(max));
registerCpuKernel('reduceMin', reduceKernel(min));
