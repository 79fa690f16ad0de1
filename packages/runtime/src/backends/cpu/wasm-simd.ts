/**
 * The cpu backend's WebAssembly SIMD kernels, in one module with one memory: the float32 GEMM
 * micro-kernel `tile` and its form over window rows `windowTile` (convolutions read from the
 * image), `rowAxpy`/`rowsAxpy` and `rowDot`/`rowsDot` for products with one to four rows of A,
 * `panelRows` for the same by a constant B kept packed (gemm.ts `residentPanels`), and
 * `depthwiseRow` and `depthwiseFilterRow` for
 * depthwise convolutions and their gradients.
 *
 * The GEMM micro-kernel: C[4 x 8] += A(4 x kc) · B(kc x 8) with eight
 * f32x4 accumulators, the A values broadcast from memory (`v128.load32_splat`) straight from four
 * row-major rows, so a contiguous A needs no packing at all. On a kernel-only loop (kc = 256, CPU
 * time, 2-core AMD EPYC) the scalar JavaScript 4x4 tile runs near 1.5 GMAC/s (every typed-array
 * read is bounds-checked, nothing is vectorized) and this kernel near 15 GMAC/s. Tile shapes 6x8,
 * 4x12, 8x4, 3x12 and 2x16 measured slower (register spills in V8's wasm compiler).
 *
 * Where the engine has relaxed SIMD (V8 11.4 and later: Node 22, Chrome 114; Node 20 with
 * --experimental-wasm-relaxed-simd, which `enableRelaxedSimd` sets and the graphc CLI calls), every
 * kernel multiply-adds with `f32x4.relaxed_madd`, one FMA instruction on x86-64 with FMA3 and on
 * ARM: a 512x512 matmul ran 9.19 -> 7.48 ms on a 2-core Intel Xeon (bench/fma.js). Its products
 * round once instead of twice, so results can differ from the mul+add form in the last bit;
 * `GRAPHC_CPU_FMA=0` or `setCpuFusedMultiplyAdd(false)` keeps mul+add.
 *
 * The module is assembled here from named opcodes rather than shipped as an opaque binary. It owns
 * its linear memory; the driver packs operands into it and reads results back.
 */

import {
  I32, MEMORY_FILL, ModuleFunction, V128, V128_ZERO, functionsModule, get, i32, leb, oneFunctionModule, op, set, simd, simdMem, simdOp, tee, vec,
} from './wasm-assembler';

/** Rows and columns of the register tile. */
export const TILE_M = 4;
export const TILE_N = 8;

/**
 * `tile(a, lda, aStep, b, bStep, kc, c, ldc)` (byte addresses and strides): C[i][j] += sum_k
 * A[i][k] * B[k][j] for the 4x8 tile at `c` (row stride `ldc`), A's element (i, k) at
 * `a + i * lda + k * aStep` (a row-major A: aStep 4; a column-major one: lda 4), B's eight floats
 * of step k at `b + k * bStep` (a packed panel: bStep 32; a row-major B read in place: its row
 * stride); kc >= 1.
 *
 * `tilePacked`, the same with aStep 4 and bStep 32 (a row-major or packed A by a packed B: the
 * GEMM's usual case) taken as constants, whatever the arguments say: its steps are immediates, not
 * locals added each step, 42-45 -> 46-48 GFLOP/s on a kernel-only loop (64 x 256 by 256 x 512, a
 * one-off script on a 2-core AMD EPYC).
 *
 * `windowTile(a, lda, b, bStep, kc, segments, segStride, c, ldc)`: the same over `segments`
 * stretches of kc steps, stretch s of A's rows starting at `a + s * segStride` and contiguous (a
 * convolution read straight from a padded image: A's row i is output pixel i's window,
 * stretch s its window row s), B's steps running on through the stretches.
 */
