import { ShapeError, TensorValue, TypedArray, allocArray, ops } from '@graphc/graph';
import { gemm, gemmPacked, packMatrixB, simdScratch } from '../../gemm';
import { KernelContext, registerCpuKernel } from '../../kernel';
import { columnScratch, im2colMatrix } from './conv2d-columns';
import { convByWindows } from './conv2d-windows';
import { WindowGeometry } from './window';
import { copyStrided } from '../array/strided';

/**
 * Channels-first N-d convolution as GEMM. A 2-D convolution of one group runs as conv2d does, through
 * NHWC (convThroughNhwc). Otherwise, per image and group, W_g [M/g, C/g * K] times the im2col matrix
 * [C/g * K, P] (K kernel taps, P output positions) is the [M/g, P] block of the NCHW output itself. The transposed convolution runs the product the other way (W_g^T times the input) and
 * scatters the columns back (col2im).
 */

const sizeOf = (s: number[]): number => s.reduce((p, d) => p * d, 1);

/**
 * For each spatial dim, for each (tap, output position): the input coordinate, or -1 in the padding.
 * Given the output sizes as `spatial` and the input sizes as `out`, the same for a transposed
 * convolution: the output coordinate of each (tap, input position).
 */
function tapTables(spatial: number[], geo: ReturnType<typeof ops.nchwWindow>, out: number[]): Int32Array[] {
  return spatial.map((inDim, d) => {
    const k = geo.kernel[d];
    const table = new Int32Array(k * out[d]);
    for (let t = 0; t < k; t++) {
      for (let o = 0; o < out[d]; o++) {
        const c = o * geo.strides[d] - geo.padsBegin[d] + t * geo.dilations[d];
        table[t * out[d] + o] = c >= 0 && c < inDim ? c : -1;
      }
    }
    return table;
  });
}

/**
 * For every (tap, position) pair in row-major order, the flat offset into one channel of the input,
 * or -1 where it falls in the padding: the im2col gather pattern, shared by every channel and image.
 */
function gatherPattern(spatial: number[], kernel: number[], out: number[], tables: Int32Array[]): Int32Array {
  const s = spatial.length;
  const K = sizeOf(kernel);
  const P = sizeOf(out);
  const pattern = new Int32Array(K * P);
  const inStrides = spatial.map((_, d) => sizeOf(spatial.slice(d + 1)));
  const tap = new Array<number>(s).fill(0);
  for (let kk = 0; kk < K; kk++) {
    const pos = new Array<number>(s).fill(0);
    for (let p = 0; p < P; p++) {
      let off = 0;
      for (let d = 0; d < s; d++) {
        const c = tables[d][tap[d] * out[d] + pos[d]];
        if (c < 0) {
          off = -1;
          break;
        }
        off += c * inStrides[d];
      }
      pattern[kk * P + p] = off;
      for (let d = s - 1; d >= 0; d--) {
        if (++pos[d] < out[d]) break;
        pos[d] = 0;
      }
    }
    for (let d = s - 1; d >= 0; d--) {
      if (++tap[d] < kernel[d]) break;
      tap[d] = 0;
    }
  }
  return pattern;
}

function where(ctx: KernelContext, op: string): string {
  return `op '${op}' (node '${ctx.node.name}'): `;
}

registerCpuKernel('convNchw', (inputs, attrs, ctx) => {
  const [x, w, bias] = inputs;
  const [N, C, ...spatial] = x.shape;
  const [M, Cg, ...kernel] = w.shape;
  const group = Number(attrs.group ?? 1);
  if (C !== Cg * group || M % group !== 0) throw new ShapeError(`${where(ctx, 'convNchw')}input [${x.shape}] does not fit weights [${w.shape}] with group ${group}`);
  const geo = ops.nchwWindow(spatial, kernel, attrs, where(ctx, 'convNchw'));
  const outSpatial = geo.out as number[];
  const out = ctx.alloc(x.dtype, [N, M, ...outSpatial]);
  const P = sizeOf(outSpatial);
  const K = sizeOf(kernel);
  if (out.data.length === 0) return [out];
  const pointwise = K === 1 && geo.strides.every((s) => s === 1) && geo.padsBegin.every((p) => p === 0) && geo.padsEnd.every((p) => p === 0);
  if (spatial.length === 2 && group === 1 && !pointwise) convThroughNhwc(x, w, geo, outSpatial, out.data);
  else convByColumns(x, w, geo, outSpatial, group, pointwise, out.data);
  if (bias) {
    for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
      const base = (n * M + m) * P;
      const v = bias.data[m];
      for (let p = 0; p < P; p++) out.data[base + p] += v;
    }
  }
  return [out];
});

