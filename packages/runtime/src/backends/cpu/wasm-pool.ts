import type { WindowGeometry } from './kernels/nn/window';
import { I32, OneFunction, V128, V128_ZERO, ensureMemory, get, i32, instantiateOne, oneFunctionModule, op, set, simd, simdMem, simdOp, tee } from './wasm-assembler';
import { simdKernelsEnabled } from './wasm-elementwise';

/**
 * float32 max pooling and its argmax (for maxPoolGrad) on WebAssembly SIMD, four channels at a time,
 * with the JavaScript kernels' exact results:
 * - max: each further cell updates the running maximum to max(v, m) + 0. The JavaScript step
 *   ((v + m + |v - m|) / 2, or a comparison where that is inexact) gives the larger value, NaN if
 *   either is NaN, and +0 for two zeros; f32x4.max gives the same but -0 for two negative zeros,
 *   which the + 0 turns into +0. A window of one cell keeps its value as is (copied, not taken here).
 * - argmax: the first cell in scan order (rows, then columns) holding the maximum, a later cell
 *   taking over only where it is strictly greater (f32x4.gt), so a NaN first cell stays and a later
 *   NaN never wins, as in the JavaScript scan.
 * A window clipped by the padding is run with its clipped extent (cut to one cell, max copies it);
 * a plan with an empty window keeps the JavaScript kernel.
 */

/** Byte offsets of the four lanes. */
const LANES = [...simd(simdOp.v128Const), 0, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 12, 0, 0, 0];

// params of both functions: out, x, count, cBytes, kh, kw, rowBytes, strideBytes, xBase (argmax)
const [OUT, X, COUNT, C_BYTES, KH, KW, ROW_BYTES, STRIDE_BYTES, X_BASE] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
// i32 locals after the 9 params, then v128 locals
const [C_OFF, KY, KX, ROW, TAP] = [9, 10, 11, 12, 13];
const [M, AT] = [14, 15];

/**
 * For `count` windows (`out` advancing by the channel bytes, `x` by `stride`), for each 16 bytes of
 * channels (local `c` the offset within the pixel): `perVector`. Both kinds of kernel loop so.
 */
function overWindows(locals: { out: number; x: number; count: number; stride: number; c: number }, channelBytes: number[], perVector: number[]): number[] {
  const { out, x, count, stride, c } = locals;
  return [
    op.loop, op.emptyBlock,
    ...i32(0), ...set(c),
    op.loop, op.emptyBlock,
    ...perVector,
    ...get(c), ...i32(16), op.i32Add, ...tee(c), ...channelBytes, op.i32Ne, op.brIf, 0,
    op.end,
    ...get(out), ...channelBytes, op.i32Add, ...set(out),
    ...get(x), ...get(stride), op.i32Add, ...set(x),
    ...get(count), ...i32(1), op.i32Sub, ...tee(count), op.brIf, 0,
    op.end,
  ];
}

/**
 * The loops both general functions share: for `count` windows `strideBytes` apart, for each 16
 * bytes of channels, `start` (at the window's first cell), `tap` for every cell (rows `rowBytes`
 * apart, cells `cBytes` apart; TAP holds the cell's address), then `finish` (C_OFF is the channel
 * offset).
 */
