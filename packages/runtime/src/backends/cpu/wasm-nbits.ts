import type { NBitsLayout } from '@graphc/graph';
import { I32, V128, V128_ZERO, functionsModule, get, i32, instantiateModule, leb, op, set, simd, simdMem, simdOp, tee, vec } from './wasm-assembler';
import { gemm, simdGemmEnabled, simdScratch } from './gemm';
import { kernelScratch } from './scratch';
import { ResidentSlot, residentAddress, residentSlot, residentWords } from './simd-memory';
import { simdKernelsEnabled } from './wasm-elementwise';
import { SimdKernel, fusedMultiplyAdd, simdKernel } from './wasm-simd';

/**
 * matmulNBits for float32 a on WebAssembly SIMD: out[r, col] = sum over kk of a[r, kk] * W[kk, col]
 * with W kept packed, `bits` bits a weight (kernels/math/matmul-nbits.ts holds the JavaScript
 * reference, which dequantizes a column into floats and dots it in float64).
 *
 * The kernels read the operands as the op holds them: a column's int32 words in order, four at a
 * time (a chunk, one v128), and its scales and zero points [n, blocks]. A chunk's lane i is word i,
 * so weight j of each lane (`bits * j` bits up) is four weights of kk (4 * chunk + lane) * perWord +
 * j. a is laid out once per call in that order (the a-stream, built by a kernel of its own from 4 x 4
 * transposes), so the inner loop has no shuffle: per chunk and weight position j, a mask (and a
 * shift for some j: weightJ) and a conversion to f32x4, shared by the rows, then per row of a one
 * multiply-add into the block's sums. The zero point and scale come in once a block, (sum of a * q -
 * z * sum of a) * s, the sums of a over each lane's words of the block precomputed in the a-stream;
 * the column's four lanes are added at its end. A chunk lies in one block when a block is four words
 * or more (`block` streams: s and z splat); at 2 or 1 words a block (4 bits by 16, 2 bits by 16 or
 * 32) each lane carries its own block's s and z (`lane` streams), and a column whose words are not
 * a multiple of four ends with a partial chunk, loaded zero-filled. ONNX Runtime's block sizes
 * (powers of two from 16) all fit one of the two; others keep the JavaScript kernel.
 *
 * Per 4 weights and one row that is three vector instructions (mask, convert, multiply-add) on the
 * CPU's three vector ports: about 4 weights a cycle, which the kernel reaches (11 G weights/s on a
 * 4096 x 2048 product at 4 bits by 32, one thread of the 2-core Xeon that ran bench/nbits.js, whose
 * float32 GEMV streams its weights at 20-23 GB/s, 5-6 G weights/s). Each further row adds a
 * multiply-add per 4 weights (two rows 6.5, four 3-3.5 G weights/s; float32's products of four rows
 * need as many multiply-adds).
 *
 * Up to DOT_ROWS rows of a (a decode step, a small batch) run these kernels over the packed words,
 * one pass for every four rows; the packed words, scales and zero points of a constant stay
 * resident in the SIMD kernels' memory (simd-memory.ts), so a call copies in only a. More rows (a
 * prompt) dequantize W a panel of columns at a time and multiply with the float32 GEMM (gemm.ts).
 *
 * The modules import the SIMD kernels' memory (wasm-simd.ts), so the resident weights there and the
 * GEMM's working area serve them too; they are built per kernel memory and stream shape. A module
 * of their own rather than more functions in wasm-simd.ts's: that one is instantiated by every
 * worker thread and built whatever the model, these only for a model with matmulNBits and per bits
 * and stream shape.
 */

/** SIMD and other opcodes this module uses beyond wasm-assembler's table. */
const code = {
  block: 0x02,
  i32Eqz: 0x45,
  v128Load32Zero: 0x5c,
  v128Load64Zero: 0x5d,
  v128Load32Lane: 0x56,
  f32x4ConvertI32x4S: 0xfa,
  /** Relaxed SIMD: -(a * b) + c. */
  f32x4RelaxedNmadd: 0x106,
};

/** Lanes 0, 0, 1, 1 (a block's scale for two lanes each). */
const LANES_0011 = [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7];