/**
 * A 2-D convolution of one group the way conv2d runs it: the image transposed to NHWC, the weights
 * to [KH, KW, C, M], then the windows read straight from the image (float32, rows undilated) or the
 * implicit-im2col GEMM (rows of A copied from the image a block at a time, never materialized) into
 * an NHWC result transposed back. The two transposes are one pass
 * each over the input and the output; building the im2col matrix [C * K, P] column by column, as
 * convByColumns does, costs more than both (a 3x3, 64 -> 64 convolution over 56x56: 16 -> 9 ms).
 */
function convThroughNhwc(x: TensorValue, w: TensorValue, geo: ReturnType<typeof ops.nchwWindow>, outSpatial: number[], out: TypedArray): void {
  const [N, C, H, W] = x.shape;
  const [M, , KH, KW] = w.shape;
  const [OH, OW] = outSpatial;
  const kind = x.dtype === 'float32' ? 'float32' : 'float64';
  const [P, T] = [H * W, KH * KW];
  // the transposes as strided copies (the transpose kernel's): image [N, C, P] read as [N, P, C],
  // weights [M, C, T] as [T, C, M]
  const image = allocArray(kind, x.data.length);
  copyStrided(x.data, 0, [N, P, C], [C * P, 1, P], image);
  const filter = allocArray(kind, w.data.length);
  copyStrided(w.data, 0, [T, C, M], [1, T, C * T], filter);
  const g: WindowGeometry = {
    n: N, h: H, w: W, c: C, kh: KH, kw: KW,
    sh: geo.strides[0], sw: geo.strides[1], dh: geo.dilations[0], dw: geo.dilations[1],
    padTop: geo.padsBegin[0], padLeft: geo.padsBegin[1], padBottom: geo.padsEnd[0], padRight: geo.padsEnd[1],
    outH: OH, outW: OW,
  };
  const k = KH * KW * C;
  const nhwc = allocArray(kind, out.length);
  if (!convByWindows(image, filter, g, M, nhwc)) gemmPacked(N * OH * OW, M, k, im2colMatrix(image, g), packMatrixB(k, M, { data: filter, offset: 0, rowStride: M, colStride: 1 }), nhwc);
  // [N, OH * OW, M] back to [N, M, OH * OW]
  copyStrided(nhwc, 0, [N, M, OH * OW], [OH * OW * M, 1, M], out);
}

/** Per image and group, the weights times the materialized im2col matrix (any rank, any grouping). */
function convByColumns(x: TensorValue, w: TensorValue, geo: ReturnType<typeof ops.nchwWindow>, outSpatial: number[], group: number, pointwise: boolean, outData: TypedArray): void {
  const [N, C, ...spatial] = x.shape;
  const [M, Cg, ...kernel] = w.shape;
  const P = sizeOf(outSpatial);
  const K = sizeOf(kernel);
  const inSize = sizeOf(spatial);
  const Mg = M / group;
  const rows = Cg * K;
  const pattern = pointwise ? null : gatherPattern(spatial, kernel, outSpatial, tapTables(spatial, geo, outSpatial));
  const col = pointwise ? null : columnScratch(x.dtype, rows * P);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      const inBase = (n * C + g * Cg) * inSize;
      let b;
      if (pointwise) b = { data: x.data, offset: inBase, rowStride: inSize, colStride: 1 };
      else {
        for (let c = 0; c < Cg; c++) {
          const chan = inBase + c * inSize;
          const dst = c * K * P;
          for (let i = 0; i < K * P; i++) {
            const off = pattern![i];
            col![dst + i] = off < 0 ? 0 : x.data[chan + off];
          }
        }
        b = { data: col!, offset: 0, rowStride: P, colStride: 1 };
      }
      gemm(Mg, P, rows, { data: w.data, offset: g * Mg * rows, rowStride: rows, colStride: 1 }, b, outData, (n * M + g * Mg) * P);
    }
  }
}

