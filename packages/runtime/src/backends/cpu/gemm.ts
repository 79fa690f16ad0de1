import { GraphcError, TypedArray } from '@graphc/graph';
import { TileBlock, gemmThreads, runTiles, startThreads, stopThreads } from './threads';
import { kernelScratch } from './scratch';
import { PANEL_ROWS_PHASES, ROWS_AXPY_STEPS, ROWS_DOT_GROUP, SimdKernel, TILE_M, TILE_N, chooseFusedMultiplyAdd, simdKernel } from './wasm-simd';
import { ResidentSlot, isResidentData, residentAddress, residentFloats, residentLaidOut, residentSlot, simdMemory } from './simd-memory';
import { BlockEpilogue, MemoryEpilogue, epilogueOnMemory } from './wasm-elementwise';

/**
 * C[m x n] (+)= op(A)[m x k] · op(B)[k x n] for row-major C, the workhorse of matmul and conv2d.
 *
 * Operands are read through (row stride, column stride) pairs, so transposed or im2col'd inputs
 * cost nothing extra. The loops follow Goto's blocking (as BLIS): B is packed once into k-major
 * panels, A is taken a block of MC rows x KC columns at a time (in L2), and a register-tiled
 * micro-kernel accumulates one tile of C over a k-block while its B panel stays in L1.
 *
 * Two micro-kernels:
 * - float32 outputs run a 4x8 WebAssembly SIMD kernel (wasm-simd.ts) in its own memory,
 *   accumulating in float32 as TensorFlow and tfjs do. It reads A's rows in place, so a row-major
 *   A is copied into that memory once and never packed;
 * - everything else (float64, int32) runs a 4x4 JavaScript kernel over operands widened to
 *   float64, accumulating in double precision. V8 compiles it to scalar SSE; on a kernel-only loop
 *   the 4x4 tile ran at the rate of 2x4, 3x4 and 4x8 tiles (4x8 spills).
 */
export interface MatrixView {
  data: TypedArray;
  offset: number;
  rowStride: number;
  colStride: number;
}

/**
 * An A that is never materialized (conv2d's im2col matrix), derived from `source`. `pack` writes
 * rows [i0, i0 + rows) x columns [k0, k0 + kc) row-major into `out` from `base` with row stride
 * `ld`, zero-filling rows up to the next multiple of GEMM_TILE_ROWS. It reads `source` as `src[srcBase + j]`:
 * the float32 path first places a copy of `source` in its own memory and passes that memory as
 * both `out` and `src`, so contiguous runs can move with `copyWithin` (a memmove).
 */
export interface ImplicitA {
  source: TypedArray;
  pack(i0: number, rows: number, k0: number, kc: number, out: Float32Array | Float64Array, base: number, ld: number, src: TypedArray, srcBase: number): void;
}

const KC = 256;
const MC = 64;
/** Largest A (in floats) the float32 path copies whole into its memory rather than packing by block. */
const MAX_IN_PLACE = 1 << 24;
/**
 * Longest step (in floats) between the kernel's reads of one operand along k for it to read that
 * operand in place rather than packed: past about 1 KB every few steps land on a new page and the
 * reads outrun the TLB and the prefetchers. In one-off measurements at 251799c (one thread, the
 * bench/fma.js machine; not a bench/ script), a dense layer's weight gradient (a 784x256 transposed
 * A by a 256x1024 B) took 15.7 ms in place against 11.0 ms packed, while B rows of 16 to 256 floats
 * ran as fast in place or faster.
 */
const MAX_IN_PLACE_STEP = 256;
/** Columns of C up to which a transposed A is read in place whatever its step (inPlaceLayout). */
const NARROW_C = 64;
/**
 * Rows of A up to which packing B (k x n) costs more than it saves, so a row-major B is read in
 * place whatever its row stride, and a transposed one larger than A and C together is multiplied as
 * C^T = B^T·A^T (an LSTM step's h·R^T, a dense layer over a small batch). `node bench/kernels.js
 * --only matmul` at b04349d and b5a4ab7 (after ae78d70): 16 x 128 by 128 x 512 0.24 -> 0.08 ms, by the transposed
 * 512 x 128 0.22 -> 0.12 ms. One-off measurements (a script over gemm(), this 2-core Xeon): in place
 * 64 x 1024 by 1024 x 1024 6.4 -> 4.2 ms, even at 128 rows (9.9 -> 9.0 ms), behind at 256.
 */
const FEW_ROWS = 64;
const MR = 4;
const NR = 4;
/** Both kernels compute tiles of this many rows of C. */
export const GEMM_TILE_ROWS = MR;
if (TILE_M !== MR || MC % TILE_M !== 0) throw new Error('gemm: block sizes must be multiples of the tile rows');

/**
 * B packed once for many products (conv2d reuses its filter across every block of output pixels):
 * k-blocks of KC rows, each holding ceil(n / NR) panels of KC x NR values, zero-padded at the edge.
 * The float32 path re-lays it once into its own memory (`id` tells it whether it already holds it).
 */
export interface PackedB {
  k: number;
  n: number;
  data: Float64Array;
  /** Distinct for every packing, so a cached copy is never mistaken for another matrix. */
  id?: number;
  /** A block of a wider packing's columns (packedColumns): its first column there, and that packing's width. */
  columns?: { from: number; width: number };
}