/** How a column's words go through the kernels. */
export interface ColumnStream {
  /** 'block': a block is whole chunks; 'lane': a chunk holds two or four blocks, each lane its own. */
  kind: 'block' | 'lane';
  wordsPerBlock: number;
  /** Chunks between two applications of scales and zero points: a block's (block), one (lane). */
  chunksPerPeriod: number;
  /** Whole periods a column. */
  periods: number;
  /** Words of a last, partial chunk (lane streams only): 0 to 3. */
  tail: number;
  /** Chunks a column, a partial one included. */
  chunks: number;
}

const streams = new WeakMap<NBitsLayout, ColumnStream | null>();

/** The stream for a layout (worked out once per layout object); null where a block is neither whole chunks nor 1 or 2 words. */
export function columnStream(layout: NBitsLayout): ColumnStream | null {
  let stream = streams.get(layout);
  if (stream === undefined) streams.set(layout, (stream = streamOf(layout)));
  return stream;
}

function streamOf(layout: NBitsLayout): ColumnStream | null {
  const wordsPerBlock = layout.blockSize / layout.perWord;
  if (wordsPerBlock % 4 === 0) return { kind: 'block', wordsPerBlock, chunksPerPeriod: wordsPerBlock / 4, periods: layout.blocks, tail: 0, chunks: layout.words / 4 };
  if (wordsPerBlock > 2) return null;
  const periods = Math.floor(layout.words / 4);
  const tail = layout.words % 4;
  return { kind: 'lane', wordsPerBlock, chunksPerPeriod: 1, periods, tail, chunks: periods + (tail ? 1 : 0) };
}

/** A v128.const of four int32 lanes. */
function i32x4(value: number): number[] {
  return [0xfd, ...leb(simdOp.v128Const), ...new Uint8Array(new Int32Array([value, value, value, value]).buffer)];
}

const advance = (local: number, bytes: number): number[] => [...get(local), ...i32(bytes), op.i32Add, ...set(local)];
const countdown = (local: number): number[] => [...get(local), ...i32(1), op.i32Sub, ...tee(local), op.brIf, 0];
const load = (base: number, offset: number): number[] => [...get(base), ...simdMem(simdOp.v128Load, 2, offset)];

/** a * b + c (each operand code pushing one v128): one fused instruction with relaxed SIMD. */
function madd(a: number[], b: number[], c: number[], fused: boolean): number[] {
  return fused ? [...a, ...b, ...c, ...simd(simdOp.f32x4RelaxedMadd)] : [...c, ...a, ...b, ...simd(simdOp.f32x4Mul), ...simd(simdOp.f32x4Add)];
}

/** c - a * b. */
function nmadd(a: number[], b: number[], c: number[], fused: boolean): number[] {
  return fused ? [...a, ...b, ...c, ...simd(code.f32x4RelaxedNmadd)] : [...c, ...a, ...b, ...simd(simdOp.f32x4Mul), ...simd(simdOp.f32x4Sub)];
}

/**
 * How a kernel takes weight j out of a word vector. 'exact': shifted down and masked, q itself.
 * 'pairs': the word shifted down by two weights at a time and masked where the pair lies, q or q *
 * 2^bits, one instruction fewer for every other weight; the factor is left to the a-stream
 * (streamFactor). The top weight is a shift either way (no bits above it to mask, no sign bit to
 * convert). One row runs 'pairs', and more rows 'exact': in one-off runs (the 2-core Xeon with
 * AVX-512 FP16 that ran bench/nbits.js; 4096 x 2048 and 512 x 1408 at 4 bits by 32, kernel-only
 * G weights/s) one row ran 10.9-11.3 with pairs, 10.0-10.3 exact, 9.9-11.1 with a mask constant for
 * each weight; two rows 6.2-6.5 with pairs, 6.4-6.6 exact, 5.4-5.7 with a mask each (seven
 * constants live beside the rows' sums, more than the registers hold, we suppose).
 */
type WeightForm = 'exact' | 'pairs';

/** The extraction form of a dot kernel for `rows` rows of a. */
const weightForm = (rows: number): WeightForm => (rows === 1 ? 'pairs' : 'exact');

/**
 * Code pushing weight j of each lane of the word vector in local `word` as f32x4, in `form`; for
 * 'pairs' at an even j from 2 on it first sets local `pair` to the word shifted down to j, which
 * j + 1 reads again.
 */