/**
 * The transposed convolution's scatter (col2im) as runs along the last spatial dimension, found once
 * per call and shared by every image and channel: for each tap, and each input position of the other
 * dimensions whose output lies inside, the input positions along the last dimension whose outputs
 * lie inside too. Triples: the run's first column in a channel's [K, Pin] block, its first output
 * offset in the channel's [Pout] block (the rest `stride` apart), its length.
 */
function scatterRuns(spatial: number[], outSpatial: number[], kernel: number[], tables: Int32Array[]): Int32Array {
  const s = spatial.length;
  const last = s - 1;
  const inLast = spatial[last];
  const Pin = sizeOf(spatial);
  const outer = Pin / Math.max(inLast, 1);
  const outStrides = outSpatial.map((_, d) => sizeOf(outSpatial.slice(d + 1)));
  // along the last dimension, per tap: the first input position whose output lies inside, and how many do
  const lastTable = tables[last];
  const firstIn = new Int32Array(kernel[last]);
  const counts = new Int32Array(kernel[last]);
  for (let t = 0; t < kernel[last]; t++) {
    let lo = -1;
    let count = 0;
    for (let i = 0; i < inLast; i++) {
      if (lastTable[t * inLast + i] < 0) continue;
      if (lo < 0) lo = i;
      count++;
    }
    firstIn[t] = lo;
    counts[t] = count;
  }
  const runs: number[] = [];
  const tap = new Array<number>(s).fill(0);
  for (let kk = 0; kk < sizeOf(kernel); kk++) {
    const tl = tap[last];
    if (counts[tl] > 0) {
      const pos = new Array<number>(last).fill(0);
      for (let q = 0; q < outer; q++) {
        let off = 0;
        for (let d = 0; d < last && off >= 0; d++) {
          const o = tables[d][tap[d] * spatial[d] + pos[d]];
          off = o < 0 ? -1 : off + o * outStrides[d];
        }
        if (off >= 0) runs.push(kk * Pin + q * inLast + firstIn[tl], off + lastTable[tl * inLast + firstIn[tl]], counts[tl]);
        for (let d = last - 1; d >= 0; d--) {
          if (++pos[d] < spatial[d]) break;
          pos[d] = 0;
        }
      }
    }
    for (let d = last; d >= 0; d--) {
      if (++tap[d] < kernel[d]) break;
      tap[d] = 0;
    }
  }
  return Int32Array.from(runs);
}

/** Adds one output channel's columns (from `src` in `cols`) into its block of `out` (from `base`) along `runs`. */
function scatterAdd(out: TypedArray, base: number, cols: TypedArray, src: number, runs: Int32Array, stride: number): void {
  for (let r = 0; r < runs.length; r += 3) {
    let c = src + runs[r];
    let o = base + runs[r + 1];
    const end = c + runs[r + 2];
    for (; c < end; c++, o += stride) out[o] += cols[c];
  }
}

/** Each node's scatter runs, found on its first run and again only when its shapes change. */
const runsByNode = new WeakMap<object, { key: string; runs: Int32Array }>();

/**
 * The scatter runs of a transposed convolution (scatterRuns), from the forward tap tables with input
 * and output swapped: the output coordinate of each (tap, input position).
 */