let nextPackId = 1;
let simdEnabled = true;
/** Which packing the B region of which kernel's memory holds (id -1: none, or one packed from a view). */
let simdB: { kernel: SimdKernel | null; id: number } = { kernel: null, id: -1 };
let packABuf = new Float64Array(0);
let packBBuf = new Float64Array(0);
let rowsBuf = new Float64Array(0);

/**
 * Turns the WebAssembly SIMD float32 kernel on or off (tests and benchmarks compare the paths);
 * returns whether float32 products now use it (false where WebAssembly SIMD is unavailable).
 */
export function setSimdGemm(enabled: boolean): boolean {
  simdEnabled = enabled;
  return simdFor(new Float32Array(0)) !== null;
}

/** Whether float32 products may use the WebAssembly SIMD kernels (setSimdGemm); matmulNBits follows the same switch. */
export function simdGemmEnabled(): boolean {
  return simdEnabled;
}

/** The SIMD kernel for a float32 C (`parallel`: over the memory the threads share); null for other types, or SIMD off. */
function simdFor(c: TypedArray, parallel = false): SimdKernel | null {
  return simdEnabled && c instanceof Float32Array ? simdKernel(parallel) : null;
}

/** Whether a product's full blocks (m x n, depth k) split over the worker threads now. */
const productSplits = (m: number, n: number, k: number): boolean => splitsBlock(Math.min(MC, roundUp(m, TILE_M)), roundUp(n, TILE_N), Math.min(KC, k));

/**
 * Multiply-adds of a block of C worth waking the other threads for. A wake-up and wait cost tens of
 * microseconds on a busy machine: a 3x3 conv2d 64 -> 64 over 56x56 (147 blocks of 1M) ran twice as
 * slow on two threads with a 1M floor, so smaller blocks stay on one thread (a 512x512 matmul's
 * blocks are 8M).
 */
const PARALLEL_MIN = 1 << 22;

/**
 * Bytes of constants (a model's weights) the float32 kernels keep in their memory between runs, so
 * a product by a weight matrix reads it there rather than copying it in each time (simd-memory.ts).
 */
export function cpuResidentBytes(): number {
  const kernels = new Set([simdKernel(false), simdKernel(true)]);
  let floats = 0;
  for (const kernel of kernels) if (kernel) floats += residentFloats(kernel);
  return floats * 4;
}

/** Whether a block of C (rows x n8 columns, kc deep) splits over the worker threads now. */
const splitsBlock = (rows: number, n8: number, kc: number): boolean => gemmThreads() > 1 && rows * n8 * kc >= PARALLEL_MIN;

/** Whether a float32 product with n columns and depth k would split its (full) blocks over the worker threads now. */
export function gemmWouldSplit(n: number, k: number): boolean {
  return splitsBlock(MC, roundUp(n, TILE_N), Math.min(KC, k));
}

/**
 * Runs the float32 GEMM on `threads` threads from now on (Node worker threads over a shared
 * WebAssembly memory; threads.ts), as TensorFlow's intra_op_parallelism_threads; 1 stops them.
 * Returns the number in effect (1 where worker threads or shared memory are unavailable). A block
 * of C is split by column panels, so the results are bit for bit those of one thread.
 */
export function setCpuThreads(threads: number): number {
  envRead = true;
  const n = startThreads(threads);
  simdB = { kernel: null, id: -1 }; // the kernel (and so the memory holding a cached B) may have changed
  return n;
}

let envRead = false;

/**
 * Fused multiply-adds (relaxed SIMD's f32x4.relaxed_madd, an FMA instruction) in the float32 GEMM
 * and depthwise kernels where the engine has them (wasm-simd.ts), or mul+add; returns whether they
 * are fused now. The default is fused where available (GRAPHC_CPU_FMA=0: not). Fused products round
 * once, so they may differ from mul+add in the last bit.
 */
export function setCpuFusedMultiplyAdd(on: boolean): boolean {
  const threads = gemmThreads();
  stopThreads(); // the workers run the module built the other way
  const fused = chooseFusedMultiplyAdd(on);
  if (threads > 1) startThreads(threads);
  simdB = { kernel: null, id: -1 };
  return fused;
}

/** GRAPHC_CPU_THREADS, read at the first float32 product (so importing graphc starts no thread). */
function threadsFromEnvironment(): void {
  envRead = true;
  const v = typeof process === 'object' ? process.env?.GRAPHC_CPU_THREADS : undefined;
  if (v === undefined || v === '') return;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new GraphcError(`GRAPHC_CPU_THREADS must be a positive integer, got '${v}'`);
  setCpuThreads(n);
}

/**
 * The SIMD kernels' memory as a Float32Array of at least `floats` elements, for a kernel other than
 * the GEMM (depthwise convolution) to use from 0: the GEMM's cached B there is forgotten. Null where
 * WebAssembly SIMD is off or unavailable, or the memory cannot grow that far.
 */
export function simdScratch(floats: number, parallel = false): { kernel: SimdKernel; memory: Float32Array } | null {
  const kernel = simdEnabled ? simdKernel(parallel) : null;
  const memory = kernel && simdMemory(kernel, floats);
  if (!kernel || !memory) return null;
  if (simdB.kernel === kernel) simdB = { kernel: null, id: -1 };
  return { kernel, memory };
}

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Elements `packMatrixB` needs for a k x n matrix. */
export function packedBSize(k: number, n: number): number {
  return roundUp(n, NR) * k;
}

/**
 * Packs `b` (k x n) for `gemmPacked`; the result may be reused for any number of products. Packs
 * into `into` when it is large enough (kernels keep one scratch buffer rather than allocate per run).
 */