function weightJ(word: number, pair: number, bits: number, j: number, form: WeightForm): number[] {
  const top = 32 / bits - 1;
  const mask = 2 ** bits - 1;
  const shifted = (by: number): number[] => [...get(word), ...i32(by), ...simd(simdOp.i32x4ShrU)];
  let bitsOfJ: number[];
  if (j === top) bitsOfJ = shifted(bits * j);
  else if (form === 'exact') bitsOfJ = [...(j === 0 ? get(word) : shifted(bits * j)), ...i32x4(mask), ...simd(simdOp.v128And)];
  else {
    const base = j < 2 ? get(word) : j % 2 === 0 ? [...shifted(bits * j), ...tee(pair)] : get(pair);
    bitsOfJ = [...base, ...i32x4(mask << (bits * (j % 2))), ...simd(simdOp.v128And)];
  }
  return [...bitsOfJ, ...simd(code.f32x4ConvertI32x4S)];
}

/** The factor the a-stream multiplies weight j's values of a by: what weightJ's form leaves in q (1, or 2^-bits for the odd weights of 'pairs'). */
function streamFactor(bits: number, j: number, form: WeightForm): number {
  return form === 'exact' || j === 32 / bits - 1 ? 1 : 2 ** -(bits * (j % 2));
}

/** What one stream's kernels are generated for. */
interface StreamCode {
  bits: number;
  stream: ColumnStream;
  fused: boolean;
}

/**
 * Code loading `words` (1 to 4) int32 values at local `at` into a v128, the lanes past them zero,
 * and moving `at` past them.
 */
function loadWords(at: number, words: number): number[] {
  let value: number[];
  if (words === 4) value = load(at, 0);
  else if (words === 1) value = [...get(at), ...simdMem(code.v128Load32Zero, 2, 0)];
  else if (words === 2) value = [...get(at), ...simdMem(code.v128Load64Zero, 2, 0)];
  else value = [...get(at), ...get(at), ...simdMem(code.v128Load64Zero, 2, 0), ...simdMem(code.v128Load32Lane, 2, 8), 2];
  return [...value, ...advance(at, 4 * words)];
}

/**
 * Code setting locals sv and zv to a period's scales and zero points, read at locals s and z (which
 * move on past them): splat for a block stream; for a lane stream, a value per lane (`words`
 * lanes, 4 but in a partial chunk), each block's twice at two words a block.
 */
function loadScales(c: StreamCode, s: number, z: number, sv: number, zv: number, words = 4): number[] {
  const out: number[] = [];
  for (const [from, into] of [[s, sv], [z, zv]]) {
    if (c.stream.kind === 'block') {
      out.push(...get(from), ...simdMem(simdOp.v128Load32Splat, 2, 0), ...set(into), ...advance(from, 4));
    } else if (c.stream.wordsPerBlock === 1) {
      out.push(...loadWords(from, words), ...set(into));
    } else {
      // two words a block: words / 2 blocks (a partial chunk holds one), their values paired over the lanes
      out.push(...loadWords(from, words / 2), ...set(into), ...get(into), ...get(into), ...simd(simdOp.i8x16Shuffle), ...LANES_0011, ...set(into));
    }
  }
  return out;
}

/**
 * `dot{R}(packed, scales, zeros, a, out, ldOut, columns, periods, chunks)` (byte addresses and row
 * stride): for `columns` columns, their words from `packed` and their scales and zero points from
 * `scales` and `zeros` (each read straight on, column after column), the products with R rows of
 * a, row r's into `out + r * ldOut`, a float a column. `a` is the a-stream (streamFunction);
 * `periods` whole periods a column, of `chunks` chunks each (block streams).
 */
