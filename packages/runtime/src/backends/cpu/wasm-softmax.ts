import { V128_ZERO, ensureMemory, functionsModule, get, i32, lazyModule, op, set, simd, simdMem, simdOp } from './wasm-assembler';
import { simdRows } from './wasm-elementwise';
import { Code, FunctionWriter, expNonPositive, f32x4, f64LaneSum, mul, promoteHigh, promoteLow, sub } from './wasm-vector-math';

/**
 * float32 softmax and logSoftmax along the last axis on WebAssembly SIMD, four values at a time, for
 * rows of a multiple of 4 values: per row, the maximum (NaN skipped, as the JavaScript kernel's
 * comparisons skip it), then e^(x - max) with wasm-vector-math's polynomial (within a few float32
 * ulps of Math.exp) summed in float64, then each value scaled by 1 / sum, or shifted by
 * max + log(sum) (one Math.log per row, in JavaScript). The JavaScript kernel computes each e^x in
 * double: results agree within a few float32 ulps (1.2e-38 absolute where a probability leaves
 * float32's normal range: it is 0 here, never subnormal), and NaN and infinities give what they give
 * there (a row holding NaN or +Infinity is NaN).
 * `node bench/kernels.js --only softmax`: [8, 4, 128, 128] ran 11.4 ms in JavaScript (22bb504), 3.1
 * ms here (e5ad821).
 */

const FLOAT = 4;
/** The halves swapped (lanes 2, 3, 0, 1). */
const HALVES = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/** Lanes swapped by pairs (1, 0, 3, 2). */
const PAIRS = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];
const shuffle = (v: Code, bytes: number[]): Code => [...v, ...v, ...simd(simdOp.i8x16Shuffle), ...bytes];
/** b > a ? b : a, a NaN b skipped as the JavaScript kernel's comparisons skip it (its e^x makes the row NaN). */
const pmax = (a: Code, b: Code): Code => [...a, ...b, ...simd(simdOp.f32x4Pmax)];
const addF64 = (a: Code, b: Code): Code => [...a, ...b, ...simd(simdOp.f64x2Add)];