export function packMatrixB(k: number, n: number, b: MatrixView, into?: Float64Array): PackedB {
  const size = packedBSize(k, n);
  const data = into && into.length >= size ? into : new Float64Array(size);
  packB(b, k, n, data, NR, 0);
  return { k, n, data, id: nextPackId++ };
}

/**
 * Columns [from, from + n) of a packing, multiplied without packing them again: a GRU's two products
 * per step take R's gates from one packing, so the float32 path's copy of it stays in place
 * between them. `from` must be a multiple of 8 (the SIMD kernel's panel width).
 */
export function packedColumns(b: PackedB, from: number, n: number): PackedB {
  const base = b.columns?.from ?? 0;
  if (from % TILE_N !== 0 || from < 0 || n < 0 || from + n > b.n) throw new Error(`packedColumns: columns [${from}, ${from + n}) of a ${b.k}x${b.n} packing`);
  return { ...b, n, columns: { from: base + from, width: b.columns?.width ?? b.n } };
}

/**
 * Packs B as k-blocks of `panel`-column panels (k-major, zero-padded past n) into `out` from `base`.
 * A whole panel of 4 or 8 columns is copied with one statement per column, unrolled: 1.5-2.2x
 * faster than the loop over columns (a one-off script, 784 x 1024 into panels of 8: 2.3 ->
 * 1.5 ns per value row-major, 2.3 -> 1.1 transposed).
 */
function packB(b: MatrixView, k: number, n: number, out: Float32Array | Float64Array, panel: number, base: number): void {
  const bd = b.data;
  const rs = b.rowStride;
  const cs = b.colStride;
  const np = roundUp(n, panel);
  let p = base;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = Math.min(KC, k - k0);
    for (let j0 = 0; j0 < np; j0 += panel) {
      const w = Math.min(panel, n - j0);
      let src = b.offset + k0 * rs + j0 * cs;
      if (w === 8 && panel === 8) {
        const [c2, c3, c4, c5, c6, c7] = [2 * cs, 3 * cs, 4 * cs, 5 * cs, 6 * cs, 7 * cs];
        for (let kk = 0; kk < kc; kk++, src += rs, p += 8) {
          out[p] = bd[src]; out[p + 1] = bd[src + cs]; out[p + 2] = bd[src + c2]; out[p + 3] = bd[src + c3];
          out[p + 4] = bd[src + c4]; out[p + 5] = bd[src + c5]; out[p + 6] = bd[src + c6]; out[p + 7] = bd[src + c7];
        }
        continue;
      }
      if (w === 4 && panel === 4) {
        const [c2, c3] = [2 * cs, 3 * cs];
        for (let kk = 0; kk < kc; kk++, src += rs, p += 4) {
          out[p] = bd[src]; out[p + 1] = bd[src + cs]; out[p + 2] = bd[src + c2]; out[p + 3] = bd[src + c3];
        }
        continue;
      }
      for (let kk = 0; kk < kc; kk++, src += rs, p += panel) {
        for (let j = 0; j < w; j++) out[p + j] = bd[src + j * cs];
        for (let j = w; j < panel; j++) out[p + j] = 0;
      }
    }
  }
}

/** Copies rows [i0, i0 + mc) x columns [k0, k0 + kc) of A row-major (stride kc) into `out` from `base`. */
function packRows(a: MatrixView, i0: number, mc: number, k0: number, kc: number, out: Float32Array | Float64Array, base: number): void {
  const ad = a.data;
  const rs = a.rowStride;
  const cs = a.colStride;
  for (let i = 0; i < mc; i++) {
    const src = a.offset + (i0 + i) * rs + k0 * cs;
    const dst = base + i * kc;
    if (cs === 1) for (let kk = 0; kk < kc; kk++) out[dst + kk] = ad[src + kk];
    else for (let kk = 0; kk < kc; kk++) out[dst + kk] = ad[src + kk * cs];
  }
  out.fill(0, base + mc * kc, base + roundUp(mc, MR) * kc);
}

/**
 * C = A·B (or C += A·B when `accumulate`), packing B on the fly. With `epilogue`, as gemmPacked:
 * true where the float32 path applied it to each block of C.
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: MatrixView,
  b: MatrixView,
  c: TypedArray,
  cOffset = 0,
  accumulate = false,
  epilogue?: BlockEpilogue,
): boolean {
  if (m === 0 || n === 0 || k === 0) {
    if (!accumulate) c.fill(0, cOffset, cOffset + m * n);
    return false;
  }
  if (!envRead) threadsFromEnvironment();
  const simd = simdFor(c, productSplits(m, n, k));
  const blockEpilogue = simd && epilogue && cOffset % n === 0 ? epilogueOnMemory(epilogue, simd.memory) : undefined;
  const panels = simd && isResidentData(b.data) ? residentPanels(simd, b, k, n) : null;
  if (panels && simdGemm(simd!, m, n, k, a, panels, c, cOffset, accumulate, n, blockEpilogue)) return blockEpilogue !== undefined;
  // a transposed B larger than A and C together: moving those costs less than packing it (a
  // product of few rows, whose blocks never split)
  const transposedWins = m <= FEW_ROWS && b.rowStride === 1 && b.colStride !== 1 && k * n > m * (k + n);
  const own = transposedWins ? simdFor(c) : null;
  if (own && m <= TILE_M && rowDots(own, m, n, k, a, b, c, cOffset, accumulate)) return false;
  if (own && productTransposed(own, m, n, k, a, b, c, cOffset, accumulate)) return false;
  if (simd && simdGemm(simd, m, n, k, a, b, c, cOffset, accumulate, n, blockEpilogue)) return blockEpilogue !== undefined;
  const size = packedBSize(k, n);
  if (packBBuf.length < size) packBBuf = new Float64Array(size);
  packB(b, k, n, packBBuf, NR, 0);
  jsGemm(m, n, k, a, packBBuf, c, cOffset, accumulate, n);
  return false;
}

/**
 * A constant B (a layer's weights; a variable's while nothing writes it) packed once into the
 * kernel's memory as the tile kernel reads a packed B (k-blocks of KC rows, TILE_N-column panels)
 * and kept there between products (simd-memory.ts), whatever its strides: every product by it then
 * streams its panels, the tile kernel's for many rows of A and panelRows' for one to four (a decode
 * step's), and none packs it or copies it in again.
 */