function dotFunction(c: StreamCode, rows: number): number[] {
  const [P, S, Z, A0, OUT, LD_OUT, COLUMNS, PERIODS, CHUNKS] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [A, LEFT, CHUNKS_LEFT, AT] = [9, 10, 11, 12];
  const [W, Q, SV, ZV, PAIR] = [13, 14, 15, 16, 17];
  const sums = (r: number): number => 18 + r;
  const acc = (r: number): number => 18 + rows + r;
  const { bits, stream, fused } = c;
  const perWord = 32 / bits;
  const form = weightForm(rows);
  const body: number[] = [];
  const chunk = (words: number): void => {
    body.push(...loadWords(P, words), ...set(W));
    for (let j = 0; j < perWord; j++) {
      body.push(...weightJ(W, PAIR, bits, j, form), ...set(Q));
      for (let r = 0; r < rows; r++) body.push(...madd(load(A, (j * rows + r) * 16), get(Q), get(sums(r)), fused), ...set(sums(r)));
    }
    body.push(...advance(A, perWord * rows * 16));
  };
  // one period: its chunks' sums of a * q, then sums * s - z * (sums of a) * s
  const period = (words: number): void => {
    for (let r = 0; r < rows; r++) body.push(...V128_ZERO, ...set(sums(r)));
    if (stream.kind === 'block') {
      body.push(...get(CHUNKS), ...set(CHUNKS_LEFT), op.loop, op.emptyBlock);
      chunk(4);
      body.push(...countdown(CHUNKS_LEFT), op.end);
    } else chunk(words);
    body.push(...loadScales(c, S, Z, SV, ZV, words));
    for (let r = 0; r < rows; r++) {
      body.push(...madd(get(SV), nmadd(get(ZV), load(A, r * 16), get(sums(r)), fused), get(acc(r)), fused), ...set(acc(r)));
    }
    body.push(...advance(A, rows * 16));
  };
  body.push(op.loop, op.emptyBlock);
  for (let r = 0; r < rows; r++) body.push(...V128_ZERO, ...set(acc(r)));
  body.push(...get(A0), ...set(A));
  body.push(code.block, op.emptyBlock, ...get(PERIODS), code.i32Eqz, op.brIf, 0, ...get(PERIODS), ...set(LEFT), op.loop, op.emptyBlock);
  period(4);
  body.push(...countdown(LEFT), op.end, op.end);
  if (stream.tail) period(stream.tail);
  // each row's four lanes added, (0 + 2) + (1 + 3), and stored at its row of out
  body.push(...get(OUT), ...set(AT));
  for (let r = 0; r < rows; r++) {
    body.push(...get(acc(r)), ...get(acc(r)), ...get(acc(r)), ...simd(simdOp.i8x16Shuffle), ...HALVES, ...simd(simdOp.f32x4Add), ...tee(acc(r)));
    body.push(...get(acc(r)), ...simd(simdOp.i8x16Shuffle), ...NEIGHBOURS, ...get(acc(r)), ...simd(simdOp.f32x4Add), ...set(acc(r)));
    body.push(...get(AT), ...get(acc(r)), ...simd(simdOp.f32x4ExtractLane), 0, op.f32Store, 2, 0);
    if (r < rows - 1) body.push(...get(AT), ...get(LD_OUT), op.i32Add, ...set(AT));
  }
  body.push(...advance(OUT, 4), ...countdown(COLUMNS), op.end, op.end);
  return [...vec([[4, I32], [5 + 2 * rows, V128]]), ...body];
}

/** Byte patterns of i8x16.shuffle over two vectors x, y, as float lanes (y's numbered 4 to 7). */
const lanes = (...picks: number[]): number[] => picks.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
/** A vector's halves swapped (lanes 2, 3, 0, 1) and its neighbours (1, 0, 3, 2). */
const HALVES = lanes(2, 3, 0, 1);
const NEIGHBOURS = lanes(1, 0, 3, 2);

/**
 * `stream{R}(a, ldA, out, periods, chunks)` (byte addresses and row stride): the a-stream of R rows
 * of a (each zero from k to a whole number of chunks) into `out`: per period, per chunk, per weight
 * j, per row, the four lanes' a[r, (4 * chunk + lane) * perWord + j] * streamFactor(j); then per row
 * the four lanes' sums of a over the period's words. A chunk's 4 x perWord values of a row are 4 x 4
 * blocks transposed in registers, so each weight j's four lanes come out as one vector. `periods`
 * periods of `chunks` chunks (a lane stream's partial chunk is a period of one like the others: its
 * missing words are a's zeros).
 */