/** The smallest normal float32 (2^-126). */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * e * factor, 0 where that is below float32's normal range in magnitude (the factor is negative in
 * a cross entropy's gradient for a negative dy). A probability there is 0 to within 1.2e-38, and a
 * subnormal one would slow every product that reads it: x86 cores take a microcode assist per
 * subnormal operand, and WebAssembly cannot turn them off (a masked attention's weights times V ran
 * 30x slower, 64 against 2 ms, with the masked keys' weights subnormal).
 */
function scaleFlushed(w: FunctionWriter, e: Code, factor: Code): Code {
  const v = w.keep(mul(e, factor));
  const subnormal = [...v, ...simd(simdOp.f32x4Abs), ...f32x4(FLOAT32_MIN_NORMAL), ...simd(simdOp.f32x4Lt)];
  return [...f32x4(0), ...v, ...subnormal, ...simd(simdOp.v128Bitselect)];
}

/**
 * `rowStats(x, e, rows, rowBytes, stats)`: for each row of `rowBytes` at x, its maximum (float32)
 * and the float64 sum of e^(x - max) into stats (16 bytes a row: the sum, then the maximum as a
 * float64), e^(x - max) itself into e. `scaleRows(x, out, rows, rowBytes, factors)`: out = x * the
 * row's float32 factor. `shiftRows(x, out, rows, rowBytes, shifts)`: out = x - the row's shift.
 */
function softmaxModule(): Uint8Array<ArrayBuffer> {
  const [X, E, ROWS, ROW_BYTES, STATS] = [0, 1, 2, 3, 4];
  const OFF = 5; // the one i32 local: the byte offset within the row
  const load = (base: number): Code => [...get(base), ...get(OFF), op.i32Add, ...simdMem(simdOp.v128Load, 2)];
  /** For each row: `body` over its vectors, then x and e move on a row and STATS by `statsBytes`. */
  const rowFunction = (w: FunctionWriter, statsBytes: number, body: () => void): number[] => {
    w.countdown(ROWS, () => {
      body();
      for (const p of [X, E]) w.emit([...get(p), ...get(ROW_BYTES), op.i32Add, ...set(p)]);
      w.emit([...get(STATS), ...i32(statsBytes), op.i32Add, ...set(STATS)]);
    });
    return w.code();
  };

  const stats = new FunctionWriter(5, 1);
  const rowStats = rowFunction(stats, 16, () => {
    const M = stats.local(f32x4(-Infinity));
    stats.overVectors(OFF, get(ROW_BYTES), () => stats.emit(pmax(get(M), load(X)), set(M)));
    // every lane the row's maximum
    stats.emit(pmax(get(M), shuffle(get(M), HALVES)), set(M));
    stats.emit(pmax(get(M), shuffle(get(M), PAIRS)), set(M));
    // float64 sums of lanes 0, 1 and of lanes 2, 3
    const [LO, HI] = [stats.local(V128_ZERO), stats.local(V128_ZERO)];
    stats.overVectors(OFF, get(ROW_BYTES), () => {
      const e = stats.keep(expNonPositive(stats, sub(load(X), get(M))));
      stats.emit([...get(E), ...get(OFF), op.i32Add], e, simdMem(simdOp.v128Store, 2));
      stats.emit(addF64(get(LO), promoteLow(e)), set(LO));
      stats.emit(addF64(get(HI), promoteHigh(e)), set(HI));
    });
    // stats[row] = (lo0 + lo1) + (hi0 + hi1), then the maximum
    stats.emit(get(STATS), f64LaneSum(get(LO)), f64LaneSum(get(HI)), [op.f64Add, op.f64Store, 3, 0]);
    stats.emit(get(STATS), get(M), [...simd(simdOp.f32x4ExtractLane), 0, op.f64PromoteF32, op.f64Store, 3, 8]);
  });

  const perRow = (combine: (w: FunctionWriter, x: Code, factor: Code) => Code): number[] => {
    const w = new FunctionWriter(5, 1);
    return rowFunction(w, FLOAT, () => {
      const factor = w.keep([...get(STATS), ...simdMem(simdOp.v128Load32Splat, 2)]);
      w.overVectors(OFF, get(ROW_BYTES), () => w.emit([...get(E), ...get(OFF), op.i32Add], combine(w, load(X), factor), simdMem(simdOp.v128Store, 2)));
    });
  };
  return functionsModule([
    { name: 'rowStats', params: 5, code: rowStats },
    { name: 'scaleRows', params: 5, code: perRow(scaleFlushed) },
    { name: 'shiftRows', params: 5, code: perRow((_w, x, shift) => sub(x, shift)) },
  ]);
}

type RowFn = (x: number, out: number, rows: number, rowBytes: number, perRow: number) => void;
interface SoftmaxKernel {
  memory: WebAssembly.Memory;
  rowStats: RowFn;
  scaleRows: RowFn;
  shiftRows: RowFn;
}

const kernel = lazyModule<SoftmaxKernel>(softmaxModule);

/** Values per chunk: x and e of a chunk stay in L2. */
const CHUNK = 1 << 15;

/**
 * softmax (or logSoftmax) of float32 `x`, rows of `len` values along the last axis, into `out` on
 * WebAssembly SIMD; false where it does not apply (a row length not a multiple of 4, too few values,
 * SIMD off) and the caller runs the JavaScript loop.
 */
export function softmaxRowsSimd(x: Float32Array, out: Float32Array, len: number, log: boolean): boolean {
  return softmaxRowsWith(x, len, out, log ? 'shift' : 'scale', (_row, max, sum) => (log ? max + Math.log(sum) : 1 / sum));
}

/**
 * The softmax pass over float32 rows of `len` values: per row, its max and the float64 sum of
 * e^(x - max); `perRow(row, max, sum)` gives the row's factor, then `out` (when given) receives
 * e^(x - max) times the factor ('scale') or x minus it ('shift'). Without `out`, perRow just sees
 * every row's statistics (a cross entropy's loss). False where it does not apply (see
 * softmaxRowsSimd); nothing is called then.
 */
export function softmaxRowsWith(x: Float32Array, len: number, out: Float32Array | null, mode: 'scale' | 'shift', perRow: (row: number, max: number, sum: number) => number): boolean {
  if (!simdRows(x.length, len)) return false;
  const k = kernel();
  if (!k) return false;
  const rows = x.length / len;
  const chunkRows = Math.max(1, Math.floor(CHUNK / len));
  // floats: x, e, then 4 per row for the float64 stats, then the per-row factors
  const [X, E, STATS] = [0, chunkRows * len, 2 * chunkRows * len];
  const FACTORS = STATS + 4 * chunkRows;
  if (!ensureMemory(k.memory, (FACTORS + chunkRows) * FLOAT)) return false;
  const f = new Float32Array(k.memory.buffer);
  const stats = new Float64Array(k.memory.buffer, STATS * FLOAT, 2 * chunkRows);
  for (let r0 = 0; r0 < rows; r0 += chunkRows) {
    const count = Math.min(chunkRows, rows - r0);
    f.set(x.subarray(r0 * len, (r0 + count) * len), X);
    k.rowStats(X * FLOAT, E * FLOAT, count, len * FLOAT, STATS * FLOAT);
    for (let r = 0; r < count; r++) f[FACTORS + r] = perRow(r0 + r, stats[2 * r + 1], stats[2 * r]);
    if (!out) continue;
    if (mode === 'shift') k.shiftRows(X * FLOAT, E * FLOAT, count, len * FLOAT, FACTORS * FLOAT);
    else k.scaleRows(E * FLOAT, E * FLOAT, count, len * FLOAT, FACTORS * FLOAT);
    out.set(f.subarray(E, E + count * len), r0 * len);
  }
  return true;
}
