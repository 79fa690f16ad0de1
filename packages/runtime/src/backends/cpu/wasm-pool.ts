import type { WindowGeometry } from './kernels/nn/window';
import { I32, OneFunction, V128, V128_ZERO, ensureMemory, get, i32, instantiateOne, oneFunctionModule, op, set, simd, simdMem, simdOp, tee } from './wasm-assembler';
import { simdKernelsEnabled } from './wasm-elementwise';

/**
 * float32 max pooling and its argmax (for maxPoolGrad) on WebAssembly SIMD, four channels at a time,
 * with the JavaScript kernels' exact results:
 * - max: each further cell updates the running maximum to max(v, m) + 0. The JavaScript step
 *   ((v + m + |v - m|) / 2, or a comparison where that is inexact) gives the larger value, NaN if
 *   either is NaN, and +0 for two zeros; f32x4.max gives the same but -0 for two negative zeros,
 *   which the + 0 turns into +0. A window of one cell keeps its value as is (not taken here).
 * - argmax: the first cell in scan order (rows, then columns) holding the maximum, a later cell
 *   taking over only where it is strictly greater (f32x4.gt), so a NaN first cell stays and a later
 *   NaN never wins, as in the JavaScript scan.
 * A window clipped by the padding is run with its clipped extent; a plan with an empty window keeps
 * the JavaScript kernel.
 */

/** Byte offsets of the four lanes. */
const LANES = [...simd(simdOp.v128Const), 0, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 12, 0, 0, 0];

// params of both functions: out, x, count, cBytes, kh, kw, rowBytes, strideBytes, xBase (argmax)
const [OUT, X, COUNT, C_BYTES, KH, KW, ROW_BYTES, STRIDE_BYTES, X_BASE] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
// i32 locals after the 9 params, then v128 locals
const [C_OFF, KY, KX, ROW, TAP] = [9, 10, 11, 12, 13];
const [M, AT] = [14, 15];

/**
 * The loops both functions share: for `count` windows `strideBytes` apart, for each 16 bytes of
 * channels, `start` (at the window's first cell), `tap` for every cell (rows `rowBytes` apart,
 * cells `cBytes` apart; TAP holds the cell's address), then `finish` (C_OFF is the channel offset).
 */
function windowLoops(start: number[], tap: number[], finish: number[]): number[] {
  return [
    op.loop, op.emptyBlock,
    ...i32(0), ...set(C_OFF),
    op.loop, op.emptyBlock,
    ...start,
    ...get(X), ...get(C_OFF), op.i32Add, ...set(ROW),
    ...get(KH), ...set(KY),
    op.loop, op.emptyBlock,
    ...get(ROW), ...set(TAP),
    ...get(KW), ...set(KX),
    op.loop, op.emptyBlock,
    ...tap,
    ...get(TAP), ...get(C_BYTES), op.i32Add, ...set(TAP),
    ...get(KX), ...i32(1), op.i32Sub, ...tee(KX), op.brIf, 0,
    op.end,
    ...get(ROW), ...get(ROW_BYTES), op.i32Add, ...set(ROW),
    ...get(KY), ...i32(1), op.i32Sub, ...tee(KY), op.brIf, 0,
    op.end,
    ...finish,
    ...get(C_OFF), ...i32(16), op.i32Add, ...tee(C_OFF), ...get(C_BYTES), op.i32Ne, op.brIf, 0,
    op.end,
    ...get(OUT), ...get(C_BYTES), op.i32Add, ...set(OUT),
    ...get(X), ...get(STRIDE_BYTES), op.i32Add, ...set(X),
    ...get(COUNT), ...i32(1), op.i32Sub, ...tee(COUNT), op.brIf, 0,
    op.end,
  ];
}

const firstCell = [...get(X), ...get(C_OFF), op.i32Add];
const outAt = [...get(OUT), ...get(C_OFF), op.i32Add];

function maxModule(): Uint8Array<ArrayBuffer> {
  const body = windowLoops(
    [...firstCell, ...simdMem(simdOp.v128Load, 2), ...set(M)],
    [...get(TAP), ...simdMem(simdOp.v128Load, 2), ...get(M), ...simd(simdOp.f32x4Max), ...V128_ZERO, ...simd(simdOp.f32x4Add), ...set(M)],
    [...outAt, ...get(M), ...simdMem(simdOp.v128Store, 2)],
  );
  return oneFunctionModule('run', 9, [[5, I32], [2, V128]], body);
}