function tileFunction(fused: boolean, windowed: boolean, packedSteps = false): number[] {
  // params: a, lda, aStep, b, bStep, kc, c, ldc (tile) or a, lda, b, bStep, kc, segments,
  // segStride, c, ldc (windowTile); then locals: rows 1-3 of A (windowTile: rows 0-3), the C row
  // pointer, the k count left (windowTile), the accumulators, the two B vectors and the broadcast
  // A value
  const [A, LDA, A_STEP, B, B_STEP, KC, C, LDC] = windowed ? [0, 1, -1, 2, 3, 4, 7, 8] : [0, 1, 2, 3, 4, 5, 6, 7];
  const [SEGMENTS, SEG_STRIDE] = [5, 6];
  const firstLocal = windowed ? 9 : 8;
  // tile walks A's first row with the parameter itself; windowTile keeps that at the stretch's start
  const aRow = (i: number): number => (windowed ? firstLocal + i : i === 0 ? A : firstLocal - 1 + i);
  const ROW = windowed ? firstLocal + 4 : firstLocal + 3;
  const LEFT = windowed ? ROW + 1 : KC; // tile counts kc down in place
  const firstVector = windowed ? ROW + 2 : ROW + 1;
  const acc = (i: number, j: number): number => firstVector + i * 2 + j;
  const VB = firstVector + 8;
  const VA = VB + 2;
  const body: number[] = [];
  const rowPass = (perRow: (i: number) => number[]): void => {
    body.push(...get(C), ...set(ROW));
    for (let i = 0; i < TILE_M; i++) {
      body.push(...perRow(i));
      if (i < TILE_M - 1) body.push(...get(ROW), ...get(LDC), op.i32Add, ...set(ROW));
    }
  };
  // load the C tile into the accumulators
  rowPass((i) => [
    ...get(ROW), ...simdMem(simdOp.v128Load, 4, 0), ...set(acc(i, 0)),
    ...get(ROW), ...simdMem(simdOp.v128Load, 4, 16), ...set(acc(i, 1)),
  ]);
  if (windowed) body.push(op.loop, op.emptyBlock, ...get(KC), ...set(LEFT), ...get(A), ...set(aRow(0)));
  for (let i = 1; i < TILE_M; i++) body.push(...get(aRow(i - 1)), ...get(LDA), op.i32Add, ...set(aRow(i)));
  body.push(op.loop, op.emptyBlock);
  body.push(...get(B), ...simdMem(simdOp.v128Load, 4, 0), ...set(VB));
  body.push(...get(B), ...simdMem(simdOp.v128Load, 4, 16), ...set(VB + 1));
  for (let i = 0; i < TILE_M; i++) {
    body.push(...get(aRow(i)), ...simdMem(simdOp.v128Load32Splat, 2, 0), ...set(VA));
    for (let j = 0; j < 2; j++) {
      body.push(...multiplyAdd(get(VA), get(VB + j), get(acc(i, j)), fused), ...set(acc(i, j)));
    }
    body.push(...get(aRow(i)), ...(windowed || packedSteps ? i32(4) : get(A_STEP)), op.i32Add, ...set(aRow(i)));
  }
  body.push(...get(B), ...(packedSteps ? i32(TILE_N * 4) : get(B_STEP)), op.i32Add, ...set(B));
  body.push(...get(LEFT), ...i32(1), op.i32Sub, op.localTee, ...leb(LEFT), op.brIf, 0);
  body.push(op.end);
  if (windowed) {
    // on to the next stretch: A's first row from its start, B where the last stretch left it
    body.push(...get(A), ...get(SEG_STRIDE), op.i32Add, ...set(A));
    body.push(...get(SEGMENTS), ...i32(1), op.i32Sub, op.localTee, ...leb(SEGMENTS), op.brIf, 0);
    body.push(op.end);
  }
  // store the accumulators back
  rowPass((i) => [
    ...get(ROW), ...get(acc(i, 0)), ...simdMem(simdOp.v128Store, 4, 0),
    ...get(ROW), ...get(acc(i, 1)), ...simdMem(simdOp.v128Store, 4, 16),
  ]);
  body.push(op.end);
  return [...vec([[windowed ? 6 : 4, I32], [11, V128]]), ...body];
}

/**
 * `rowAxpy4` and `rowAxpy1`, and `rowsAxpy{R}` for R = 2 to 4: `(c, ldc, a, lda, aStep, b, bStep,
 * count, width)` (byte addresses, strides and width). For `count` passes of `steps` steps of k,
 * C's rows r = 0 .. rows - 1 (at `c + r * ldc`) over [0, width) += sum over the pass's steps of
 * A[r][k] * B[k][0 .. width), A[r][k] at `a + r * lda + k * aStep`, B's row k at `b + k * bStep`.
 * B is read along its rows and each load of it serves every row, so a product of one to four rows
 * of A (a batch of one, a small batch's decode step) streams B once; the 4x8 tile would compute
 * rows for nothing and read B eight columns at a time down its rows, a new page every few steps.
 * One row takes four steps a pass (rowAxpy1: one), two rows four, three or four rows two (their A
 * values, one register each, must fit). count >= 1; width a positive multiple of 16.
 */
function rowAxpyFunction(fused: boolean, rows: number, steps: number): number[] {
  const [C, LDC, A, LDA, A_STEP, B, B_STEP, COUNT, WIDTH] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const J = 9;
  const aRow = (r: number): number => 10 + r;
  const bRow = (k: number): number => 10 + rows + k;
  const cRow = (r: number): number => 10 + rows + steps + r;
  const firstVector = 10 + 2 * rows + steps;
  const splat = (r: number, k: number): number => firstVector + r * steps + k;
  const acc = (r: number): number => firstVector + rows * steps + r;
  const BV = firstVector + rows * steps + rows;
  const body: number[] = [];
  for (let r = 0; r < rows; r++) {
    body.push(...(r === 0 ? get(A) : [...get(aRow(r - 1)), ...get(LDA), op.i32Add]), ...set(aRow(r)));
    body.push(...(r === 0 ? get(C) : [...get(cRow(r - 1)), ...get(LDC), op.i32Add]), ...set(cRow(r)));
  }
  body.push(op.loop, op.emptyBlock);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < steps; k++) {
      body.push(...get(aRow(r)), ...simdMem(simdOp.v128Load32Splat, 2, 0), ...set(splat(r, k)));
      body.push(...get(aRow(r)), ...get(A_STEP), op.i32Add, ...set(aRow(r)));
    }
  }
  for (let k = 0; k < steps; k++) body.push(...(k === 0 ? get(B) : [...get(bRow(k - 1)), ...get(B_STEP), op.i32Add]), ...set(bRow(k)));
  body.push(...i32(0), ...set(J), op.loop, op.emptyBlock);
  for (let r = 0; r < rows; r++) body.push(...get(cRow(r)), ...get(J), op.i32Add, ...simdMem(simdOp.v128Load, 2, 0), ...set(acc(r)));
  for (let k = 0; k < steps; k++) {
    body.push(...get(bRow(k)), ...get(J), op.i32Add, ...simdMem(simdOp.v128Load, 2, 0), ...set(BV));
    for (let r = 0; r < rows; r++) body.push(...multiplyAdd(get(splat(r, k)), get(BV), get(acc(r)), fused), ...set(acc(r)));
  }
  for (let r = 0; r < rows; r++) body.push(...get(cRow(r)), ...get(J), op.i32Add, ...get(acc(r)), ...simdMem(simdOp.v128Store, 2, 0));
  body.push(...get(J), ...i32(16), op.i32Add, op.localTee, ...leb(J), ...get(WIDTH), op.i32Ne, op.brIf, 0, op.end);
  body.push(...get(bRow(steps - 1)), ...get(B_STEP), op.i32Add, ...set(B));
  body.push(...get(COUNT), ...i32(1), op.i32Sub, op.localTee, ...leb(COUNT), op.brIf, 0, op.end, op.end);
  return [...vec([[1 + 2 * rows + steps, I32], [rows * steps + rows + 1, V128]]), ...body];
}