function streamFunction(bits: number, rows: number): number[] {
  const [A, LD_A, OUT, PERIODS, CHUNKS] = [0, 1, 2, 3, 4];
  const [CHUNKS_LEFT, ROW] = [5, 6];
  const [X0, T0, V] = [7, 11, 15];
  const sums = (r: number): number => 16 + r;
  const perWord = 32 / bits;
  const body: number[] = [op.loop, op.emptyBlock];
  for (let r = 0; r < rows; r++) body.push(...V128_ZERO, ...set(sums(r)));
  body.push(...get(CHUNKS), ...set(CHUNKS_LEFT), op.loop, op.emptyBlock);
  for (let r = 0; r < rows; r++) {
    body.push(...(r === 0 ? get(A) : [...get(ROW), ...get(LD_A), op.i32Add]), ...set(ROW));
    for (let quad = 0; quad < perWord / 4; quad++) {
      // words 0 to 3 (rows of the block), weights 4 quad to 4 quad + 3 (its columns)
      for (let i = 0; i < 4; i++) body.push(...load(ROW, (i * perWord + 4 * quad) * 4), ...set(X0 + i));
      const shuffle = (x: number, y: number, picks: number[]): number[] => [...get(x), ...get(y), ...simd(simdOp.i8x16Shuffle), ...lanes(...picks)];
      body.push(...shuffle(X0, X0 + 1, [0, 4, 1, 5]), ...set(T0), ...shuffle(X0, X0 + 1, [2, 6, 3, 7]), ...set(T0 + 1));
      body.push(...shuffle(X0 + 2, X0 + 3, [0, 4, 1, 5]), ...set(T0 + 2), ...shuffle(X0 + 2, X0 + 3, [2, 6, 3, 7]), ...set(T0 + 3));
      for (let t = 0; t < 4; t++) {
        const j = 4 * quad + t;
        const [low, high] = t < 2 ? [T0, T0 + 2] : [T0 + 1, T0 + 3];
        body.push(...shuffle(low, high, t % 2 === 0 ? [0, 1, 4, 5] : [2, 3, 6, 7]), ...set(V));
        const factor = streamFactor(bits, j, weightForm(rows));
        const scaled = factor === 1 ? get(V) : [...get(V), ...f32x4Const(factor), ...simd(simdOp.f32x4Mul)];
        body.push(...get(OUT), ...scaled, ...simdMem(simdOp.v128Store, 2, (j * rows + r) * 16));
        body.push(...get(sums(r)), ...get(V), ...simd(simdOp.f32x4Add), ...set(sums(r)));
      }
    }
  }
  body.push(...advance(A, perWord * 16), ...advance(OUT, perWord * rows * 16), ...countdown(CHUNKS_LEFT), op.end);
  for (let r = 0; r < rows; r++) body.push(...get(OUT), ...get(sums(r)), ...simdMem(simdOp.v128Store, 2, r * 16));
  body.push(...advance(OUT, rows * 16), ...countdown(PERIODS), op.end, op.end);
  return [...vec([[2, I32], [9 + rows, V128]]), ...body];
}

/** A v128.const of four float32 lanes. */
function f32x4Const(value: number): number[] {
  return [0xfd, ...leb(simdOp.v128Const), ...new Uint8Array(new Float32Array([value, value, value, value]).buffer)];
}

/**
 * `dequantize(packed, scales, zeros, out, columns, periods, chunks)` (byte addresses): W's columns
 * as float32 rows of the a-stream's order (chunk, weight j, lane), each weight (q - z) * s rounded
 * as the JavaScript kernel rounds it, from `out` on; a partial chunk's missing lanes are zeros.
 */
function dequantizeFunction(c: StreamCode): number[] {
  const [P, S, Z, OUT, COLUMNS, PERIODS, CHUNKS] = [0, 1, 2, 3, 4, 5, 6];
  const [LEFT, CHUNKS_LEFT] = [7, 8];
  const [W, SV, ZV] = [9, 10, 11];
  const { bits, stream } = c;
  const perWord = 32 / bits;
  const body: number[] = [];
  const chunk = (words: number): void => {
    body.push(...loadWords(P, words), ...set(W));
    for (let j = 0; j < perWord; j++) {
      const weight = [...weightJ(W, -1, bits, j, 'exact'), ...get(ZV), ...simd(simdOp.f32x4Sub), ...get(SV), ...simd(simdOp.f32x4Mul)];
      body.push(...get(OUT), ...weight, ...simdMem(simdOp.v128Store, 2, j * 16));
    }
    body.push(...advance(OUT, perWord * 16));
  };
  const period = (words: number): void => {
    body.push(...loadScales(c, S, Z, SV, ZV, words));
    if (stream.kind === 'block') {
      body.push(...get(CHUNKS), ...set(CHUNKS_LEFT), op.loop, op.emptyBlock);
      chunk(4);
      body.push(...countdown(CHUNKS_LEFT), op.end);
    } else chunk(words);
  };
  body.push(op.loop, op.emptyBlock);
  body.push(code.block, op.emptyBlock, ...get(PERIODS), code.i32Eqz, op.brIf, 0, ...get(PERIODS), ...set(LEFT), op.loop, op.emptyBlock);
  period(4);
  body.push(...countdown(LEFT), op.end, op.end);
  if (stream.tail) period(stream.tail);
  body.push(...countdown(COLUMNS), op.end, op.end);
  return [...vec([[2, I32], [3, V128]]), ...body];
}