interface ResidentPanels {
  readonly panels: ResidentSlot;
}

function residentPanels(kernel: SimdKernel, b: MatrixView, k: number, n: number): ResidentPanels | null {
  const layout = `panels ${k}x${n} from ${b.offset} by ${b.rowStride},${b.colStride}`;
  // a row-major B is copied into the working area and packed there by the kernel (its panels' rows
  // are 32-byte runs of its rows); a transposed one is packed a float at a time
  const span = (k - 1) * b.rowStride + n;
  const rowMajor = b.colStride === 1 && n >= TILE_N;
  const write = rowMajor ? (f: Float32Array, at: number) => packRowMajor(kernel, f, b, k, n, at) : (f: Float32Array, at: number) => packB(b, k, n, f, TILE_N, at);
  const slot = residentLaidOut(kernel, b.data, layout, k * roundUp(n, TILE_N), write, rowMajor ? roundUp(span, 4) : 0);
  return slot ? { panels: slot } : null;
}

/** packB of a row-major B into `f` from `at`, by the kernel's packPanels from a copy of B at 0; a last panel short of TILE_N columns in JavaScript. */
function packRowMajor(kernel: SimdKernel, f: Float32Array, b: MatrixView, k: number, n: number, at: number): void {
  const rs = b.rowStride;
  copySpan(b, (k - 1) * rs + n, f, 0);
  const n8 = roundUp(n, TILE_N);
  const whole = Math.floor(n / TILE_N);
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = Math.min(KC, k - k0);
    const block = at + k0 * n8;
    if (whole) kernel.packPanels(block * 4, k0 * rs * 4, rs * 4, kc, whole);
    if (whole === n8 / TILE_N) continue;
    const j0 = whole * TILE_N;
    for (let kk = 0, p = block + j0 * kc, src = (k0 + kk) * rs + j0; kk < kc; kk++, p += TILE_N, src += rs) {
      for (let j = 0; j < TILE_N; j++) f[p + j] = j0 + j < n ? f[src + j] : 0;
    }
  }
}

/**
 * C = A·B with B packed by `packMatrixB`. `ldc` is C's row stride (default n), so a product can
 * write a column block of a wider output. A is a strided view, or an `ImplicitA` that produces its
 * blocks on demand. With `epilogue` (C's rows [cOffset / n, ...) of a whole [rows, n] output), the
 * float32 path applies it to each block of C before storing it, and returns true; false where it
 * did not (another path ran), and the caller applies it.
 */
export function gemmPacked(
  m: number,
  n: number,
  k: number,
  a: MatrixView | ImplicitA,
  b: PackedB,
  c: TypedArray,
  cOffset = 0,
  accumulate = false,
  ldc = n,
  epilogue?: BlockEpilogue,
): boolean {
  if (b.k !== k || b.n !== n) throw new Error(`gemmPacked: packed B is ${b.k}x${b.n}, expected ${k}x${n}`);
  if (m === 0 || n === 0 || k === 0) {
    if (!accumulate) for (let i = 0; i < m; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + n);
    return false;
  }
  if (!envRead) threadsFromEnvironment();
  const simd = simdFor(c, productSplits(m, n, k));
  const blockEpilogue = simd && epilogue && ldc === n && cOffset % n === 0 ? epilogueOnMemory(epilogue, simd.memory) : undefined;
  if (simd && simdGemm(simd, m, n, k, a, b, c, cOffset, accumulate, ldc, blockEpilogue)) return blockEpilogue !== undefined;
  jsGemm(m, n, k, a, b.data, c, cOffset, accumulate, ldc, b.columns);
  return false;
}

// ---- the JavaScript kernel (float64 and integer outputs) ----------------------------------------