/** Steps of k per pass of rowAxpy4 (one row) and rowsAxpy{R}, by rows. */
export const ROWS_AXPY_STEPS: Record<1 | 2 | 3 | 4, number> = { 1: 4, 2: 4, 3: 2, 4: 2 };

/**
 * `rowDot4` and `rowDot1`, and `rowsDot{R}` for R = 2 to 4 rows of x: `(out, a, lda, x, ldx, width,
 * count)` (byte addresses, row strides and width). For `count` groups of `rows` rows of A (row j at
 * `a + j * lda`), row j's products with each row r of x (at `x + r * ldx`) over [0, width), summed
 * lane-wise: the four partial sums of (j, r) stored at `out + (j * xRows + r) * 16`. A product of
 * one to four rows by a transposed B, C = x · W^T with W row-major (a dense layer stored [out, in],
 * as ONNX's Gemm with transB writes it): dot products of W's rows with x's, each load of W serving
 * every row of x and each load of x every row of the group. The caller adds the lanes and the last
 * k % 4 terms. One row of x takes four rows of W a group (rowDot1: one), two rows four, three or
 * four rows two (their sums, one register each, must fit). count >= 1; width a positive multiple
 * of 16.
 */
function rowDotFunction(fused: boolean, rows: number, xRows: number): number[] {
  const [OUT, A, LDA, X, LDX, WIDTH, COUNT] = [0, 1, 2, 3, 4, 5, 6];
  const J = 7;
  const row = (j: number): number => 8 + j;
  const firstVector = 8 + rows;
  const acc = (j: number, r: number): number => firstVector + j * xRows + r;
  const xv = (r: number): number => firstVector + rows * xRows + r;
  const body: number[] = [op.loop, op.emptyBlock];
  for (let j = 0; j < rows; j++) {
    body.push(...(j === 0 ? get(A) : [...get(row(j - 1)), ...get(LDA), op.i32Add]), ...set(row(j)));
    for (let r = 0; r < xRows; r++) body.push(...V128_ZERO, ...set(acc(j, r)));
  }
  body.push(...i32(0), ...set(J), op.loop, op.emptyBlock);
  // x's rows r at X + r * LDX (LDX added r times: rows are few)
  for (let r = 0; r < xRows; r++) {
    body.push(...get(X), ...Array.from({ length: r }, () => [...get(LDX), op.i32Add]).flat(), ...get(J), op.i32Add, ...simdMem(simdOp.v128Load, 2, 0), ...set(xv(r)));
  }
  for (let j = 0; j < rows; j++) {
    const w = [...get(row(j)), ...get(J), op.i32Add, ...simdMem(simdOp.v128Load, 2, 0)];
    for (let r = 0; r < xRows; r++) body.push(...multiplyAdd(w, get(xv(r)), get(acc(j, r)), fused), ...set(acc(j, r)));
  }
  body.push(...get(J), ...i32(16), op.i32Add, op.localTee, ...leb(J), ...get(WIDTH), op.i32Ne, op.brIf, 0, op.end);
  for (let j = 0; j < rows; j++) for (let r = 0; r < xRows; r++) body.push(...get(OUT), ...get(acc(j, r)), ...simdMem(simdOp.v128Store, 2, 16 * (j * xRows + r)));
  body.push(...get(OUT), ...i32(16 * rows * xRows), op.i32Add, ...set(OUT));
  body.push(...get(row(rows - 1)), ...get(LDA), op.i32Add, ...set(A));
  body.push(...get(COUNT), ...i32(1), op.i32Sub, op.localTee, ...leb(COUNT), op.brIf, 0, op.end, op.end);
  return [...vec([[1 + rows, I32], [rows * xRows + xRows, V128]]), ...body];
}

/**
 * `laneSums(src, dst, m, n)`: the rowDot kernels' four lane sums of each (row j of W, row r of x), at
 * `src + (j * m + r) * 16`, added in float64 in lane order and rounded to float32 into C's layout,
 * `dst + (r * n + j) * 4`: the JavaScript loop's sums to the bit, without its n * m iterations (an
 * attention's scores over a 256-token cache: 2,048 a product). m, n >= 1.
 */
function laneSumsFunction(): number[] {
  const [SRC, DST, M, N, J, R, P, ROW_BYTES] = [0, 1, 2, 3, 4, 5, 6, 7];
  const lane = (k: number): number[] => [...get(SRC), op.f32Load, 2, 4 * k, op.f64PromoteF32];
  const body = [
    ...get(N), ...i32(2), op.i32Shl, ...set(ROW_BYTES),
    ...get(N), ...set(J),
    op.loop, op.emptyBlock,
    ...get(DST), ...set(P),
    ...get(M), ...set(R),
    op.loop, op.emptyBlock,
    ...get(P), ...lane(0), ...lane(1), op.f64Add, ...lane(2), op.f64Add, ...lane(3), op.f64Add, op.f32DemoteF64, op.f32Store, 2, 0,
    ...get(SRC), ...i32(16), op.i32Add, ...set(SRC),
    ...get(P), ...get(ROW_BYTES), op.i32Add, ...set(P),
    ...get(R), ...i32(1), op.i32Sub, ...tee(R), op.brIf, 0,
    op.end,
    ...get(DST), ...i32(4), op.i32Add, ...set(DST),
    ...get(J), ...i32(1), op.i32Sub, ...tee(J), op.brIf, 0,
    op.end,
    op.end,
  ];
  return [...vec([[4, I32]]), ...body];
}