type DotKernel = (packed: number, scales: number, zeros: number, a: number, out: number, ldOut: number, columns: number, periods: number, chunks: number) => void;
type StreamKernel = (a: number, ldA: number, out: number, periods: number, chunks: number) => void;

interface NBitsKernels {
  dot1: DotKernel;
  dot2: DotKernel;
  dot3: DotKernel;
  dot4: DotKernel;
  stream1: StreamKernel;
  stream2: StreamKernel;
  stream3: StreamKernel;
  stream4: StreamKernel;
  dequantize(packed: number, scales: number, zeros: number, out: number, columns: number, periods: number, chunks: number): void;
}

/** The module for one stream shape, over the memory it imports (a SIMD kernel's). */
function nbitsModule(c: StreamCode): Uint8Array<ArrayBuffer> {
  return functionsModule(
    [
      ...[1, 2, 3, 4].map((rows) => ({ name: `dot${rows}`, params: 9, code: dotFunction(c, rows) })),
      ...[1, 2, 3, 4].map((rows) => ({ name: `stream${rows}`, params: 5, code: streamFunction(c.bits, rows) })),
      { name: 'dequantize', params: 7, code: dequantizeFunction(c) },
    ],
    {},
  );
}

/** Modules by kernel memory, then stream shape (null: it did not compile). */
const modules = new WeakMap<WebAssembly.Memory, Map<string, NBitsKernels | null>>();

function kernelsFor(kernel: SimdKernel, bits: number, stream: ColumnStream): NBitsKernels | null {
  let byShape = modules.get(kernel.memory);
  if (!byShape) modules.set(kernel.memory, (byShape = new Map()));
  // a block stream's chunks a block is an argument; a lane stream's code depends on its shape
  const key = stream.kind === 'block' ? `${bits}` : `${bits}/${stream.wordsPerBlock}/${stream.tail}`;
  let found = byShape.get(key);
  if (found === undefined) {
    const c: StreamCode = { bits, stream, fused: fusedMultiplyAdd() };
    found = instantiateModule<NBitsKernels>(() => nbitsModule(c), kernel.memory);
    byShape.set(key, found);
  }
  return found;
}

/** Floats of the a-stream for `rows` rows: each chunk's rows x perWord x 4 values, each period's rows x 4 sums. */
function aStreamFloats(layout: NBitsLayout, stream: ColumnStream, rows: number): number {
  return (stream.chunks * layout.perWord + stream.periods + (stream.tail ? 1 : 0)) * rows * 4;
}

/** The weights' three operands' resident copies; null for one that is not a constant's (or does not fit), copied in per call. */
interface Operands {
  packed: ResidentSlot | null;
  scales: ResidentSlot | null;
  zeros: ResidentSlot | null;
}

function residentOperands(kernel: SimdKernel, layout: NBitsLayout, packed: Int32Array, scales: Float32Array, zeroPoints: Float32Array, n: number): Operands {
  const [words, blocks] = [n * layout.words, n * layout.blocks];
  return {
    packed: residentWords(kernel, packed, 0, words, words),
    scales: residentSlot(kernel, scales, 0, blocks, blocks),
    zeros: residentSlot(kernel, zeroPoints, 0, blocks, blocks),
  };
}

/**
 * Places columns [from, from + count) of the operands: the resident ones' addresses, the others
 * copied into the working area from `at` (floats). Call after the working area is sized.
 */