function jsGemm(
  m: number,
  n: number,
  k: number,
  a: MatrixView | ImplicitA,
  pb: Float64Array,
  c: TypedArray,
  cOffset: number,
  accumulate: boolean,
  ldc: number,
  columns?: PackedB['columns'],
): void {
  if (!accumulate) for (let i = 0; i < m; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + n);
  const panels = Math.ceil(n / NR);
  // a column block of a wider packing: its k-blocks hold every panel of the full width
  const widthPanels = columns ? Math.ceil(columns.width / NR) : panels;
  const firstPanel = columns ? columns.from / NR : 0;
  const aSize = Math.min(MC, roundUp(m, MR)) * Math.min(KC, k);
  if (packABuf.length < aSize) packABuf = new Float64Array(aSize);
  const pa = packABuf;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = Math.min(KC, k - k0);
    const bBlock = k0 * widthPanels * NR;
    for (let ic = 0; ic < m; ic += MC) {
      const mc = Math.min(MC, m - ic);
      if ('pack' in a) {
        if (rowsBuf.length < aSize) rowsBuf = new Float64Array(aSize);
        a.pack(ic, mc, k0, kc, rowsBuf, 0, kc, a.source, 0);
        interleave(rowsBuf, mc, kc, pa);
      } else packPanels(a, ic, mc, k0, kc, pa);
      for (let jp = 0; jp < panels; jp++) {
        const j0 = jp * NR;
        const w = Math.min(NR, n - j0);
        const ibStart = bBlock + (firstPanel + jp) * NR * kc;
        for (let ip = 0; ip < mc; ip += MR) {
          const h = Math.min(MR, mc - ip);
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
          let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
          let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          let ia = ip * kc;
          let ib = ibStart;
          for (let kk = 0; kk < kc; kk++, ia += MR, ib += NR) {
            const a0 = pa[ia], a1 = pa[ia + 1], a2 = pa[ia + 2], a3 = pa[ia + 3];
            const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
          }
          const r0 = cOffset + (ic + ip) * ldc + j0;
          if (h === MR && w === NR) {
            const r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
            c[r0] += c00; c[r0 + 1] += c01; c[r0 + 2] += c02; c[r0 + 3] += c03;
            c[r1] += c10; c[r1 + 1] += c11; c[r1 + 2] += c12; c[r1 + 3] += c13;
            c[r2] += c20; c[r2 + 1] += c21; c[r2 + 2] += c22; c[r2 + 3] += c23;
            c[r3] += c30; c[r3 + 1] += c31; c[r3 + 2] += c32; c[r3 + 3] += c33;
          } else {
            storeEdge(c, r0, w, c00, c01, c02, c03);
            if (h > 1) storeEdge(c, r0 + ldc, w, c10, c11, c12, c13);
            if (h > 2) storeEdge(c, r0 + 2 * ldc, w, c20, c21, c22, c23);
            if (h > 3) storeEdge(c, r0 + 3 * ldc, w, c30, c31, c32, c33);
          }
        }
      }
    }
  }
}

/**
 * Packs rows [i0, i0 + mc) x columns [k0, k0 + kc) of A for the JavaScript kernel: panels of MR
 * rows, k-major with the rows interleaved (one sequential read of 4 values per k), zero-padded.
 */
function packPanels(a: MatrixView, i0: number, mc: number, k0: number, kc: number, out: Float64Array): void {
  const ad = a.data;
  const rs = a.rowStride;
  const cs = a.colStride;
  let p = 0;
  for (let ip = 0; ip < mc; ip += MR) {
    const h = Math.min(MR, mc - ip);
    let src = a.offset + (i0 + ip) * rs + k0 * cs;
    if (h === MR) {
      for (let kk = 0; kk < kc; kk++, src += cs, p += MR) {
        out[p] = ad[src];
        out[p + 1] = ad[src + rs];
        out[p + 2] = ad[src + 2 * rs];
        out[p + 3] = ad[src + 3 * rs];
      }
    } else {
      for (let kk = 0; kk < kc; kk++, src += cs, p += MR) {
        for (let i = 0; i < MR; i++) out[p + i] = i < h ? ad[src + i * rs] : 0;
      }
    }
  }
}

/** The same panels from a row-major block (rows of length kc, zero rows up to a multiple of MR). */
function interleave(rows: Float64Array, mc: number, kc: number, out: Float64Array): void {
  let p = 0;
  for (let ip = 0; ip < mc; ip += MR) {
    const r0 = ip * kc;
    for (let kk = 0; kk < kc; kk++, p += MR) {
      out[p] = rows[r0 + kk];
      out[p + 1] = rows[r0 + kc + kk];
      out[p + 2] = rows[r0 + 2 * kc + kk];
      out[p + 3] = rows[r0 + 3 * kc + kk];
    }
  }
}

/** Adds the first `w` values of one row of a partial edge tile into C without allocating. */
function storeEdge(c: TypedArray, r: number, w: number, v0: number, v1: number, v2: number, v3: number): void {
  c[r] += v0;
  if (w > 1) c[r + 1] += v1;
  if (w > 2) c[r + 2] += v2;
  if (w > 3) c[r + 3] += v3;
}

// ---- the float32 path: WebAssembly SIMD micro-kernel --------------------------------------------

/**
 * Runs C (+)= A·B on the SIMD kernel; false (nothing written) if its memory cannot hold the operands.
 * Layout of the kernel's memory, in floats: B from 0, either packed (k-blocks of KC rows,
 * TILE_N-column panels) or, row-major, copied as is; then the C block (MC rows, n rounded up to
 * TILE_N; zeros, or C's rows when accumulating) that the tiles add onto and that is copied out once
 * per block of rows; then A: either all of a row-major or column-major A copied as is, or one
 * packed MC x KC block followed by an ImplicitA's source. The kernel reads operands copied as is in place, so they cost a memcpy
 * rather than a packing loop: the filter gradient of a convolution (im2col rows transposed, times
 * the output gradient) spent most of its time packing both.
 */
