import type { TypedArray } from '@graphc/graph';
import { simdScratch } from '../../gemm';
import { SimdKernel, simdKernel } from '../../wasm-simd';
import { BlockEpilogue, epilogueOnMemory } from '../../wasm-elementwise';
import { CpuEpilogueKernel, registerCpuEpilogueKernel } from '../../kernel';
import { WindowGeometry, convWindowGeometry } from './window';

/**
 * Depthwise conv2d, direct: each output pixel accumulates its window tap by tap, the C*M channel
 * vector innermost (contiguous in both the input row and the filter). There is no reduction over
 * channels to feed a GEMM, so im2col would only add copies. float32 with whole channel vectors runs
 * on WebAssembly SIMD (depthwiseSimd), applying a fused epilogue to each band of output rows it
 * stages where `epilogueFor` gives one (`applied`); the rest runs JavaScript loops.
 */
const depthwiseConv2d: CpuEpilogueKernel = (inputs, attrs, ctx, epilogueFor) => {
  const [x, filter] = inputs;
  const [kh, kw, cin, mult] = filter.shape;
  const g = convWindowGeometry(x, filter.shape, attrs, ctx, 'depthwiseConv2d');
  const cout = cin * mult;
  const out = ctx.alloc(x.dtype, [g.n, g.outH, g.outW, cout]);
  if (out.data.length === 0) return { outputs: [out], applied: false };
  const simd = depthwiseSimd(x.data, filter.data, g, mult, out.data, epilogueFor(out) ?? undefined);
  if (simd) return { outputs: [out], applied: simd === 'epilogue applied' };
  depthwiseLoops(x.data, filter.data, g, kh, kw, cin, mult, out.data);
  return { outputs: [out], applied: false };
};

registerCpuEpilogueKernel('depthwiseConv2d', depthwiseConv2d);

let acc = new Float64Array(0);

/** The JavaScript loops (float64, a channel multiplier, channels not in whole vectors), accumulating in float64. */
function depthwiseLoops(xd: TypedArray, fd: TypedArray, g: WindowGeometry, kh: number, kw: number, cin: number, mult: number, od: TypedArray): void {
  const cout = cin * mult;
  if (acc.length < cout) acc = new Float64Array(cout);
  // locals, not the module's `acc` or the geometry's fields: V8 then keeps them in registers in the loops
  const sum = acc;
  const { h, w, sh, sw, dh, dw, padTop, padLeft, outH, outW } = g;
  let dst = 0;
  for (let b = 0; b < g.n; b++) {
    const imageBase = b * h * w * cin;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sh - padTop;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sw - padLeft;
        sum.fill(0, 0, cout);
        for (let ky = 0; ky < kh; ky++) {
          const iy = y0 + ky * dh;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = x0 + kx * dw;
            if (ix < 0 || ix >= w) continue;
            const src = imageBase + (iy * w + ix) * cin;
            const tap = (ky * kw + kx) * cout;
            if (mult === 1) {
              for (let c = 0; c < cin; c++) sum[c] += xd[src + c] * fd[tap + c];
            } else {
              for (let c = 0; c < cin; c++) {
                const v = xd[src + c];
                const base = c * mult;
                for (let m = 0; m < mult; m++) sum[base + m] += v * fd[tap + base + m];
              }
            }
          }
        }
        for (let j = 0; j < cout; j++) od[dst + j] = sum[j];
        dst += cout;
      }
    }
  }
}

/**
 * Every (tap, output row) of a depthwise convolution whose tap lands inside the image, with the run
 * of output pixels whose input pixel lies inside it: `visit(tap, outPixel, inPixel, count)`, the
 * run's first output and input pixels as flat NHWC pixel indices (the input pixels sw apart). The
 * rest of each row reads padding: nothing to add there.
 */
function forEachTapRun(g: WindowGeometry, visit: (tap: number, outPixel: number, inPixel: number, count: number) => void): void {
  const { n, h, w, kh, kw, sh, sw, dh, dw, padTop, padLeft, outH, outW } = g;
  for (let kx = 0; kx < kw; kx++) {
    // output columns whose tap kx lands inside the image: ox * sw - padLeft + kx * dw in [0, w)
    const first = Math.max(0, Math.ceil((padLeft - kx * dw) / sw));
    const last = Math.min(outW - 1, Math.floor((w - 1 + padLeft - kx * dw) / sw));
    if (first > last) continue;
    const ix = first * sw - padLeft + kx * dw;
    for (let ky = 0; ky < kh; ky++) {
      for (let b = 0; b < n; b++) {
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * sh - padTop + ky * dh;
          if (iy >= 0 && iy < h) visit(ky * kw + kx, (b * outH + oy) * outW + first, (b * h + iy) * w + ix, last - first + 1);
        }
      }
    }
  }
}