function placeOperands(
  kernel: SimdKernel, f: Float32Array, resident: Operands, at: number, layout: NBitsLayout, packed: Int32Array, scales: Float32Array, zeroPoints: Float32Array, from: number, count: number,
): { packed: number; scales: number; zeros: number } {
  const { words, blocks } = layout;
  const place = (slot: ResidentSlot | null, copy: (into: number) => void, floats: number, perColumn: number): number => {
    if (slot) return residentAddress(kernel, slot) + from * perColumn;
    const into = at;
    copy(into);
    at += floats;
    return into;
  };
  return {
    packed: place(resident.packed, (into) => new Int32Array(kernel.memory.buffer).set(packed.subarray(from * words, (from + count) * words), into), count * words, words),
    scales: place(resident.scales, (into) => f.set(scales.subarray(from * blocks, (from + count) * blocks), into), count * blocks, blocks),
    zeros: place(resident.zeros, (into) => f.set(zeroPoints.subarray(from * blocks, (from + count) * blocks), into), count * blocks, blocks),
  };
}

/** Floats the operands not resident take in the working area, for `count` columns. */
const copiedFloats = (resident: Operands, layout: NBitsLayout, count: number): number =>
  (resident.packed ? 0 : count * layout.words) + (resident.scales ? 0 : count * layout.blocks) + (resident.zeros ? 0 : count * layout.blocks);

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/**
 * out[r, col] = sum over kk of a[r, kk] * W[kk, col] for float32 a (`rows` rows of k) on the SIMD
 * kernels; false (nothing written) where they do not apply: SIMD off (setSimdKernels or
 * setSimdGemm), unavailable, a block size they do not take, or memory that cannot grow.
 */
export function nbitsProductSimd(
  layout: NBitsLayout, a: Float32Array, rows: number, packed: Int32Array, scales: Float32Array, zeroPoints: Float32Array, n: number, out: Float32Array,
): boolean {
  if (!simdKernelsEnabled() || !simdGemmEnabled() || rows === 0 || n === 0) return false;
  const stream = columnStream(layout);
  const kernel = stream && simdKernel(false);
  const kernels = kernel && kernelsFor(kernel, layout.bits, stream);
  if (!stream || !kernel || !kernels) return false;
  const resident = residentOperands(kernel, layout, packed, scales, zeroPoints, n);
  if (rows <= DOT_ROWS) return productByDots(kernel, kernels, resident, layout, stream, a, rows, packed, scales, zeroPoints, n, out);
  return productByPanels(kernel, kernels, resident, layout, stream, a, rows, packed, scales, zeroPoints, n, out);
}

/**
 * Rows of a up to which the dot kernels, one pass over the weights for every four rows, beat
 * dequantized panels through the GEMM (each panel copied out of the kernels' memory, and back in by
 * the GEMM). One-off runs (4 bits by 32, one thread; ms, dots against panels, and the float32 GEMM
 * of the same shape with its B resident): 512 x 1408, 8 rows 0.40 against 0.49 (0.34), 16 rows
 * 0.80 against 0.79 (0.56), 24 rows 1.18 against 1.09 (0.83), 33 rows 1.68 against 1.67 (1.2),
 * 48 rows 2.40 against 1.94 (1.54); 2048 x 2048, 8 rows 2.4 against 4.5 (2.8), 16 rows 4.8 against
 * 5.9 (5.0), 24 rows 6.9 against 7.5 (5.5), 33 rows 10.0 against 10.4 (8.2), 48 rows 14.4 against
 * 11.9 (10.7).
 */
const DOT_ROWS = 32;

/**
 * Up to DOT_ROWS rows: the dot kernels over every column, four rows of a at a time (the rest
 * after), each row's products straight into its row of the output in the working area.
 */