/** Rows of W per group of rowDot4 (one row of x) and rowsDot{R}, by rows of x. */
export const ROWS_DOT_GROUP: Record<1 | 2 | 3 | 4, number> = { 1: 4, 2: 4, 3: 2, 4: 2 };

/**
 * `panelRows{R}` and `panelRows{R}x1` for R = 1 to 4 rows of A: `(c, ldc, a, lda, aStep, b, bPanel,
 * kc, panels)` (byte addresses and strides). For `panels` panels of B as the tile kernel reads a
 * packed B (TILE_N columns, `kc` steps of 32 bytes each, the next panel `bPanel` bytes on), C's rows
 * r at `c + r * ldc` over the panel's eight columns += sum over k of A[r][k] * B[k][..], A's (r, k)
 * at `a + r * lda + k * aStep`. A product of one to four rows by a constant B kept packed
 * (a batch of one, an LLM's decode step): B is read once, as one sequential stream, where B's rows
 * read in place (rowAxpy) are `steps` streams at once and a new page every few steps. On a 2-core
 * AMD EPYC the decoder of bench/onnx-llm.js's 15 products (26.6 MB) took 0.69-0.72 ms this way
 * against 1.6-1.8 ms by rows (a one-off script over the two kernels). Each panel sums k in `phases`
 * interleaved chains (two for one or two rows: a chain of dependent multiply-adds per lane waits
 * out each one's latency) added at the end; kc a positive multiple of `phases` (the `x1` form, one
 * phase, takes the rest).
 */
function panelRowsFunction(fused: boolean, rows: number, phases: number): number[] {
  const [C, LDC, A, LDA, A_STEP, B, B_PANEL, KC, PANELS] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [K, BP] = [9, 10];
  const aRow = (r: number): number => 11 + r;
  const cRow = (r: number): number => 11 + rows + r;
  const firstVector = 11 + 2 * rows;
  const acc = (r: number, h: number, p: number): number => firstVector + (r * 2 + h) * phases + p;
  const splat = (r: number): number => firstVector + rows * 2 * phases + r;
  const [B0, B1] = [firstVector + rows * 2 * phases + rows, firstVector + rows * 2 * phases + rows + 1];
  const body: number[] = [op.loop, op.emptyBlock];
  for (let r = 0; r < rows; r++) {
    body.push(...(r === 0 ? get(A) : [...get(aRow(r - 1)), ...get(LDA), op.i32Add]), ...set(aRow(r)));
    for (let h = 0; h < 2; h++) for (let p = 0; p < phases; p++) body.push(...V128_ZERO, ...set(acc(r, h, p)));
  }
  body.push(...get(B), ...set(BP), ...get(KC), ...set(K), op.loop, op.emptyBlock);
  for (let p = 0; p < phases; p++) {
    for (let r = 0; r < rows; r++) {
      body.push(...get(aRow(r)), ...simdMem(simdOp.v128Load32Splat, 2, 0), ...set(splat(r)));
      body.push(...get(aRow(r)), ...get(A_STEP), op.i32Add, ...set(aRow(r)));
    }
    body.push(...get(BP), ...simdMem(simdOp.v128Load, 2, 32 * p), ...set(B0));
    body.push(...get(BP), ...simdMem(simdOp.v128Load, 2, 32 * p + 16), ...set(B1));
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < 2; h++) body.push(...multiplyAdd(get(splat(r)), get(h ? B1 : B0), get(acc(r, h, p)), fused), ...set(acc(r, h, p)));
    }
  }
  body.push(...get(BP), ...i32(32 * phases), op.i32Add, ...set(BP));
  body.push(...get(K), ...i32(phases), op.i32Sub, op.localTee, ...leb(K), op.brIf, 0, op.end);
  for (let r = 0; r < rows; r++) {
    body.push(...(r === 0 ? get(C) : [...get(cRow(r - 1)), ...get(LDC), op.i32Add]), ...set(cRow(r)));
    for (let h = 0; h < 2; h++) {
      const sum = [...get(acc(r, h, 0))];
      for (let p = 1; p < phases; p++) sum.push(...get(acc(r, h, p)), ...simd(simdOp.f32x4Add));
      body.push(...get(cRow(r)), ...get(cRow(r)), ...simdMem(simdOp.v128Load, 2, 16 * h), ...sum, ...simd(simdOp.f32x4Add), ...simdMem(simdOp.v128Store, 2, 16 * h));
    }
  }
  body.push(...get(C), ...i32(32), op.i32Add, ...set(C));
  body.push(...get(B), ...get(B_PANEL), op.i32Add, ...set(B));
  body.push(...get(PANELS), ...i32(1), op.i32Sub, op.localTee, ...leb(PANELS), op.brIf, 0, op.end, op.end);
  return [...vec([[2 + 2 * rows, I32], [rows * 2 * phases + rows + 2, V128]]), ...body];
}

/**
 * `packPanels(dst, src, srcStride, kc, panels)` (byte addresses and stride): B's rows k = 0 .. kc - 1
 * (at `src + k * srcStride`, row-major) laid out as `panels` whole panels of TILE_N columns, each
 * its kc rows of 32 bytes in turn, from `dst` on: a k-block of a packed B, a 32-byte copy a row of
 * a panel. A constant's panels are packed so once (residentPanels): the JavaScript loop, a float at
 * a time, took 40 ms over an LLM's 26.6 MB of weights on a cold first run. panels, kc >= 1.
 */