function windowLoops(start: number[], tap: number[], finish: number[]): number[] {
  return overWindows({ out: OUT, x: X, count: COUNT, stride: STRIDE_BYTES, c: C_OFF }, get(C_BYTES), [
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
  ]);
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

/**
 * Kernels for the whole windows of one pool shape (kh x kw, channels and row length fixed), every
 * tap read at a constant offset, unrolled: a 2x2 window costs four loads and three maxima per
 * vector, where windowLoops spends a loop iteration and its counters per tap. Params: `run(out, x,
 * count, strideBytes, dxBase)` over `count` whole windows `strideBytes` apart.
 * - max: the maximum, + 0 once at the end: f32x4.max propagates NaN and orders -0 below +0, so
 *   this is windowLoops' running max(v, m) + 0, the JavaScript kernel's bits.
 * - argmaxGrad, for windows that do not overlap (stride = window): dx written in place at every
 *   tap, dy where the tap is the window's first maximum (the scan's winner: a later tap takes over
 *   only where strictly greater) and +0 elsewhere; dy + 0 as the scatter's 0 + dy gives.
 */
function wholeWindowModule(kind: 'max' | 'argmaxGrad', kh: number, kw: number, cBytes: number, rowBytes: number): Uint8Array<ArrayBuffer> {
  const [OUT, XP, COUNT, STRIDE, DX_BASE] = [0, 1, 2, 3, 4];
  const C = 5; // byte offset within the pixel's channels
  const taps = Array.from({ length: kh * kw }, (_, t) => Math.floor(t / kw) * rowBytes + (t % kw) * cBytes);
  const first = 6; // v128 locals from here
  const load = (base: number, offset: number): number[] => [...get(base), ...get(C), op.i32Add, ...simdMem(simdOp.v128Load, 2, offset)];
  const perVector: number[] = [];
  let v128Locals: number;
  if (kind === 'max') {
    const M = first;
    perVector.push(...load(XP, taps[0]), ...set(M));
    for (const offset of taps.slice(1)) perVector.push(...load(XP, offset), ...get(M), ...simd(simdOp.f32x4Max), ...set(M));
    perVector.push(...get(OUT), ...get(C), op.i32Add, ...get(M), ...V128_ZERO, ...simd(simdOp.f32x4Add), ...simdMem(simdOp.v128Store, 2));
    v128Locals = 1;
  } else {
    // BEST, DY, LATER, V (a tap's values), then one mask per tap after the first: where it took over
    const [BEST, DY, LATER, V] = [first, first + 1, first + 2, first + 3];
    const took = (t: number): number => first + 3 + t;
    perVector.push(...load(XP, taps[0]), ...set(BEST));
    taps.slice(1).forEach((offset, i) => {
      const t = i + 1;
      perVector.push(...load(XP, offset), ...tee(V), ...get(BEST), ...simd(simdOp.f32x4Gt), ...set(took(t)));
      perVector.push(...get(V), ...get(BEST), ...get(took(t)), ...simd(simdOp.v128Bitselect), ...set(BEST));
    });
    perVector.push(...load(OUT, 0), ...set(DY), ...V128_ZERO, ...set(LATER));
    // from the last tap back: a tap wins where it took over and no later one did (the first always took over)
    for (let t = taps.length - 1; t >= 0; t--) {
      const win = t === 0 ? [...get(LATER), ...simd(simdOp.v128Not)] : [...get(took(t)), ...get(LATER), ...simd(simdOp.v128AndNot)];
      perVector.push(...get(XP), ...get(DX_BASE), op.i32Add, ...get(C), op.i32Add);
      perVector.push(...get(DY), ...win, ...simd(simdOp.v128And), ...V128_ZERO, ...simd(simdOp.f32x4Add), ...simdMem(simdOp.v128Store, 2, taps[t]));
      if (t > 0) perVector.push(...get(LATER), ...get(took(t)), ...simd(simdOp.v128Or), ...set(LATER));
    }
    v128Locals = 3 + taps.length;
  }
  const body = overWindows({ out: OUT, x: XP, count: COUNT, stride: STRIDE, c: C }, i32(cBytes), perVector);
  return oneFunctionModule('run', 5, [[1, I32], [v128Locals, V128]], body, true);
}

type WholeKernel = OneFunction<(out: number, x: number, count: number, strideBytes: number, dxBase: number) => void>;
const wholeKernels = new Map<string, WholeKernel | null>();

/** The whole-window kernel of a pool shape, over the memory of `general` (the kind's windowLoops kernel, which stages the operands). */
function wholeKernel(kind: 'max' | 'argmaxGrad', kh: number, kw: number, g: WindowGeometry, general: Kernel): WholeKernel | null {
  const key = `${kind}:${kh}x${kw}:${g.c}:${g.w}`;
  let k = wholeKernels.get(key);
  if (k === undefined) {
    k = instantiateOne<WholeKernel['fn']>(() => wholeWindowModule(kind, kh, kw, g.c * 4, g.w * g.c * 4), 'run', general.memory);
    wholeKernels.set(key, k);
  }
  return k;
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

/** A pool's calls for one image of a batch (forEachRun's, found once); null where some window is empty. */
type Call = (dst: number, src: number, count: number, rows: number, cols: number) => void;
function imageRuns(g: WindowGeometry, kh: number, kw: number): { one: WindowGeometry; replay(call: Call): void } | null {
  const one = { ...g, n: 1 };
  const calls: number[] = [];
  if (!forEachRun(one, kh, kw, (dst, src, count, rows, cols) => calls.push(dst, src, count, rows, cols))) return null;
  return {
    one,
    replay(call) {
      for (let i = 0; i < calls.length; i += 5) call(calls[i], calls[i + 1], calls[i + 2], calls[i + 3], calls[i + 4]);
    },
  };
}

/**
 * maxPool of float32 `x` into `out` on WebAssembly SIMD; false where it does not apply. An image at
 * a time: staged, pooled and copied out while it is still in cache, where the whole batch at once
 * went through memory (a batch of 64 28x28x16 images is 3.2 MB). The calls are found once, for one
 * image, and serve every image.
 */
export function maxPoolSimd(x: Float32Array, g: WindowGeometry, kh: number, kw: number, out: Float32Array): boolean {
  if (!applies(g, kh, kw)) return false;
  const k = kernel('max');
  const runs = k && imageRuns(g, kh, kw);
  if (!k || !runs) return false;
  const [xImage, outImage] = [g.h * g.w * g.c, g.outH * g.outW * g.c];
  if (!ensureMemory(k.memory, (xImage + outImage) * 4)) return false;
  const f = new Float32Array(k.memory.buffer);
  const outBase = xImage * 4;
  const whole = wholeKernel('max', kh, kw, runs.one, k);
  const call: Call = (dst, src, count, rows, cols) => {
    if (whole && rows === kh && cols === kw) whole.fn(outBase + dst * 4, src * 4, count, g.sw * g.c * 4, 0);
    // a window cut to one cell keeps its value as is (-0 too), as the JavaScript kernel does
    else if (rows * cols === 1) f.copyWithin(xImage + dst, src, src + g.c);
    else k.fn(outBase + dst * 4, src * 4, count, g.c * 4, rows, cols, g.w * g.c * 4, g.sw * g.c * 4, 0);
  };
  for (let b = 0; b < g.n; b++) {
    f.set(x.subarray(b * xImage, (b + 1) * xImage));
    runs.replay(call);
    out.set(f.subarray(xImage, xImage + outImage), b * outImage);
  }
  return true;
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
 * with the JavaScript kernel's bits; false where it does not apply (nothing written then). An image
 * at a time, as maxPoolSimd.
 */
export function maxPoolGradSimd(x: Float32Array, dy: Float32Array, g: WindowGeometry, kh: number, kw: number, dx: Float32Array): boolean {
  if (!applies(g, kh, kw)) return false;
  const k = kernel('argmaxGrad');
  const runs = k && imageRuns(g, kh, kw);
  if (!k || !runs) return false;
  const [xImage, dyImage] = [g.h * g.w * g.c, g.outH * g.outW * g.c];
  if (!ensureMemory(k.memory, (2 * xImage + dyImage) * 4)) return false;
  const f = new Float32Array(k.memory.buffer);
  const [dyBase, dxBase] = [xImage, xImage + dyImage];
  // windows that do not overlap write dx in place; overlapping ones add into it, in the scan's order
  const whole = g.sh === kh && g.sw === kw ? wholeKernel('argmaxGrad', kh, kw, runs.one, k) : null;
  const call: Call = (dst, src, count, rows, cols) => {
    if (whole && rows === kh && cols === kw) whole.fn((dyBase + dst) * 4, src * 4, count, g.sw * g.c * 4, dxBase * 4);
    else k.fn((dyBase + dst) * 4, src * 4, count, g.c * 4, rows, cols, g.w * g.c * 4, g.sw * g.c * 4, dxBase * 4);
  };
  for (let b = 0; b < g.n; b++) {
    f.set(x.subarray(b * xImage, (b + 1) * xImage));
    f.set(dy.subarray(b * dyImage, (b + 1) * dyImage), dyBase);
    f.fill(0, dxBase, dxBase + xImage);
    runs.replay(call);
    dx.set(f.subarray(dxBase, dxBase + xImage), b * xImage);
  }
  return true;
}