function simdGemm(
  kernel: SimdKernel,
  m: number,
  n: number,
  k: number,
  a: MatrixView | ImplicitA,
  b: MatrixView | PackedB | ResidentPanels,
  c: TypedArray,
  cOffset: number,
  accumulate: boolean,
  ldc: number,
  epilogue?: MemoryEpilogue,
): boolean {
  const n8 = roundUp(n, TILE_N);
  const mcMax = Math.min(MC, roundUp(m, TILE_M));
  const bView = 'rowStride' in b ? b : null;
  const residentB = 'panels' in b ? b.panels : null;
  // a row-major B is read in place (the kernel reads eight columns from each row: past n they are
  // the next row's or the slack after the copy, and their results are dropped)
  const bInPlace = bView !== null && bView.colStride === 1 && bView.rowStride >= n && (bView.rowStride <= Math.min(4 * n8, MAX_IN_PLACE_STEP) || m <= FEW_ROWS) && k * bView.rowStride <= MAX_IN_PLACE;
  // a packed B is laid out whole (all its columns when this product takes a block of them)
  const packedWidth8 = 'k' in b ? roundUp(b.columns?.width ?? n, TILE_N) : n8;
  // a constant's B (or an unwritten variable's) is resident (residentPanels); any other is copied
  // in or packed for each product
  const cBase = bInPlace ? (k - 1) * bView.rowStride + n8 : residentB ? 0 : k * packedWidth8;
  const aBase = cBase + mcMax * n8;
  const implicit = 'pack' in a ? a : null;
  const view = 'pack' in a ? null : a;
  const aLayout = view && inPlaceLayout(view, m, n, k);
  let aFloats: number;
  if (aLayout) aFloats = (roundUp(m, TILE_M) - 1) * aLayout.rowStride + (k - 1) * aLayout.step + 1;
  else aFloats = mcMax * Math.min(KC, k) + (implicit ? implicit.source.length : 0);
  const aSlot = aLayout ? residentSlot(kernel, view!.data, view!.offset, (m - 1) * aLayout.rowStride + (k - 1) * aLayout.step + 1, aFloats) : null;
  // the epilogue's extras (a bias row, a residual block) after A
  const eBase = roundUp(aBase + (aSlot ? 0 : aFloats), 4);
  const f = simdMemory(kernel, eBase + (epilogue ? epilogue.floats(mcMax, n8) : 0));
  if (!f) return false;
  // resident operands' addresses, once the working area is sized (sizing it may move them)
  const bAt = residentB ? residentAddress(kernel, residentB) : 0;
  const aAt = aSlot ? residentAddress(kernel, aSlot) : aBase;
  // an epilogue's rows are C's from cOffset / ldc (its callers pass one only where ldc = n)
  const onBlock = epilogue?.bind(f, eBase, mcMax, n, n8, cOffset / ldc);

  if (bInPlace) {
    copySpan(bView, (k - 1) * bView.rowStride + n, f, 0);
    simdB = { kernel: null, id: -1 };
  } else if (bView) {
    packB(bView, k, n, f, TILE_N, 0);
    simdB = { kernel: null, id: -1 };
  } else if (!residentB) {
    const packed = b as PackedB;
    if (packed.id === undefined || packed.id !== simdB.id || simdB.kernel !== kernel) {
      relayoutPackedB(packed, f, packedWidth8);
      simdB = { kernel, id: packed.id ?? -1 };
    }
  }
  const firstColumn = 'k' in b ? (b.columns?.from ?? 0) : 0;
  const srcBase = aBase + mcMax * Math.min(KC, k);
  if (aLayout && !aSlot) copySpan(view!, (m - 1) * aLayout.rowStride + (k - 1) * aLayout.step + 1, f, aBase);
  else if (implicit) f.set(implicit.source, srcBase);

  const ldcBytes = n8 * 4;
  for (let ic = 0; ic < m; ic += MC) {
    const mc = Math.min(MC, m - ic);
    const mcTiles = roundUp(mc, TILE_M);
    // the tiles add onto the block: zeros, or C's rows when accumulating (two copies, not a JavaScript add per value)
    kernel.zero(cBase * 4, mcTiles * n8 * 4);
    if (accumulate && n === n8 && ldc === n) f.set(c.subarray(cOffset + ic * n, cOffset + (ic + mc) * n), cBase);
    else if (accumulate) for (let i = 0; i < mc; i++) f.set(c.subarray(cOffset + (ic + i) * ldc, cOffset + (ic + i) * ldc + n), cBase + i * n8);
    for (let k0 = 0; k0 < k; k0 += KC) {
      const kc = Math.min(KC, k - k0);
      let aPtr: number;
      let lda: number;
      let aStep = 4;
      if (aLayout) {
        aPtr = (aAt + ic * aLayout.rowStride + k0 * aLayout.step) * 4;
        lda = aLayout.rowStride * 4;
        aStep = aLayout.step * 4;
      } else {
        if (implicit) implicit.pack(ic, mc, k0, kc, f, aBase, kc, f, srcBase);
        else packRows(view!, ic, mc, k0, kc, f, aBase);
        aPtr = aBase * 4;
        lda = kc * 4;
      }
      // B's k-block from k0: in place, rows of its stride and panels side by side; packed, panels of kc rows of TILE_N
      const bRead = bInPlace
        ? { b: (bAt + k0 * bView.rowStride) * 4, bPanel: TILE_N * 4, bStep: bView.rowStride * 4 }
        : { b: (bAt + k0 * packedWidth8 + firstColumn * kc) * 4, bPanel: TILE_N * kc * 4, bStep: TILE_N * 4 };
      // only the kernel over the shared memory may hand tiles to the workers
      const parallel = kernel === simdKernel(true) && splitsBlock(mcTiles, n8, kc);
      if (m <= TILE_M && bInPlace && !parallel) {
        rowsAxpy(kernel, m, cBase * 4, ldcBytes, aPtr, lda, aStep, bRead.b, bRead.bStep, kc);
        continue;
      }
      if (m <= TILE_M && residentB && !parallel) {
        panelRows(kernel, m, cBase * 4, ldcBytes, aPtr, lda, aStep, bRead.b, bRead.bPanel, kc, n8 / TILE_N);
        continue;
      }
      const block: TileBlock = { a: aPtr, lda, aStep, ...bRead, kc, c: cBase * 4, ldc: ldcBytes, rowTiles: mcTiles / TILE_M, panels: n8 / TILE_N };
      runTiles(kernel, block, parallel);
    }
    onBlock?.(cBase, ic, mc);
    if (n === n8 && ldc === n) {
      // rows of C are contiguous on both sides: one copy for the block (not a subarray per row)
      c.set(f.subarray(cBase, cBase + mc * n), cOffset + ic * n);
      continue;
    }
    for (let i = 0; i < mc; i++) c.set(f.subarray(cBase + i * n8, cBase + i * n8 + n), cOffset + (ic + i) * ldc);
  }
  return true;
}