function packPanelsFunction(): number[] {
  const [DST, SRC, STRIDE, KC, PANELS] = [0, 1, 2, 3, 4];
  const [ROW, K] = [5, 6];
  const body = [
    op.loop, op.emptyBlock,
    ...get(SRC), ...set(ROW), ...get(KC), ...set(K),
    op.loop, op.emptyBlock,
    ...get(DST), ...get(ROW), ...simdMem(simdOp.v128Load, 2, 0), ...simdMem(simdOp.v128Store, 2, 0),
    ...get(DST), ...get(ROW), ...simdMem(simdOp.v128Load, 2, 16), ...simdMem(simdOp.v128Store, 2, 16),
    ...get(DST), ...i32(TILE_N * 4), op.i32Add, ...set(DST),
    ...get(ROW), ...get(STRIDE), op.i32Add, ...set(ROW),
    ...get(K), ...i32(1), op.i32Sub, ...tee(K), op.brIf, 0,
    op.end,
    ...get(SRC), ...i32(TILE_N * 4), op.i32Add, ...set(SRC),
    ...get(PANELS), ...i32(1), op.i32Sub, ...tee(PANELS), op.brIf, 0,
    op.end,
    op.end,
  ];
  return [...vec([[2, I32]]), ...body];
}

/** Chains of k per panel in panelRows{R}, by rows: as many accumulators as registers allow. */
export const PANEL_ROWS_PHASES: Record<1 | 2 | 3 | 4, number> = { 1: 2, 2: 2, 3: 1, 4: 1 };

/** The module's functions, in order: name, i32 parameters, code (locals and body). */
function kernelFunctions(fused: boolean): (ModuleFunction & { name: keyof Omit<SimdKernel, 'memory'> })[] {
  return [
    { name: 'tile', params: 8, code: tileFunction(fused, false) },
    { name: 'tilePacked', params: 8, code: tileFunction(fused, false, true) },
    { name: 'depthwiseRow', params: 7, code: depthwiseRowFunction(fused) },
    { name: 'windowTile', params: 9, code: tileFunction(fused, true) },
    { name: 'depthwiseFilterRow', params: 6, code: depthwiseFilterRowFunction(fused) },
    { name: 'depthwiseWindow1', params: 11, code: depthwiseWindowFunction(fused, 1) },
    { name: 'depthwiseWindow2', params: 11, code: depthwiseWindowFunction(fused, 2) },
    { name: 'depthwiseWindow4', params: 11, code: depthwiseWindowFunction(fused, 4) },
    { name: 'scatterRuns', params: 5, code: scatterRunsFunction() },
    { name: 'rowAxpy4', params: 9, code: rowAxpyFunction(fused, 1, ROWS_AXPY_STEPS[1]) },
    { name: 'rowAxpy1', params: 9, code: rowAxpyFunction(fused, 1, 1) },
    { name: 'rowsAxpy2', params: 9, code: rowAxpyFunction(fused, 2, ROWS_AXPY_STEPS[2]) },
    { name: 'rowsAxpy3', params: 9, code: rowAxpyFunction(fused, 3, ROWS_AXPY_STEPS[3]) },
    { name: 'rowsAxpy4', params: 9, code: rowAxpyFunction(fused, 4, ROWS_AXPY_STEPS[4]) },
    { name: 'rowDot4', params: 7, code: rowDotFunction(fused, ROWS_DOT_GROUP[1], 1) },
    { name: 'rowDot1', params: 7, code: rowDotFunction(fused, 1, 1) },
    { name: 'rowsDot2', params: 7, code: rowDotFunction(fused, ROWS_DOT_GROUP[2], 2) },
    { name: 'rowsDot3', params: 7, code: rowDotFunction(fused, ROWS_DOT_GROUP[3], 3) },
    { name: 'rowsDot4', params: 7, code: rowDotFunction(fused, ROWS_DOT_GROUP[4], 4) },
    { name: 'laneSums', params: 4, code: laneSumsFunction() },
    { name: 'panelRows1', params: 9, code: panelRowsFunction(fused, 1, PANEL_ROWS_PHASES[1]) },
    { name: 'panelRows1x1', params: 9, code: panelRowsFunction(fused, 1, 1) },
    { name: 'panelRows2', params: 9, code: panelRowsFunction(fused, 2, PANEL_ROWS_PHASES[2]) },
    { name: 'panelRows2x1', params: 9, code: panelRowsFunction(fused, 2, 1) },
    { name: 'panelRows3', params: 9, code: panelRowsFunction(fused, 3, PANEL_ROWS_PHASES[3]) },
    { name: 'panelRows4', params: 9, code: panelRowsFunction(fused, 4, PANEL_ROWS_PHASES[4]) },
    { name: 'packPanels', params: 5, code: packPanelsFunction() },
    // zero(at, bytes): memory.fill with 0, a memset (TypedArray.fill on a shared memory's buffer
    // stores element by element: 36 KB took 1.4 us against 0.5 us on an own memory)
    { name: 'zero', params: 2, code: [...vec([]), ...get(0), ...i32(0), ...get(1), ...MEMORY_FILL, op.end] },
  ];
}

/** The kernels' module; with `sharedMemory` its memory is imported and shared by every worker's instance (threads.ts). */
function kernelModule(sharedMemory: boolean, fused: boolean): Uint8Array<ArrayBuffer> {
  return functionsModule(kernelFunctions(fused), sharedMemory ? { sharedMaxPages: SHARED_MAX_PAGES } : undefined);
}

/**
 * `depthwiseRow(out, x, w, count, channelBytes, xStep, outStep)` (byte addresses): for `count`
 * pixels of one row, out[p][c] += x[p][c] * w[c] over the channels, four at a time, where pixel
 * p's output lies at `out + p * outStep` and its input at `x + p * xStep`. One tap of a depthwise
 * convolution's input gradient scattered back (dy as x, contiguous; dx as out, the stride apart)
 * over a run of pixels whose inputs all lie inside the image; the forward convolution sums whole
 * windows instead (depthwiseWindow). count >= 1; channelBytes a positive multiple of 16.
 */