/**
 * Stages `parts` one after the other in the SIMD kernels' memory (each copied in, or zeroed where
 * given as a length), calls `run` with the parts' byte addresses, then copies part `result` into
 * `into`. False, with nothing written, where the SIMD forms do not serve the convolution (float32,
 * channel multiplier 1, channels in whole vectors) or the memory cannot hold the parts.
 */
function withSimdParts(g: WindowGeometry, mult: number, parts: (TypedArray | number)[], result: number, into: TypedArray, run: (kernel: SimdKernel, at: number[]) => void): boolean {
  const float32 = into instanceof Float32Array && parts.every((p) => typeof p === 'number' || p instanceof Float32Array);
  if (!float32 || mult !== 1 || g.c % 4 !== 0) return false;
  const lengths = parts.map((p) => (typeof p === 'number' ? p : p.length));
  const simd = simdScratch(lengths.reduce((a, b) => a + b, 0));
  if (!simd) return false;
  const { kernel, memory } = simd;
  const at: number[] = [];
  let offset = 0;
  parts.forEach((p, i) => {
    if (typeof p === 'number') kernel.zero(offset * 4, p * 4);
    else memory.set(p, offset);
    at.push(offset * 4);
    offset += lengths[i];
  });
  run(kernel, at);
  into.set(memory.subarray(at[result] / 4, at[result] / 4 + into.length));
  return true;
}

/** withSimdParts, calling `call` for every tap run of `g` (forEachTapRun). */
function overTapRuns(
  g: WindowGeometry,
  mult: number,
  parts: (TypedArray | number)[],
  result: number,
  into: TypedArray,
  call: (kernel: SimdKernel, at: number[], tap: number, outPixel: number, inPixel: number, count: number) => void,
): boolean {
  return withSimdParts(g, mult, parts, result, into, (kernel, at) => forEachTapRun(g, (tap, outPixel, inPixel, count) => call(kernel, at, tap, outPixel, inPixel, count)));
}

/** A run of output positions along one axis whose windows keep the same taps: taps `first` to `first + taps - 1`. */
interface TapSpan {
  start: number;
  count: number;
  first: number;
  taps: number;
}

/**
 * The output positions along one axis (`outLen` of them over `inLen` inputs, window `k`, `stride`,
 * dilation `dil`, `pad` before) in runs with the same taps inside the input: one run in the
 * interior, one per position in the borders, where padding cuts the window.
 */
function tapSpans(outLen: number, inLen: number, k: number, stride: number, dil: number, pad: number): TapSpan[] {
  const spans: TapSpan[] = [];
  for (let o = 0; o < outLen; o++) {
    const first = Math.max(0, Math.ceil((pad - o * stride) / dil));
    const taps = Math.min(k - 1, Math.floor((inLen - 1 + pad - o * stride) / dil)) - first + 1;
    const last = spans[spans.length - 1];
    if (last && last.first === first && last.taps === taps) last.count++;
    else spans.push({ start: o, count: 1, first, taps });
  }
  return spans;
}

/** Output bytes one band of rows stages at a time: with its input rows, it stays in a core's L2. */
const BAND_BYTES = 256 * 1024;

/**
 * float32, channel multiplier 1, channels a multiple of 4: WebAssembly SIMD, accumulating in float32
 * (as tfjs and onnxruntime). A band of output rows at a time, the filter, the band's input rows and
 * its output lie in the SIMD memory, so the copies in and out run through the cache. For each output
 * row, one `depthwiseWindow` call per run of pixels whose windows keep the same taps sums every tap
 * in registers and stores each output vector once (the interior of a row is one run); 16, 8 or 4
 * channels at a time as the channel count allows. Pixels whose window lies wholly in the padding
 * are 0. False, with nothing written, when the SIMD forms do not serve (withSimdParts) or the memory
 * cannot hold a band.
 */