/**
 * C's first `rows` rows (1 to 4; row stride `ldc` bytes, all `ldc` wide) += A's rows times B's rows
 * k = 0 .. kc - 1, B streamed along its rows once for all of them; the steps left over after the
 * passes run row by row.
 */
function rowsAxpy(kernel: SimdKernel, rows: number, c: number, ldc: number, a: number, lda: number, aStep: number, b: number, bStep: number, kc: number): void {
  const steps = ROWS_AXPY_STEPS[rows as 1 | 2 | 3 | 4];
  const passes = Math.floor(kc / steps);
  const kernelFor = [kernel.rowAxpy4, kernel.rowsAxpy2, kernel.rowsAxpy3, kernel.rowsAxpy4][rows - 1];
  if (passes) kernelFor(c, ldc, a, lda, aStep, b, bStep, passes, ldc);
  const done = passes * steps;
  if (done < kc) for (let r = 0; r < rows; r++) kernel.rowAxpy1(c + r * ldc, ldc, a + r * lda + done * aStep, lda, aStep, b + done * bStep, bStep, kc - done, ldc);
}

/**
 * C's first `rows` rows (1 to 4; row stride `ldc` bytes) += A's rows times a k-block of `panels`
 * packed panels of B (kc steps each, `bPanel` bytes apart), read once in one stream; the steps past
 * the last whole group of chains go through the one-chain form.
 */
function panelRows(kernel: SimdKernel, rows: number, c: number, ldc: number, a: number, lda: number, aStep: number, b: number, bPanel: number, kc: number, panels: number): void {
  const phases = PANEL_ROWS_PHASES[rows as 1 | 2 | 3 | 4];
  const chained = kc - (kc % phases);
  const [kernelFor, rest] = [
    [kernel.panelRows1, kernel.panelRows1x1],
    [kernel.panelRows2, kernel.panelRows2x1],
    [kernel.panelRows3, kernel.panelRows3],
    [kernel.panelRows4, kernel.panelRows4],
  ][rows - 1];
  if (chained) kernelFor(c, ldc, a, lda, aStep, b, bPanel, chained, panels);
  if (chained < kc) rest(c, ldc, a + chained * aStep, lda, aStep, b + chained * TILE_N * 4, bPanel, kc - chained, panels);
}

/**
 * C[m x n] (+)= a[m x k] · B for one to four rows and a transposed B, that is W^T with W [n x k]
 * row-major: dot products of W's rows with a's rows (a constant W is kept in panels instead). False
 * (nothing written) if the kernel's memory cannot hold the operands.
 */
function rowDots(kernel: SimdKernel, m: number, n: number, k: number, a: MatrixView, b: MatrixView, c: TypedArray, cOffset: number, accumulate: boolean): boolean {
  const w: MatrixView = { data: b.data, offset: b.offset, rowStride: b.colStride, colStride: 1 };
  const wFloats = (n - 1) * w.rowStride + k;
  const ldx = roundUp(k, 4);
  const xBase = roundUp(wFloats, 4);
  const sumsBase = xBase + m * ldx;
  const outBase = sumsBase + 4 * m * n;
  const f = simdMemory(kernel, outBase + m * n);
  if (!f) return false;
  copySpan(w, wFloats, f, 0);
  simdB = { kernel: null, id: -1 };
  for (let r = 0; r < m; r++) for (let p = 0; p < k; p++) f[xBase + r * ldx + p] = a.data[a.offset + r * a.rowStride + p * a.colStride];
  // four lane sums per (row of W, row of a) over k rounded down to 4, groups of W's rows at a time;
  // the lanes, the last k % 4 terms and (past one row of a) the rows after the last group added here
  const k4 = k & ~3;
  const group = ROWS_DOT_GROUP[m as 1 | 2 | 3 | 4];
  const groups = Math.floor(n / group);
  const summed = k4 ? (m === 1 ? n : groups * group) : 0;
  if (k4 && groups) [kernel.rowDot4, kernel.rowsDot2, kernel.rowsDot3, kernel.rowsDot4][m - 1](sumsBase * 4, 0, w.rowStride * 4, xBase * 4, ldx * 4, k4 * 4, groups);
  if (k4 && m === 1 && groups * group < n) {
    const from = groups * group;
    kernel.rowDot1((sumsBase + 4 * from) * 4, from * w.rowStride * 4, w.rowStride * 4, xBase * 4, ldx * 4, k4 * 4, n - from);
  }
  // every sum whole in its lanes (k a multiple of 4, every row of W in a group): added in the kernel
  if (k4 > 0 && k4 === k && n > 0 && summed === n && !accumulate) {
    kernel.laneSums(sumsBase * 4, outBase * 4, m, n);
    c.set(f.subarray(outBase, outBase + m * n), cOffset);
    return true;
  }
  for (let j = 0; j < n; j++) {
    const row = j * w.rowStride;
    for (let r = 0; r < m; r++) {
      const s = sumsBase + 4 * (j * m + r);
      const start = j < summed ? k4 : 0;
      let sum = j < summed ? f[s] + f[s + 1] + f[s + 2] + f[s + 3] : 0;
      for (let p = start, x = xBase + r * ldx; p < k; p++) sum += f[row + p] * f[x + p];
      const at = cOffset + r * n + j;
      c[at] = accumulate ? c[at] + sum : sum;
    }
  }
  return true;
}