function depthwiseRowFunction(fused: boolean): number[] {
  const [OUT, X, W, COUNT, CH, STEP, OUT_STEP] = [0, 1, 2, 3, 4, 5, 6];
  const OFF = 7; // byte offset within the pixel's channels
  const at = (base: number): number[] => [...get(base), ...get(OFF), op.i32Add];
  const body = [
    op.loop, op.emptyBlock,
    ...i32(0), ...set(OFF),
    op.loop, op.emptyBlock,
    ...at(OUT),
    ...multiplyAdd(
      [...at(X), ...simdMem(simdOp.v128Load, 2, 0)],
      [...at(W), ...simdMem(simdOp.v128Load, 2, 0)],
      [...at(OUT), ...simdMem(simdOp.v128Load, 2, 0)],
      fused,
    ),
    ...simdMem(simdOp.v128Store, 2, 0),
    ...get(OFF), ...i32(16), op.i32Add, op.localTee, ...leb(OFF), ...get(CH), op.i32Ne, op.brIf, 0,
    op.end,
    ...get(OUT), ...get(OUT_STEP), op.i32Add, ...set(OUT),
    ...get(X), ...get(STEP), op.i32Add, ...set(X),
    ...get(COUNT), ...i32(1), op.i32Sub, op.localTee, ...leb(COUNT), op.brIf, 0,
    op.end,
    op.end,
  ];
  return [...vec([[1, I32]]), ...body];
}

/**
 * `scatterRuns(out, cols, runs, count, stride)` (byte addresses and a byte stride): for each of
 * `count` runs, i32 triples at `runs` (a float offset into cols, a float offset into out, a length),
 * out[o + j * stride] += cols[c + j] over the run, one float at a time. A transposed convolution's
 * col2im: the runs come from the geometry, the same for every channel. count >= 1, lengths >= 1.
 */
function scatterRunsFunction(): number[] {
  const [OUT, COLS, RUNS, COUNT, STRIDE] = [0, 1, 2, 3, 4];
  const [C, O, N] = [5, 6, 7];
  const load = (code: number, offset: number): number[] => [code, ...leb(2), ...leb(offset)];
  const body = [
    op.loop, op.emptyBlock,
    ...get(COLS), ...get(RUNS), ...load(op.i32Load, 0), ...i32(2), op.i32Shl, op.i32Add, ...set(C),
    ...get(OUT), ...get(RUNS), ...load(op.i32Load, 4), ...i32(2), op.i32Shl, op.i32Add, ...set(O),
    ...get(RUNS), ...load(op.i32Load, 8), ...set(N),
    op.loop, op.emptyBlock,
    ...get(O),
    ...get(O), ...load(op.f32Load, 0),
    ...get(C), ...load(op.f32Load, 0),
    op.f32Add,
    op.f32Store, ...leb(2), ...leb(0),
    ...get(C), ...i32(4), op.i32Add, ...set(C),
    ...get(O), ...get(STRIDE), op.i32Add, ...set(O),
    ...get(N), ...i32(1), op.i32Sub, ...tee(N), op.brIf, 0,
    op.end,
    ...get(RUNS), ...i32(12), op.i32Add, ...set(RUNS),
    ...get(COUNT), ...i32(1), op.i32Sub, ...tee(COUNT), op.brIf, 0,
    op.end,
    op.end,
  ];
  return [...vec([[3, I32]]), ...body];
}

/**
 * `depthwiseFilterRow(acc, x, dy, count, channelBytes, xStep)` (byte addresses): acc[c] += sum over
 * `count` pixels p of x[p][c] * dy[p][c], four channels at a time, pixel p's input at
 * `x + p * xStep` and its output gradient at `dy + p * channelBytes`. One tap of a depthwise
 * convolution's filter gradient over a run of output pixels; the sum runs in a register, one
 * channel vector at a time. count >= 1; channelBytes a positive multiple of 16.
 */
function depthwiseFilterRowFunction(fused: boolean): number[] {
  const [ACC, X, DY, COUNT, CH, STEP] = [0, 1, 2, 3, 4, 5];
  const [OFF, XP, DP, LEFT, SUM] = [6, 7, 8, 9, 10];
  const body = [
    ...i32(0), ...set(OFF),
    op.loop, op.emptyBlock,
    ...get(ACC), ...get(OFF), op.i32Add, ...simdMem(simdOp.v128Load, 2, 0), ...set(SUM),
    ...get(X), ...get(OFF), op.i32Add, ...set(XP),
    ...get(DY), ...get(OFF), op.i32Add, ...set(DP),
    ...get(COUNT), ...set(LEFT),
    op.loop, op.emptyBlock,
    ...multiplyAdd([...get(XP), ...simdMem(simdOp.v128Load, 2, 0)], [...get(DP), ...simdMem(simdOp.v128Load, 2, 0)], get(SUM), fused),
    ...set(SUM),
    ...get(XP), ...get(STEP), op.i32Add, ...set(XP),
    ...get(DP), ...get(CH), op.i32Add, ...set(DP),
    ...get(LEFT), ...i32(1), op.i32Sub, op.localTee, ...leb(LEFT), op.brIf, 0,
    op.end,
    ...get(ACC), ...get(OFF), op.i32Add, ...get(SUM), ...simdMem(simdOp.v128Store, 2, 0),
    ...get(OFF), ...i32(16), op.i32Add, op.localTee, ...leb(OFF), ...get(CH), op.i32Ne, op.brIf, 0,
    op.end,
    op.end,
  ];
  return [...vec([[4, I32], [1, V128]]), ...body];
}

