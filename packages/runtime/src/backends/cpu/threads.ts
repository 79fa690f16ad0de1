import { GraphcError } from '@graphc/graph';
import { SimdKernel, TILE_M, TILE_N, sharedSimdKernel } from './wasm-simd';

/**
 * Worker threads for the float32 GEMM and the convolutions read as windows (TensorFlow's intra-op
 * parallelism, onnxruntime's intraOpNumThreads), in Node. Every thread instantiates the SIMD module
 * over one shared memory; for each block of C (each window-read convolution) the main thread writes
 * the job into a shared control array and wakes the workers, and each thread (the main one
 * included) computes the tiles of every `threads`-th column panel (output row), so no two write
 * the same tile and the sums are those of one thread.
 * The main thread waits for the others with a timeout: a worker that died is an error, not a hang.
 */

// control array: generation counter (workers wait on it), finished workers, then the job: its
// kind, its thread count (negative: the workers stop) and its fields (a TileBlock's or a
// WindowBlock's, in their order)
const GEN = 0;
const DONE = 1;
const JOB = 2;
const JOB_LENGTH = 18;
const [KIND, THREADS] = [0, 1];
const [TILE_JOB, WINDOW_JOB] = [0, 1];
const WAIT_MS = 30000;

/**
 * One thread's share of a GEMM block: the tiles of column panels index, index + threads, ... (byte
 * addresses as SimdKernel.tile takes them; column panel p of B starts at b + p * bPanel). The
 * workers run this same function: its source is written into theirs, so the split cannot differ
 * between the threads.
 */
function tileShare(
  tile: SimdKernel['tile'],
  tilePacked: SimdKernel['tilePacked'],
  job: ArrayLike<number>,
  index: number,
  tileM: number,
  tileN: number,
): void {
  const threads = job[1];
  const [a, lda, aStep, b, bPanel, bStep, kc, c, ldc, rowTiles, panels] = Array.from(job).slice(2);
  // the usual steps (a row-major or packed A, a packed B) as the kernel's constants
  const run = aStep === 4 && bStep === 4 * tileN ? tilePacked : tile;
  for (let p = index; p < panels; p += threads) {
    const bp = b + p * bPanel;
    const cp = c + p * tileN * 4;
    for (let r = 0; r < rowTiles; r++) run(a + r * tileM * lda, lda, aStep, bp, bStep, kc, cp + r * tileM * ldc, ldc);
  }
}

/**
 * One thread's share of a convolution read as windows: output rows index, index + threads, ...
 * (row r is row r % rowsPerImage of image r / rowsPerImage), each a run of tiles along the row for
 * every column panel (byte addresses as SimdKernel.windowTile takes them). Rows, not panels, are
 * split: a convolution has few output channels and many rows.
 */
function windowShare(
  windowTile: SimdKernel['windowTile'],
  job: ArrayLike<number>,
  index: number,
  tileM: number,
  tileN: number,
): void {
  const threads = job[1];
  const [a, lda, b, bStep, kc, segments, segStride, c, ldc, rowTiles, panels, rows, rowsPerImage, imageStride, aRowStride, cRowStride] = Array.from(job).slice(2);
  for (let r = index; r < rows; r += threads) {
    const image = Math.floor(r / rowsPerImage);
    const ar = a + image * imageStride + (r - image * rowsPerImage) * aRowStride;
    const cr = c + r * cRowStride;
    for (let p = 0; p < panels; p++) {
      for (let t = 0; t < rowTiles; t++) windowTile(ar + t * tileM * lda, lda, b + p * tileN * 4, bStep, kc, segments, segStride, cr + t * tileM * ldc + p * tileN * 4, ldc);
    }
  }
}

const WORKER_SOURCE = `
const { workerData } = require('worker_threads');
const { bytes, memory, control, index } = workerData;
const { tile, tilePacked, windowTile } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const ctrl = new Int32Array(control);
const tileShare = ${tileShare.toString()};
const windowShare = ${windowShare.toString()};
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, ${GEN}, seen);
  seen = Atomics.load(ctrl, ${GEN});
  const job = ctrl.slice(${JOB}, ${JOB + JOB_LENGTH});
  if (job[${THREADS}] < 0) break;
  if (job[${KIND}] === ${WINDOW_JOB}) windowShare(windowTile, job, index, ${TILE_M}, ${TILE_N});
  else tileShare(tile, tilePacked, job, index, ${TILE_M}, ${TILE_N});
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}
`;

interface Pool {
  control: Int32Array;
  workers: { terminate(): Promise<number> }[];
}

/** Threads asked for (1: none), and the workers, started at the first block that uses them. */
let wanted = 1;
let pool: Pool | null = null;

/** Node's worker_threads, or null (a browser: the bundle stubs Node's modules). */
function workerThreads(): { Worker: new (source: string, options: object) => { unref(): void; terminate(): Promise<number>; on(e: string, f: (err: unknown) => void): void } } | null {
  try {
    if (typeof process === 'undefined' || !process.versions?.node) return null;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('worker_threads');
    return mod && typeof mod.Worker === 'function' ? mod : null;
  } catch {
    return null;
  }
}