function productByDots(
  kernel: SimdKernel, kernels: NBitsKernels, resident: Operands, layout: NBitsLayout, stream: ColumnStream,
  a: Float32Array, rows: number, packed: Int32Array, scales: Float32Array, zeroPoints: Float32Array, n: number, out: Float32Array,
): boolean {
  const { k } = layout;
  const group = Math.min(rows, 4);
  const kStream = stream.chunks * layout.perWord * 4;
  // floats: a group's a-stream, its rows of a zero-padded to whole chunks, the products, the operands not resident
  const rowsAt = roundUp(aStreamFloats(layout, stream, group), 4);
  const outAt = rowsAt + group * kStream;
  const copiesAt = outAt + rows * n;
  const scratch = simdScratch(copiesAt + copiedFloats(resident, layout, n));
  if (!scratch) return false;
  const f = scratch.memory;
  const at = placeOperands(kernel, f, resident, copiesAt, layout, packed, scales, zeroPoints, 0, n);
  const periods = stream.periods + (stream.tail ? 1 : 0);
  for (let r0 = 0; r0 < rows; r0 += group) {
    const count = Math.min(group, rows - r0);
    for (let r = 0; r < count; r++) {
      f.set(a.subarray((r0 + r) * k, (r0 + r + 1) * k), rowsAt + r * kStream);
      f.fill(0, rowsAt + r * kStream + k, rowsAt + (r + 1) * kStream);
    }
    [kernels.stream1, kernels.stream2, kernels.stream3, kernels.stream4][count - 1](rowsAt * 4, kStream * 4, 0, periods, stream.chunksPerPeriod);
    const dot = [kernels.dot1, kernels.dot2, kernels.dot3, kernels.dot4][count - 1];
    dot(at.packed * 4, at.scales * 4, at.zeros * 4, 0, (outAt + r0 * n) * 4, n * 4, n, stream.periods, stream.chunksPerPeriod);
  }
  out.set(f.subarray(outAt, outAt + rows * n));
  return true;
}

/**
 * Columns of W dequantized at a time for the GEMM: a's copy into the GEMM's memory, once a panel, is
 * small beside the panel's (for up to 256 rows of a), and the panel, 256 x k floats (2 MB at
 * k = 2048), stays near the size of L2 for its copies out and back in.
 */
const PANEL = 256;

const permutedA = kernelScratch();
const panelScratch = kernelScratch();
const panelProduct = kernelScratch();

/**
 * More than DOT_ROWS rows (a prompt): W dequantized PANEL columns at a time into the working area,
 * as rows of the a-stream's order, and multiplied by a laid out in that order with the float32 GEMM
 * (as its B transposed: the GEMM multiplies C^T = W^T a^T for up to 64 rows of a, packs W for more).
 * A row-major panel would run the GEMM's tiles on B in place, 20-25% faster for 25 to 64 rows at
 * k = 512 (one-off: 33 x 512 by 512 x 256, 204 against 265 us), as fast from 64 rows; it would take
 * a dequantizer transposing four columns at a time.
 */
function productByPanels(
  kernel: SimdKernel, kernels: NBitsKernels, resident: Operands, layout: NBitsLayout, stream: ColumnStream,
  a: Float32Array, rows: number, packed: Int32Array, scales: Float32Array, zeroPoints: Float32Array, n: number, out: Float32Array,
): boolean {
  const { k, perWord } = layout;
  const kStream = stream.chunks * perWord * 4;
  const aPermuted = permutedA('float32', rows * kStream) as Float32Array;
  for (let r = 0; r < rows; r++) {
    for (let chunk = 0, p = r * kStream; chunk < stream.chunks; chunk++) {
      for (let j = 0; j < perWord; j++) {
        for (let lane = 0; lane < 4; lane++, p++) {
          const kk = (4 * chunk + lane) * perWord + j;
          aPermuted[p] = kk < k ? a[r * k + kk] : 0;
        }
      }
    }
  }
  const aView = { data: aPermuted, offset: 0, rowStride: kStream, colStride: 1 };
  const panel = panelScratch('float32', Math.min(PANEL, n) * kStream) as Float32Array;
  const product = panelProduct('float32', rows * Math.min(PANEL, n)) as Float32Array;
  for (let from = 0; from < n; from += PANEL) {
    const count = Math.min(PANEL, n - from);
    const copiesAt = count * kStream;
    // sized afresh for each panel: the GEMM between uses the same working area (and may move the resident one)
    const scratch = simdScratch(copiesAt + copiedFloats(resident, layout, count));
    if (!scratch) return false;
    const f = scratch.memory;
    const at = placeOperands(kernel, f, resident, copiesAt, layout, packed, scales, zeroPoints, from, count);
    kernels.dequantize(at.packed * 4, at.scales * 4, at.zeros * 4, 0, count, stream.periods, stream.chunksPerPeriod);
    panel.set(f.subarray(0, count * kStream));
    gemm(rows, count, kStream, aView, { data: panel, offset: 0, rowStride: 1, colStride: kStream }, product);
    for (let r = 0; r < rows; r++) out.set(product.subarray(r * count, (r + 1) * count), r * n + from);
  }
  return true;
}