/**
 * `depthwiseWindow(out, x, w, count, channelBytes, xStep, rows, cols, xRowStep, xColStep, wRowStep)`
 * (byte addresses and strides): for `count` output pixels of one row, the whole window at once,
 * out[p][c] = sum over the rows x cols taps of x[tap][c] * w[tap][c], `vectors` channel vectors at a
 * time, summed in registers and stored once. Pixel p's first tap reads `x + p * xStep`; the next
 * tap along a row `xColStep` on, the next row `xRowStep` on; the filter's taps lie channelBytes
 * apart along a row and `wRowStep` apart between rows (w at the first tap used: a window cut by
 * padding passes fewer rows or cols). count, rows, cols >= 1; channelBytes a positive multiple of
 * 16 * vectors.
 */
function depthwiseWindowFunction(fused: boolean, vectors: number): number[] {
  const [OUT, X, W, COUNT, CH, X_STEP, ROWS, COLS, X_ROW, X_COL, W_ROW] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [OFF, XR, WR, XC, WC, ROWS_LEFT, COLS_LEFT] = [11, 12, 13, 14, 15, 16, 17];
  const ACC = 18; // then one accumulator per vector
  const count = (local: number, label: number): number[] => [...get(local), ...i32(1), op.i32Sub, op.localTee, ...leb(local), op.brIf, label];
  const advance = (local: number, by: number[]): number[] => [...get(local), ...by, op.i32Add, ...set(local)];
  const perVector = (f: (v: number) => number[]): number[] => Array.from({ length: vectors }, (_, v) => f(v)).flat();
  const body = [
    op.loop, op.emptyBlock, // each pixel
    ...i32(0), ...set(OFF),
    op.loop, op.emptyBlock, // each group of channel vectors
    ...perVector((v) => [...V128_ZERO, ...set(ACC + v)]),
    ...get(X), ...get(OFF), op.i32Add, ...set(XR),
    ...get(W), ...get(OFF), op.i32Add, ...set(WR),
    ...get(ROWS), ...set(ROWS_LEFT),
    op.loop, op.emptyBlock, // each row of taps
    ...get(XR), ...set(XC),
    ...get(WR), ...set(WC),
    ...get(COLS), ...set(COLS_LEFT),
    op.loop, op.emptyBlock, // each tap of the row
    ...perVector((v) => [
      ...multiplyAdd([...get(XC), ...simdMem(simdOp.v128Load, 2, 16 * v)], [...get(WC), ...simdMem(simdOp.v128Load, 2, 16 * v)], get(ACC + v), fused),
      ...set(ACC + v),
    ]),
    ...advance(XC, get(X_COL)),
    ...advance(WC, get(CH)),
    ...count(COLS_LEFT, 0),
    op.end,
    ...advance(XR, get(X_ROW)),
    ...advance(WR, get(W_ROW)),
    ...count(ROWS_LEFT, 0),
    op.end,
    ...perVector((v) => [...get(OUT), ...get(OFF), op.i32Add, ...get(ACC + v), ...simdMem(simdOp.v128Store, 2, 16 * v)]),
    ...get(OFF), ...i32(16 * vectors), op.i32Add, op.localTee, ...leb(OFF), ...get(CH), op.i32Ne, op.brIf, 0,
    op.end,
    ...advance(OUT, get(CH)),
    ...advance(X, get(X_STEP)),
    ...count(COUNT, 0),
    op.end,
    op.end,
  ];
  return [...vec([[7, I32], [vectors, V128]]), ...body];
}

/** The instructions leaving a * b + c on the stack (each operand's instructions push one v128). */
function multiplyAdd(a: number[], b: number[], c: number[], fused: boolean): number[] {
  if (fused) return [...a, ...b, ...c, ...simd(simdOp.f32x4RelaxedMadd)];
  return [...c, ...a, ...b, ...simd(simdOp.f32x4Mul), ...simd(simdOp.f32x4Add)];
}

/** Whether this engine compiles relaxed SIMD (asked again on each call: a V8 flag may have been set since). */
export function relaxedSimdAvailable(): boolean {
  if (typeof WebAssembly !== 'object') return false;
  try {
    return WebAssembly.validate(oneFunctionModule('probe', 0, [], [...V128_ZERO, ...V128_ZERO, ...V128_ZERO, ...simd(simdOp.f32x4RelaxedMadd), op.drop]));
  } catch {
    return false;
  }
}

/**
 * Turns on V8's relaxed SIMD where this is a Node whose V8 keeps it behind a flag (Node 20), and
 * returns whether the engine now has it. The `graphc` CLI and the benchmarks call it at startup; a
 * program using the library calls it (or runs node with --experimental-wasm-relaxed-simd) to get
 * the fused kernels on Node 20. It sets a process-wide V8 flag, so it is the program's choice, not
 * the library's: the flag only lets WebAssembly modules use more instructions. Kernels already built
 * (by a float32 product before the call) stay as they are until `setCpuFusedMultiplyAdd`.
 */
export function enableRelaxedSimd(): boolean {
  if (relaxedSimdAvailable()) return true;
  try {
    if (typeof process === 'undefined' || !process.versions?.node) return false;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('v8') as { setFlagsFromString(flags: string): void }).setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return relaxedSimdAvailable();
}

/** Whether the kernels should multiply-add fused: GRAPHC_CPU_FMA=0 says no, until set otherwise. */
let fusedWanted = typeof process !== 'object' || process.env?.GRAPHC_CPU_FMA !== '0';
/** Whether the kernels built so far multiply-add fused (decided when the first is built). */
let fusedBuilt: boolean | undefined;

/**
 * Whether the kernels multiply-add fused. Modules built over their memory (wasm-nbits.ts) follow
 * the same choice, which `chooseFusedMultiplyAdd` changes only together with a new kernel and memory.
 */
