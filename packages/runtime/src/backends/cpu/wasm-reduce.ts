import { I32, OneFunction, V128, ensureMemory, get, i32, instantiateOne, oneFunctionModule, op, set, simd, simdMem, simdOp, tee } from './wasm-assembler';
import { simdKernelsEnabled } from './wasm-elementwise';
import { promoteHigh, promoteLow } from './wasm-vector-math';

/**
 * Row sums on WebAssembly SIMD: acc[j] += x[r][j] over the rows of a float32 matrix, in float64, the
 * reduction behind a bias gradient (sumToShapeOf from [N, H, W, C] or [N, C] to [C]). Each float32 is
 * widened exactly and added to its column's float64 accumulator row after row, the same additions
 * in the same order as the JavaScript loop, so the sums are the same bits; two columns per f64x2.
 */

/**
 * `sumRows(acc, x, rows, rowBytes)`: for each of `rows` rows of `rowBytes` float32 bytes at `x`,
 * adds each group of four values to the four float64 accumulators at `acc` (rowBytes a positive
 * multiple of 16; acc holds rowBytes / 4 float64 values).
 */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const [ACC, X, ROWS, ROW_BYTES] = [0, 1, 2, 3];
  const [OFF, V] = [4, 5];
  const accAt = [...get(ACC), ...get(OFF), ...i32(2), op.i32Mul, op.i32Add]; // float64 slot of float32 offset OFF
  const body = [
    op.loop, op.emptyBlock,
    ...i32(0), ...set(OFF),
    op.loop, op.emptyBlock,
    ...get(X), ...get(OFF), op.i32Add, ...simdMem(simdOp.v128Load, 2), ...set(V),
    // columns j, j + 1
    ...accAt,
    ...accAt, ...simdMem(simdOp.v128Load, 3),
    ...promoteLow(get(V)), ...simd(simdOp.f64x2Add),
    ...simdMem(simdOp.v128Store, 3),
    // columns j + 2, j + 3
    ...accAt,
    ...accAt, ...simdMem(simdOp.v128Load, 3, 16),
    ...promoteHigh(get(V)), ...simd(simdOp.f64x2Add),
    ...simdMem(simdOp.v128Store, 3, 16),
    ...get(OFF), ...i32(16), op.i32Add, ...tee(OFF), ...get(ROW_BYTES), op.i32Ne, op.brIf, 0,
    op.end,
    ...get(X), ...get(ROW_BYTES), op.i32Add, ...set(X),
    ...get(ROWS), ...i32(1), op.i32Sub, ...tee(ROWS), op.brIf, 0,
    op.end,
  ];
  return oneFunctionModule('sumRows', 4, [[1, I32], [1, V128]], body);
}

/** sumRows(acc, x, rows, rowBytes): see moduleBytes. */
type Module = OneFunction<(acc: number, x: number, rows: number, rowBytes: number) => void>;

let instance: Module | null | undefined;

function module(): Module | null {
  if (instance !== undefined) return instance;
  instance = instantiateOne<Module['fn']>(moduleBytes, 'sumRows');
  return instance;
}

/** Rows per call: a chunk of x stays in L2 beside the accumulators. */
const CHUNK_FLOATS = 1 << 15;
/** Below this many values the JavaScript loop is as fast. */
const MIN_VALUES = 4096;

/**
 * Adds the rows of `x` (rows of `inner` values) into `acc` (`inner` float64 sums) on WebAssembly
 * SIMD; false where it does not apply (`inner` not a multiple of 4, too small, no SIMD) and the
 * caller sums in JavaScript.
 */
export function sumRowsSimd(x: Float32Array, inner: number, acc: Float64Array): boolean {
  if (!simdKernelsEnabled() || inner % 4 !== 0 || inner === 0 || x.length < MIN_VALUES || x.length % inner !== 0) return false;
  const m = module();
  if (!m) return false;
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_FLOATS / inner));
  const accBytes = inner * 8;
  if (!ensureMemory(m.memory, accBytes + rowsPerChunk * inner * 4)) return false;
  const f64 = new Float64Array(m.memory.buffer, 0, inner);
  const f32 = new Float32Array(m.memory.buffer);
  f64.set(acc);
  const rows = x.length / inner;
  for (let r = 0; r < rows; r += rowsPerChunk) {
    const count = Math.min(rowsPerChunk, rows - r);
    f32.set(x.subarray(r * inner, (r + count) * inner), accBytes / 4);
    m.fn(0, accBytes, count, inner * 4);
  }
  acc.set(f64);
  return true;
}