/**
 * Runs float32 GEMM blocks on `threads` threads (the calling one included) from now on; returns the
 * number in effect: 1 where worker threads, shared memory or WebAssembly SIMD are unavailable.
 */
export function startThreads(threads: number): number {
  stopThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new GraphcError(`cpu threads must be a positive integer, got ${threads}`);
  // the kernel switches to the shared memory now (operands are written into it); the workers start
  // at the first block large enough to use them, so a small model never starts one
  if (threads === 1 || !workerThreads() || !sharedSimdKernel(true)) return 1;
  wanted = threads;
  return threads;
}

function startPool(): Pool {
  const wt = workerThreads()!;
  const shared = sharedSimdKernel(true)!;
  const control = new Int32Array(new SharedArrayBuffer((JOB + JOB_LENGTH) * 4));
  const workers = Array.from({ length: wanted - 1 }, (_, k) => {
    const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { bytes: shared.bytes, memory: shared.kernel.memory, control: control.buffer, index: k + 1 } });
    w.unref(); // idle workers never keep the process alive
    w.on('error', () => undefined); // a dead worker shows as a timeout of the block it missed
    return w;
  });
  return { control, workers };
}

/** Back to one thread: the workers are told to stop. */
export function stopThreads(): void {
  if (pool) {
    const { control, workers } = pool;
    control[JOB + THREADS] = -1;
    Atomics.add(control, GEN, 1);
    Atomics.notify(control, GEN);
    for (const w of workers) void w.terminate();
    pool = null;
  }
  if (wanted > 1) sharedSimdKernel(false);
  wanted = 1;
}

/** The threads a GEMM block may use now (1: one). */
export function gemmThreads(): number {
  return wanted;
}

/**
 * One block of C for the SIMD kernel: `panels` column panels of TILE_N by `rowTiles` row tiles of
 * TILE_M, byte addresses and strides as `SimdKernel.tile` takes them, column panel p of B at
 * `b + p * bPanel`.
 */
export interface TileBlock {
  a: number;
  lda: number;
  aStep: number;
  b: number;
  bPanel: number;
  bStep: number;
  kc: number;
  c: number;
  ldc: number;
  rowTiles: number;
  panels: number;
}

/**
 * A convolution read as windows (see windowShare): `rows` output rows of `rowTiles` tiles by
 * `panels` column panels, byte addresses and strides as `SimdKernel.windowTile` takes them; row r's
 * windows start at `a + (r / rowsPerImage) * imageStride + (r % rowsPerImage) * aRowStride` and its
 * tiles at `c + r * cRowStride`.
 */
export interface WindowBlock {
  a: number;
  lda: number;
  b: number;
  bStep: number;
  kc: number;
  segments: number;
  segStride: number;
  c: number;
  ldc: number;
  rowTiles: number;
  panels: number;
  rows: number;
  rowsPerImage: number;
  imageStride: number;
  aRowStride: number;
  cRowStride: number;
}

/** Every tile of `block`, on this thread or (`parallel`) spread over the threads. */
export function runTiles(kernel: SimdKernel, block: TileBlock, parallel: boolean): void {
  const { a, lda, aStep, b, bPanel, bStep, kc, c, ldc, rowTiles, panels } = block;
  runJob(TILE_JOB, [a, lda, aStep, b, bPanel, bStep, kc, c, ldc, rowTiles, panels], parallel, (job) => tileShare(kernel.tile, kernel.tilePacked, job, 0, TILE_M, TILE_N));
}

/** Every window tile of `block`, on this thread or (`parallel`) spread over the threads. */
export function runWindows(kernel: SimdKernel, block: WindowBlock, parallel: boolean): void {
  const { a, lda, b, bStep, kc, segments, segStride, c, ldc, rowTiles, panels, rows, rowsPerImage, imageStride, aRowStride, cRowStride } = block;
  const fields = [a, lda, b, bStep, kc, segments, segStride, c, ldc, rowTiles, panels, rows, rowsPerImage, imageStride, aRowStride, cRowStride];
  runJob(WINDOW_JOB, fields, parallel, (job) => windowShare(kernel.windowTile, job, 0, TILE_M, TILE_N));
}

/** Runs this thread's share of a job (`own`), the workers theirs when `parallel`, and waits for them. */
function runJob(kind: number, fields: number[], parallel: boolean, own: (job: number[]) => void): void {
  const threads = parallel ? wanted : 1;
  const job = [kind, threads, ...fields];
  if (threads === 1) {
    own(job);
    return;
  }
  pool ??= startPool();
  const { control } = pool;
  control.set(job, JOB);
  Atomics.store(control, DONE, 0);
  Atomics.add(control, GEN, 1);
  Atomics.notify(control, GEN);
  own(job);
  for (;;) {
    const done = Atomics.load(control, DONE);
    if (done >= threads - 1) return;
    if (Atomics.wait(control, DONE, done, WAIT_MS) === 'timed-out' && Atomics.load(control, DONE) === done) {
      stopThreads();
      throw new GraphcError(`cpu threads: ${threads - 1 - done} worker(s) did not finish a block in ${WAIT_MS / 1000} s; back to one thread`);
    }
  }
}