export function fusedMultiplyAdd(): boolean {
  fusedBuilt ??= fusedWanted && relaxedSimdAvailable();
  return fusedBuilt;
}

/**
 * Asks for fused (relaxed SIMD) multiply-adds or plain ones in the kernels built from now on, and
 * forgets the kernels built so far; returns whether they will be fused (false where the engine lacks
 * relaxed SIMD). The caller stops and restarts worker threads around it (gemm.ts).
 */
export function chooseFusedMultiplyAdd(on: boolean): boolean {
  fusedWanted = on;
  fusedBuilt = undefined;
  instance = undefined;
  shared = undefined;
  useShared = false;
  return fusedMultiplyAdd();
}

export interface SimdKernel {
  memory: WebAssembly.Memory;
  tile(a: number, lda: number, aStep: number, b: number, bStep: number, kc: number, c: number, ldc: number): void;
  tilePacked(a: number, lda: number, aStep: number, b: number, bStep: number, kc: number, c: number, ldc: number): void;
  depthwiseRow(out: number, x: number, w: number, count: number, channelBytes: number, xStep: number, outStep: number): void;
  depthwiseFilterRow(acc: number, x: number, dy: number, count: number, channelBytes: number, xStep: number): void;
  windowTile(a: number, lda: number, b: number, bStep: number, kc: number, segments: number, segStride: number, c: number, ldc: number): void;
  depthwiseWindow1: DepthwiseWindow;
  depthwiseWindow2: DepthwiseWindow;
  depthwiseWindow4: DepthwiseWindow;
  scatterRuns(out: number, cols: number, runs: number, count: number, stride: number): void;
  rowAxpy4: RowAxpy;
  rowAxpy1: RowAxpy;
  rowsAxpy2: RowAxpy;
  rowsAxpy3: RowAxpy;
  rowsAxpy4: RowAxpy;
  rowDot4: RowDot;
  rowDot1: RowDot;
  rowsDot2: RowDot;
  rowsDot3: RowDot;
  rowsDot4: RowDot;
  laneSums(src: number, dst: number, m: number, n: number): void;
  panelRows1: PanelRows;
  panelRows1x1: PanelRows;
  panelRows2: PanelRows;
  panelRows2x1: PanelRows;
  panelRows3: PanelRows;
  panelRows4: PanelRows;
  packPanels(dst: number, src: number, srcStride: number, kc: number, panels: number): void;
  zero(at: number, bytes: number): void;
}

/** A rowAxpy or rowsAxpy kernel (rowAxpyFunction). */
export type RowAxpy = (c: number, ldc: number, a: number, lda: number, aStep: number, b: number, bStep: number, count: number, width: number) => void;

/** A rowDot or rowsDot kernel (rowDotFunction). */
export type RowDot = (out: number, a: number, lda: number, x: number, ldx: number, width: number, count: number) => void;

/** A panelRows kernel (panelRowsFunction). */
export type PanelRows = (c: number, ldc: number, a: number, lda: number, aStep: number, b: number, bPanel: number, kc: number, panels: number) => void;

/** A depthwiseWindow kernel (depthwiseWindowFunction), over 1, 2 or 4 channel vectors at a time. */
export type DepthwiseWindow = (
  out: number, x: number, w: number, count: number, channelBytes: number, xStep: number, rows: number, cols: number, xRowStep: number, xColStep: number, wRowStep: number,
) => void;

/** Pages (64 KiB) a shared memory may grow to: 2 GiB, the most a Float32Array view of it can index comfortably. */
export const SHARED_MAX_PAGES = 32768;

let instance: SimdKernel | null | undefined;
let shared: { kernel: SimdKernel; bytes: Uint8Array<ArrayBuffer> } | null | undefined;
let useShared = false;

function instantiate(bytes: Uint8Array<ArrayBuffer>, memory?: WebAssembly.Memory): SimdKernel | null {
  if (typeof WebAssembly !== 'object' || !WebAssembly.validate(bytes)) return null;
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), memory ? { env: { memory } } : {}).exports;
  // the module exports its memory and every function of kernelFunctions under its name
  return exports as unknown as SimdKernel;
}

/**
 * The compiled kernel, or null where WebAssembly SIMD is unavailable (then the JS kernel runs). With
 * `parallel` (work the worker threads will share) and threads on, the kernel over the memory they
 * share; otherwise the one over a memory of its own, even with threads on: V8 copies out of a
 * shared memory's buffer more slowly (a 16384 x 24 by 24 x 144 product's blocks of C took 0.40 ms to
 * copy out of its own memory and 0.66 ms out of the shared one, a one-off timing at 92ec5ea).
 */
export function simdKernel(parallel = false): SimdKernel | null {
  if (parallel && useShared && shared) return shared.kernel;
  if (instance === undefined) {
    try {
      instance = instantiate(kernelModule(false, fusedMultiplyAdd()));
    } catch {
      instance = null;
    }
  }
  return instance;
}

/**
 * The kernel over a shared memory, with the module's bytes for worker threads to instantiate over
 * the same memory (threads.ts); null where shared memories or SIMD are unavailable (a browser page
 * that is not cross-origin isolated). `use` makes it the kernel `simdKernel` returns.
 */
export function sharedSimdKernel(use: boolean): { kernel: SimdKernel; bytes: Uint8Array<ArrayBuffer> } | null {
  if (shared === undefined) {
    try {
      const bytes = kernelModule(true, fusedMultiplyAdd());
      const kernel = instantiate(bytes, new WebAssembly.Memory({ initial: 1, maximum: SHARED_MAX_PAGES, shared: true }));
      shared = kernel ? { kernel, bytes } : null;
    } catch {
      shared = null;
    }
  }
  useShared = use && shared !== null;
  return shared;
}