function runsOf(ctx: KernelContext, spatial: number[], outSpatial: number[], kernel: number[], geo: ReturnType<typeof ops.nchwWindow>): Int32Array {
  const key = `${spatial}|${kernel}`;
  const known = runsByNode.get(ctx.node);
  if (known?.key === key) return known.runs;
  const runs = scatterRuns(spatial, outSpatial, kernel, tapTables(outSpatial, geo, spatial));
  runsByNode.set(ctx.node, { key, runs });
  return runs;
}

/**
 * scatterAdd for the `channels` output channels of one image and group on WebAssembly (the
 * kernels' `scatterRuns`): the runs and the group's columns are staged in the kernels' memory, then
 * each channel is zeroed there, scattered into and copied out whole. False where the SIMD kernels
 * are off or their memory cannot grow that far.
 */
function scatterOnSimd(out: Float32Array, base: number, cols: Float32Array, channels: number, perChannel: number, Pout: number, runs: Int32Array, stride: number): boolean {
  const colsFloats = channels * perChannel;
  const simd = simdScratch(runs.length + colsFloats + Pout);
  if (!simd) return false;
  const { kernel, memory } = simd;
  new Int32Array(memory.buffer, 0, runs.length).set(runs);
  const colsAt = runs.length;
  memory.set(cols.subarray(0, colsFloats), colsAt);
  const outAt = colsAt + colsFloats;
  for (let m = 0; m < channels; m++) {
    kernel.zero(outAt * 4, Pout * 4);
    kernel.scatterRuns(outAt * 4, (colsAt + m * perChannel) * 4, 0, runs.length / 3, stride * 4);
    out.set(memory.subarray(outAt, outAt + Pout), base + m * Pout);
  }
  return true;
}

registerCpuKernel('convTransposeNchw', (inputs, attrs, ctx) => {
  const [x, w, bias] = inputs;
  const [N, C, ...spatial] = x.shape;
  const [Cw, Mg, ...kernel] = w.shape;
  const group = Number(attrs.group ?? 1);
  if (C !== Cw || C % group !== 0) throw new ShapeError(`${where(ctx, 'convTransposeNchw')}input [${x.shape}] does not fit weights [${w.shape}] with group ${group}`);
  const geo = ops.nchwTransposeWindow(spatial, kernel, attrs, where(ctx, 'convTransposeNchw'));
  const outSpatial = geo.out as number[];
  const M = Mg * group;
  const Cg = C / group;
  const out = ctx.alloc(x.dtype, [N, M, ...outSpatial]);
  const Pin = sizeOf(spatial);
  const Pout = sizeOf(outSpatial);
  const K = sizeOf(kernel);
  if (out.data.length === 0) return [out];
  const runs = runsOf(ctx, spatial, outSpatial, kernel, geo);
  const step = geo.strides[spatial.length - 1];
  const rows = Mg * K;
  const cols = columnScratch(x.dtype, rows * Pin);
  // float32 scatters on WebAssembly, each channel written whole there; the rest adds into zeros
  let onSimd = out.data instanceof Float32Array && cols instanceof Float32Array && runs.length > 0;
  if (!onSimd) out.data.fill(0);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      // cols [Mg*K, Pin] = W_g^T [Mg*K, Cg] x X_g [Cg, Pin]
      gemm(rows, Pin, Cg, { data: w.data, offset: g * Cg * rows, rowStride: 1, colStride: rows }, { data: x.data, offset: (n * C + g * Cg) * Pin, rowStride: Pin, colStride: 1 }, cols, 0);
      const base = (n * M + g * Mg) * Pout;
      if (onSimd && scatterOnSimd(out.data as Float32Array, base, cols as Float32Array, Mg, K * Pin, Pout, runs, step)) continue;
      if (onSimd) {
        // the memory could not hold a group: the JavaScript scatter from here on, over zeros
        onSimd = false;
        out.data.fill(0, base);
      }
      for (let m = 0; m < Mg; m++) scatterAdd(out.data, base + m * Pout, cols, m * K * Pin, runs, step);
    }
  }
  if (bias) {
    for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
      const base = (n * M + m) * Pout;
      for (let p = 0; p < Pout; p++) out.data[base + p] += bias.data[m];
    }
  }
  return [out];
});