function depthwiseSimd(x: TypedArray, filter: TypedArray, g: WindowGeometry, mult: number, out: TypedArray, epilogue?: BlockEpilogue): false | 'ran' | 'epilogue applied' {
  if (!(x instanceof Float32Array && filter instanceof Float32Array && out instanceof Float32Array) || mult !== 1 || g.c % 4 !== 0) return false;
  const c = g.c;
  const cb = c * 4;
  const rows = tapSpans(g.outH, g.h, g.kh, g.sh, g.dh, g.padTop);
  const cols = tapSpans(g.outW, g.w, g.kw, g.sw, g.dw, g.padLeft);
  // windows wholly in the padding write nothing: their pixels are zeroed instead
  const emptyWindows = cols.some((span) => span.taps <= 0) || rows.some((span) => span.taps <= 0);
  const bandRows = Math.max(1, Math.min(g.outH, Math.floor(BAND_BYTES / (g.outW * cb))));
  // input rows a band of output rows reads at most: its rows' first taps and the window below them
  const inRows = Math.min(g.h, (bandRows - 1) * g.sh + (g.kh - 1) * g.dh + 1);
  const rowFloats = g.w * c;
  const outRowFloats = g.outW * c;
  const bandFloats = filter.length + inRows * rowFloats + bandRows * outRowFloats;
  const kernel = simdKernel();
  // the epilogue's extras (a bias row, a residual band) after the band
  const onBands = kernel && epilogue ? epilogueOnMemory(epilogue, kernel.memory) : undefined;
  const simd = simdScratch(bandFloats + (onBands ? onBands.floats(bandRows * g.outW, c) : 0));
  if (!simd || simd.kernel !== kernel) return false;
  const { memory } = simd;
  const onBand = onBands?.bind(memory, bandFloats, bandRows * g.outW, c, c);
  const window = c % 16 === 0 ? kernel.depthwiseWindow4 : c % 8 === 0 ? kernel.depthwiseWindow2 : kernel.depthwiseWindow1;
  memory.set(filter, 0);
  const xAt = filter.length;
  const outAt = xAt + inRows * rowFloats;
  // each output row's tap span (rows alike share one)
  const rowSpan = new Array<TapSpan>(g.outH);
  for (const span of rows) for (let oy = span.start; oy < span.start + span.count; oy++) rowSpan[oy] = span;
  for (let b = 0; b < g.n; b++) {
    for (let oy0 = 0; oy0 < g.outH; oy0 += bandRows) {
      const oy1 = Math.min(g.outH, oy0 + bandRows);
      const band = (oy1 - oy0) * outRowFloats;
      const firstIn = Math.max(0, oy0 * g.sh - g.padTop);
      const lastIn = Math.min(g.h - 1, (oy1 - 1) * g.sh - g.padTop + (g.kh - 1) * g.dh);
      if (lastIn >= firstIn) memory.set(x.subarray((b * g.h + firstIn) * rowFloats, (b * g.h + lastIn + 1) * rowFloats), xAt);
      if (emptyWindows) kernel.zero(outAt * 4, band * 4);
      for (let oy = oy0; oy < oy1; oy++) {
        const r = rowSpan[oy];
        if (r.taps <= 0) continue;
        const iy = oy * g.sh - g.padTop + r.first * g.dh - firstIn;
        for (const span of cols) {
          if (span.taps <= 0) continue;
          const ix = span.start * g.sw - g.padLeft + span.first * g.dw;
          window(
            (outAt + (oy - oy0) * outRowFloats + span.start * c) * 4,
            (xAt + iy * rowFloats + ix * c) * 4,
            (r.first * g.kw + span.first) * cb,
            span.count, cb, g.sw * cb, r.taps, span.taps, g.dh * g.w * cb, g.dw * cb, g.kw * cb,
          );
        }
      }
      onBand?.(outAt, (b * g.outH + oy0) * g.outW, (oy1 - oy0) * g.outW);
      out.set(memory.subarray(outAt, outAt + band), (b * g.outH + oy0) * outRowFloats);
    }
  }
  return onBands ? 'epilogue applied' : 'ran';
}

/**
 * The input gradient on the same kernel, scattered back: for each tap and output row, dx at the
 * run's input pixels (sw apart) += dy at its output pixels * the tap. False as depthwiseSimd.
 */
export function depthwiseInputGradientSimd(dy: TypedArray, filter: TypedArray, g: WindowGeometry, mult: number, dx: TypedArray): boolean {
  const cb = g.c * 4;
  return overTapRuns(g, mult, [dx.length, filter, dy], 0, dx, (kernel, [dxAt, filterAt, dyAt], tap, outPixel, inPixel, count) =>
    kernel.depthwiseRow(dxAt + inPixel * cb, dyAt + outPixel * cb, filterAt + tap * cb, count, cb, cb, g.sw * cb),
  );
}

/**
 * The filter gradient on SIMD: for each tap and output row, the tap's channels += the sum over the
 * run of x at its input pixels * dy at its output pixels (`depthwiseFilterRow`, summing in float32
 * in a register). False as depthwiseSimd.
 */
export function depthwiseFilterGradientSimd(x: TypedArray, dy: TypedArray, g: WindowGeometry, mult: number, df: TypedArray): boolean {
  const cb = g.c * 4;
  return overTapRuns(g, mult, [df.length, x, dy], 0, df, (kernel, [dfAt, xAt, dyAt], tap, outPixel, inPixel, count) =>
    kernel.depthwiseFilterRow(dfAt + tap * cb, xAt + inPixel * cb, dyAt + outPixel * cb, count, cb, g.sw * cb),
  );
}