/** The argmax scan's v128 locals beside M and AT: a cell's values and where it takes over. */
const [V, MASK] = [AT + 1, AT + 2];

/** The four lanes' byte addresses from a cell's address. */
const lanesAt = (address: number[]): number[] => [...address, ...simd(simdOp.i32x4Splat), ...LANES, ...simd(simdOp.i32x4Add)];

/**
 * windowLoops for the argmax scan: M the running maximum and AT the lanes' addresses of the cell
 * holding it, a later cell taking over, lane by lane, only where it is strictly greater; `finish`
 * then reads AT.
 */
const argmaxScan = (finish: number[]): number[] =>
  windowLoops(
    [...firstCell, ...simdMem(simdOp.v128Load, 2), ...set(M), ...lanesAt(firstCell), ...set(AT)],
    [
      ...get(TAP), ...simdMem(simdOp.v128Load, 2), ...set(V),
      ...get(V), ...get(M), ...simd(simdOp.f32x4Gt), ...set(MASK),
      ...get(V), ...get(M), ...get(MASK), ...simd(simdOp.v128Bitselect), ...set(M),
      ...lanesAt(get(TAP)), ...get(AT), ...get(MASK), ...simd(simdOp.v128Bitselect), ...set(AT),
    ],
    finish,
  );

function argmaxModule(): Uint8Array<ArrayBuffer> {
  // the winners' element indices from the input's start
  const body = argmaxScan([...outAt, ...get(AT), ...get(X_BASE), ...simd(simdOp.i32x4Splat), ...simd(simdOp.i32x4Sub), ...i32(2), ...simd(simdOp.i32x4ShrU), ...simdMem(simdOp.v128Store, 2)]);
  return oneFunctionModule('run', 9, [[5, I32], [4, V128]], body);
}

/**
 * maxPoolGrad's scatter: the argmax scan, then each lane's dy value (from `out`, laid out as the
 * pooled output) added into dx at the winner's address plus `xBase` (dx's offset from x, in
 * bytes), in the JavaScript loop's order: the same bits.
 */
function argmaxGradModule(): Uint8Array<ArrayBuffer> {
  const [ADDR, DY] = [AT + 3, AT + 4];
  const scatter = (lane: number): number[] => [
    ...get(AT), ...simd(simdOp.i32x4ExtractLane), lane, ...get(X_BASE), op.i32Add, ...tee(ADDR),
    ...get(ADDR), op.f32Load, 2, 0,
    ...get(DY), ...simd(simdOp.f32x4ExtractLane), lane,
    op.f32Add, op.f32Store, 2, 0,
  ];
  const body = argmaxScan([...outAt, ...simdMem(simdOp.v128Load, 2), ...set(DY), ...[0, 1, 2, 3].flatMap(scatter)]);
  return oneFunctionModule('run', 9, [[5, I32], [4, V128], [1, I32], [1, V128]], body);
}

/** run(out, x, count, cBytes, kh, kw, rowBytes, strideBytes, xBase): see windowLoops. */
type Kernel = OneFunction<(out: number, x: number, count: number, cBytes: number, kh: number, kw: number, rowBytes: number, strideBytes: number, xBase: number) => void>;

const kernels = new Map<string, Kernel | null>();

const modules = { max: maxModule, argmax: argmaxModule, argmaxGrad: argmaxGradModule };

function kernel(which: keyof typeof modules): Kernel | null {
  let k = kernels.get(which);
  if (k !== undefined) return k;
  k = instantiateOne<Kernel['fn']>(modules[which], 'run');
  kernels.set(which, k);
  return k;
}

/**
 * Every window of a max pool over NHWC `g` (its windows cut to the image), row by row: a run of
 * whole windows in one call, a cut one alone with its extent. False when some window is empty (the
 * JavaScript kernel fills those); nothing is called then.
 */