/** C^T of productTransposed, kept across calls. */
const transposedC = kernelScratch();

/**
 * C (+)= A·B for a few rows of A and a transposed B (B^T row-major: a dense layer's x·W^T), as
 * C^T = B^T·A^T on the SIMD kernel: B^T is read in place and only A^T (k x m) is packed, then C^T
 * is written back transposed. Packing B would touch all of its k x n values for a product that
 * uses each only m times. False where the kernel's memory cannot hold the operands.
 */
function productTransposed(kernel: SimdKernel, m: number, n: number, k: number, a: MatrixView, b: MatrixView, c: TypedArray, cOffset: number, accumulate: boolean): boolean {
  const ct = transposedC('float32', n * m) as Float32Array;
  const bt: MatrixView = { data: b.data, offset: b.offset, rowStride: b.colStride, colStride: 1 };
  const at: MatrixView = { data: a.data, offset: a.offset, rowStride: a.colStride, colStride: a.rowStride };
  if (!simdGemm(kernel, n, m, k, bt, at, ct, 0, false, m)) return false;
  for (let i = 0; i < m; i++) {
    const row = cOffset + i * n;
    if (accumulate) for (let j = 0; j < n; j++) c[row + j] += ct[j * m + i];
    else for (let j = 0; j < n; j++) c[row + j] = ct[j * m + i];
  }
  return true;
}

/**
 * How the kernel reads a view of A in place, in floats (element (i, k) at i * rowStride + k * step):
 * rows contiguous over k (row-major) or columns contiguous over i (column-major, a transposed A),
 * densely spaced; null where it is packed instead (a C of n columns reuses a packed A n / 8
 * times). The kernel may read up to TILE_M - 1 rows past the last (in the span copied, or the
 * slack after it), whose results are dropped.
 */
function inPlaceLayout(view: MatrixView, m: number, n: number, k: number): { rowStride: number; step: number } | null {
  const { rowStride, colStride } = view;
  if (colStride === 1 && rowStride >= 1 && rowStride <= 4 * k && m * rowStride <= MAX_IN_PLACE) return { rowStride, step: 1 };
  // a transposed A is read in place when its steps are short, or when C is narrow: packing it costs
  // as much as a product with few columns (a convolution's filter gradient, col^T · dy, has Cout
  // columns). One-off measurements at 251799c: Cout 16 to 64 ran 1.3-1.7x faster in place at steps
  // of 288 and 576; a dense layer's gradient, 1024 columns, 10% slower at 784.
  const shortSteps = colStride <= MAX_IN_PLACE_STEP || n <= NARROW_C;
  if (rowStride === 1 && colStride >= 1 && colStride <= 4 * roundUp(m, TILE_M) && shortSteps && k * colStride <= MAX_IN_PLACE) return { rowStride: 1, step: colStride };
  return null;
}

/** Copies `floats` of a view's data from its offset (fewer where the data ends first) into `f` at `at`. */
function copySpan(view: MatrixView, floats: number, f: Float32Array, at: number): void {
  const span = Math.min(floats, view.data.length - view.offset);
  f.set(view.data.subarray(view.offset, view.offset + span), at);
}

/** Re-lays a `packMatrixB` result (float64, NR-column panels; all of it for a column block) as the SIMD kernel's B at 0. */
function relayoutPackedB(b: PackedB, f: Float32Array, n8: number): void {
  const { k, data } = b;
  const n = b.columns?.width ?? b.n;
  const n4 = roundUp(n, NR);
  let p = 0;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = Math.min(KC, k - k0);
    for (let j0 = 0; j0 < n8; j0 += TILE_N) {
      // a TILE_N panel is two NR panels side by side (the second absent past n4: zeros)
      const lo = k0 * n4 + j0 * kc;
      const hasHi = j0 + NR < n4;
      const hi = lo + NR * kc;
      for (let kk = 0; kk < kc; kk++, p += TILE_N) {
        const l = lo + kk * NR;
        f[p] = data[l]; f[p + 1] = data[l + 1]; f[p + 2] = data[l + 2]; f[p + 3] = data[l + 3];
        if (hasHi) {
          const h = hi + kk * NR;
          f[p + 4] = data[h]; f[p + 5] = data[h + 1]; f[p + 6] = data[h + 2]; f[p + 7] = data[h + 3];
        } else {
          f[p + 4] = 0; f[p + 5] = 0; f[p + 6] = 0; f[p + 7] = 0;
        }
      }
    }
  }
}
