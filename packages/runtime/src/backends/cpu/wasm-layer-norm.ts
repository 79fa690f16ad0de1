import { V128_ZERO, ensureMemory, functionsModule, get, i32, lazyModule, op, set, simd, simdMem, simdOp } from './wasm-assembler';
import { simdRows } from './wasm-elementwise';
import { Code, FunctionWriter, add, f64LaneSum, mul, promoteHigh, promoteLow } from './wasm-vector-math';

/**
 * float32 layerNorm over the last axis on WebAssembly SIMD, for rows of a multiple of 4 values with
 * a scale (and bias) of one value per column: per row, the float64 sum, then the float64 sum of
 * squares about the mean (the JavaScript kernel's two passes, four lanes at a time, so the sums
 * differ from its sequential ones in the last bits of a double), then (x - mean) * inverse std in
 * float64, rounded to float32, times the scale plus the bias in float32: within a few float32 ulps
 * of the JavaScript kernel, which rounds once at the end. rmsNorm is the same with a mean of 0.
 */

const FLOAT = 4;
/** Lanes 0, 1 of two vectors side by side (a's then b's). */
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

const f64 = (code: number) => (a: Code, b: Code): Code => [...a, ...b, ...simd(code)];
const [addF64, subF64, mulF64] = [f64(simdOp.f64x2Add), f64(simdOp.f64x2Sub), f64(simdOp.f64x2Mul)];

/**
 * `moments(x, rows, rowBytes, stats)`: per row of x, its float64 sum, then (with the mean, sum / n,
 * n = rowBytes / 4) the float64 sum of squared deviations, into stats (16 bytes a row: the mean,
 * then that sum); `squares` the same sum about 0 (rmsNorm), at the same place.
 * `normalize(x, out, rows, rowBytes, stats, scale, bias)`: out = float32((x - mean) *
 * inv) * scale + bias, stats holding (mean, inv) per row as float64.
 */
function layerNormModule(): Uint8Array<ArrayBuffer> {
  const load = (base: number, off: number): Code => [...get(base), ...get(off), op.i32Add, ...simdMem(simdOp.v128Load, 2)];
  /** For each row: `body`, then the row pointers move on a row and the stats pointer 16 bytes. */
  const rowFunction = (w: FunctionWriter, rows: number, rowBytes: number, pointers: number[], stats: number, body: () => void): number[] => {
    w.countdown(rows, () => {
      body();
      for (const p of pointers) w.emit([...get(p), ...get(rowBytes), op.i32Add, ...set(p)]);
      w.emit([...get(stats), ...i32(16), op.i32Add, ...set(stats)]);
    });
    return w.code();
  };

  const [X, ROWS, ROW_BYTES, STATS] = [0, 1, 2, 3];
  /** The row's float64 sum of squares about `mean` (a float64 splat; none: about 0) into stats + 8. */
  const sumOfSquares = (w: FunctionWriter, off: number, mean?: number): void => {
    const [SQ_LO, SQ_HI] = [w.local(V128_ZERO), w.local(V128_ZERO)];
    w.overVectors(off, get(ROW_BYTES), () => {
      const v = w.keep(load(X, off));
      const lo = w.keep(mean === undefined ? promoteLow(v) : subF64(promoteLow(v), get(mean)));
      const hi = w.keep(mean === undefined ? promoteHigh(v) : subF64(promoteHigh(v), get(mean)));
      w.emit(addF64(get(SQ_LO), mulF64(lo, lo)), set(SQ_LO));
      w.emit(addF64(get(SQ_HI), mulF64(hi, hi)), set(SQ_HI));
    });
    w.emit([...get(STATS), ...f64LaneSum(get(SQ_LO)), ...f64LaneSum(get(SQ_HI)), op.f64Add, op.f64Store, 3, 8]);
  };

  const m = new FunctionWriter(4, 1);
  const OFF = m.i32Local(0);
  const moments = rowFunction(m, ROWS, ROW_BYTES, [X], STATS, () => {
    const [LO, HI] = [m.local(V128_ZERO), m.local(V128_ZERO)];
    m.overVectors(OFF, get(ROW_BYTES), () => {
      const v = m.keep(load(X, OFF));
      m.emit(addF64(get(LO), promoteLow(v)), set(LO));
      m.emit(addF64(get(HI), promoteHigh(v)), set(HI));
    });
    // the mean: the sum over n = rowBytes / 4, as a float64 splat
    const count = [...get(ROW_BYTES), ...i32(2), op.i32ShrU, op.f64ConvertI32U];
    const MEAN = m.local([...f64LaneSum(get(LO)), ...f64LaneSum(get(HI)), op.f64Add, ...count, op.f64Div, ...simd(simdOp.f64x2Splat)]);
    m.emit([...get(STATS), ...get(MEAN), ...simd(simdOp.f64x2ExtractLane), 0, op.f64Store, 3, 0]);
    sumOfSquares(m, OFF, MEAN);
  });

  // rmsNorm's moments: the float64 sum of squares (the caller sets each row's mean to 0)
  const q = new FunctionWriter(4, 1);
  const QOFF = q.i32Local(0);
  const squares = rowFunction(q, ROWS, ROW_BYTES, [X], STATS, () => sumOfSquares(q, QOFF));

  const [NX, OUT, NROWS, NROW_BYTES, NSTATS, SCALE, BIAS] = [0, 1, 2, 3, 4, 5, 6];
  const n = new FunctionWriter(7, 1);
  const NOFF = n.i32Local(0);
  const normalize = rowFunction(n, NROWS, NROW_BYTES, [NX, OUT], NSTATS, () => {
    const MEAN = n.local([...get(NSTATS), ...simdMem(simdOp.v128Load64Splat, 3, 0)]);
    const INV = n.local([...get(NSTATS), ...simdMem(simdOp.v128Load64Splat, 3, 8)]);
    n.overVectors(NOFF, get(NROW_BYTES), () => {
      const v = n.keep(load(NX, NOFF));
      const lo = [...mulF64(subF64(promoteLow(v), get(MEAN)), get(INV)), ...simd(simdOp.f32x4DemoteF64x2Zero)];
      const hi = [...mulF64(subF64(promoteHigh(v), get(MEAN)), get(INV)), ...simd(simdOp.f32x4DemoteF64x2Zero)];
      const normalized = [...lo, ...hi, ...simd(simdOp.i8x16Shuffle), ...LOW_HALVES];
      n.emit([...get(OUT), ...get(NOFF), op.i32Add], add(mul(normalized, load(SCALE, NOFF)), load(BIAS, NOFF)), simdMem(simdOp.v128Store, 2));
    });
  });

  return functionsModule([
    { name: 'moments', params: 4, code: moments },
    { name: 'squares', params: 4, code: squares },
    { name: 'normalize', params: 7, code: normalize },
  ]);
}