function forEachRun(g: WindowGeometry, kh: number, kw: number, call: (dst: number, src: number, count: number, rows: number, cols: number) => void): boolean {
  const { n, h, w, c, outH, outW, sh, sw, padTop, padLeft } = g;
  const cut = (start: number, size: number, limit: number): [number, number] => [Math.max(start, 0), Math.min(start + size, limit)];
  for (let oy = 0; oy < outH; oy++) {
    const [y0, y1] = cut(oy * sh - padTop, kh, h);
    if (y0 >= y1) return false;
  }
  for (let ox = 0; ox < outW; ox++) {
    const [x0, x1] = cut(ox * sw - padLeft, kw, w);
    if (x0 >= x1) return false;
  }
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const [y0, y1] = cut(oy * sh - padTop, kh, h);
      const rowDst = ((b * outH + oy) * outW) * c;
      const rowSrc = (b * h + y0) * w * c;
      let run = -1;
      const flush = (end: number): void => {
        if (run >= 0) call(rowDst + run * c, rowSrc + (run * sw - padLeft) * c, end - run, y1 - y0, kw);
        run = -1;
      };
      for (let ox = 0; ox < outW; ox++) {
        const left = ox * sw - padLeft;
        const [x0, x1] = cut(left, kw, w);
        if (x0 === left && x1 === left + kw) {
          if (run < 0) run = ox;
          continue;
        }
        flush(ox);
        call(rowDst + ox * c, rowSrc + x0 * c, 1, y1 - y0, x1 - x0);
      }
      flush(outW);
    }
  }
  return true;
}

/** The kernel's memory as [x | result], x copied in; null when it cannot grow that far. */
function stage(k: Kernel, x: Float32Array, resultFloats: number): Float32Array | null {
  if (!ensureMemory(k.memory, (x.length + resultFloats) * 4)) return null;
  const f = new Float32Array(k.memory.buffer);
  f.set(x);
  return f;
}

/** Whether a pool over `g` can run here: float32, channels in whole vectors, windows of two cells or more. */
const applies = (g: WindowGeometry, kh: number, kw: number): boolean => simdKernelsEnabled() && g.c % 4 === 0 && g.c > 0 && kh * kw >= 2;

/** maxPool of float32 `x` into `out` on WebAssembly SIMD; false where it does not apply. */
export function maxPoolSimd(x: Float32Array, g: WindowGeometry, kh: number, kw: number, out: Float32Array): boolean {
  if (!applies(g, kh, kw)) return false;
  const k = kernel('max');
  const f = k && stage(k, x, out.length);
  if (!k || !f) return false;
  const outBase = x.length * 4;
  const ok = forEachRun(g, kh, kw, (dst, src, count, rows, cols) => k.fn(outBase + dst * 4, src * 4, count, g.c * 4, rows, cols, g.w * g.c * 4, g.sw * g.c * 4, 0));
  if (ok) out.set(f.subarray(x.length, x.length + out.length));
  return ok;
}

/**
 * For every (output pixel, channel) of a max pool over float32 `x`, the flat index in x of its
 * window's first maximum, into `argmax`, on WebAssembly SIMD; false where it does not apply.
 */
export function maxPoolArgmaxSimd(x: Float32Array, g: WindowGeometry, kh: number, kw: number, argmax: Int32Array, size: number): boolean {
  if (!applies(g, kh, kw)) return false;
  const k = kernel('argmax');
  const f = k && stage(k, x, size);
  if (!k || !f) return false;
  const outBase = x.length * 4;
  const ok = forEachRun(g, kh, kw, (dst, src, count, rows, cols) => k.fn(outBase + dst * 4, src * 4, count, g.c * 4, rows, cols, g.w * g.c * 4, g.sw * g.c * 4, 0));
  if (ok) argmax.set(new Int32Array(k.memory.buffer, outBase, size));
  return ok;
}

/**
 * maxPoolGrad of float32 `x` on WebAssembly SIMD: dx (zeroed) += dy at each window's first maximum,
 * with the JavaScript kernel's bits; false where it does not apply (nothing written then).
 */
export function maxPoolGradSimd(x: Float32Array, dy: Float32Array, g: WindowGeometry, kh: number, kw: number, dx: Float32Array): boolean {
  if (!applies(g, kh, kw)) return false;
  const k = kernel('argmaxGrad');
  const f = k && stage(k, x, dy.length + dx.length);
  if (!k || !f) return false;
  const [dyBase, dxBase] = [x.length, x.length + dy.length];
  f.set(dy, dyBase);
  f.fill(0, dxBase, dxBase + dx.length);
  const ok = forEachRun(g, kh, kw, (dst, src, count, rows, cols) => k.fn((dyBase + dst) * 4, src * 4, count, g.c * 4, rows, cols, g.w * g.c * 4, g.sw * g.c * 4, dxBase * 4));
  if (ok) dx.set(f.subarray(dxBase, dxBase + dx.length));
  return ok;
}