interface LayerNormKernel {
  memory: WebAssembly.Memory;
  moments(x: number, rows: number, rowBytes: number, stats: number): void;
  squares(x: number, rows: number, rowBytes: number, stats: number): void;
  normalize(x: number, out: number, rows: number, rowBytes: number, stats: number, scale: number, bias: number): void;
}

const kernel = lazyModule<LayerNormKernel>(layerNormModule);

const CHUNK = 1 << 15;

/**
 * layerNorm of float32 `x` over rows of `len` values with per-column `scale` and `bias` (bias may be
 * null: zeros), into `y`, each row's mean and inverse standard deviation into `mean` and `inv`; with
 * `mean` null, rmsNorm (no mean subtracted). False where it does not apply (a row length not a
 * multiple of 4, too few values, SIMD off).
 */
export function layerNormRowsSimd(x: Float32Array, len: number, eps: number, scale: Float32Array, bias: Float32Array | null, y: Float32Array, mean: Float32Array | null, inv: Float32Array): boolean {
  if (!simdRows(x.length, len)) return false;
  const k = kernel();
  if (!k) return false;
  const rows = x.length / len;
  const chunkRows = Math.max(1, Math.floor(CHUNK / len));
  // floats: scale, bias, x, y, then 4 per row for the float64 stats
  const [SCALE, BIAS, X] = [0, len, 2 * len];
  const Y = X + chunkRows * len;
  const STATS = Y + chunkRows * len;
  if (!ensureMemory(k.memory, (STATS + 4 * chunkRows) * FLOAT)) return false;
  const f = new Float32Array(k.memory.buffer);
  const stats = new Float64Array(k.memory.buffer, STATS * FLOAT, 2 * chunkRows);
  f.set(scale, SCALE);
  if (bias) f.set(bias, BIAS);
  else f.fill(0, BIAS, BIAS + len);
  for (let r0 = 0; r0 < rows; r0 += chunkRows) {
    const count = Math.min(chunkRows, rows - r0);
    f.set(x.subarray(r0 * len, (r0 + count) * len), X);
    (mean ? k.moments : k.squares)(X * FLOAT, count, len * FLOAT, STATS * FLOAT);
    for (let r = 0; r < count; r++) {
      const r1 = 1 / Math.sqrt(stats[2 * r + 1] / len + eps);
      if (mean) mean[r0 + r] = stats[2 * r];
      else stats[2 * r] = 0;
      inv[r0 + r] = r1;
      stats[2 * r + 1] = r1;
    }
    k.normalize(X * FLOAT, Y * FLOAT, count, len * FLOAT, STATS * FLOAT, SCALE * FLOAT, BIAS * FLOAT);
    y.set(f.subarray(Y, Y + count * len), r0 * len);
  }
  return true;
}
