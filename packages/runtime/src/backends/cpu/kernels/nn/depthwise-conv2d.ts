import type { TypedArray } from '@graphc/graph';
import { simdScratch } from '../../gemm';
import type { SimdKernel } from '../../wasm-simd';
import { registerCpuKernel } from '../../kernel';
import { WindowGeometry, convWindowGeometry } from './window';

/**
 * Depthwise conv2d, direct: each output pixel accumulates its window tap by tap, the C*M channel
 * vector innermost (contiguous in both the input row and the filter), in a float64 accumulator.
 * There is no reduction over channels to feed a GEMM, so im2col would only add copies.
 */
let acc = new Float64Array(0);

registerCpuKernel('depthwiseConv2d', (inputs, attrs, ctx) => {
  const [x, filter] = inputs;
  const [kh, kw, cin, mult] = filter.shape;
  const g = convWindowGeometry(x, filter.shape, attrs, ctx, 'depthwiseConv2d');
  const cout = cin * mult;
  const out = ctx.alloc(x.dtype, [g.n, g.outH, g.outW, cout]);
  if (out.data.length === 0) return [out];
  if (depthwiseSimd(x.data, filter.data, g, mult, out.data)) return [out];
  if (acc.length < cout) acc = new Float64Array(cout);
  // locals, not the module's `acc` or the geometry's fields: V8 then keeps them in registers in the loops
  const sum = acc;
  const xd = x.data;
  const fd = filter.data;
  const od = out.data;
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
  return [out];
});

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
 * given as a length), calls `call` for every tap run of `g` (forEachTapRun) with the parts' byte
 * addresses, then copies part `result` into `into`. False, with nothing written, where the SIMD
 * forms do not serve the convolution (float32, channel multiplier 1, channels in whole vectors) or
 * the memory cannot hold the parts.
 */
function overTapRuns(
  g: WindowGeometry,
  mult: number,
  parts: (TypedArray | number)[],
  result: number,
  into: TypedArray,
  call: (kernel: SimdKernel, at: number[], tap: number, outPixel: number, inPixel: number, count: number) => void,
): boolean {
  const float32 = into instanceof Float32Array && parts.every((p) => typeof p === 'number' || p instanceof Float32Array);
  if (!float32 || mult !== 1 || g.c % 4 !== 0) return false;
  const lengths = parts.map((p) => (typeof p === 'number' ? p : p.length));
  const simd = simdScratch(lengths.reduce((a, b) => a + b, 0));
  if (!simd) return false;
  const { kernel, memory } = simd;
  const at: number[] = [];
  let offset = 0;
  parts.forEach((p, i) => {
    if (typeof p === 'number') memory.fill(0, offset, offset + p);
    else memory.set(p, offset);
    at.push(offset * 4);
    offset += lengths[i];
  });
  forEachTapRun(g, (tap, outPixel, inPixel, count) => call(kernel, at, tap, outPixel, inPixel, count));
  into.set(memory.subarray(at[result] / 4, at[result] / 4 + into.length));
  return true;
}

/**
 * float32, channel multiplier 1, channels a multiple of 4: WebAssembly SIMD, four channels per
 * instruction, accumulating in float32 (as tfjs and onnxruntime). The image, filter and output lie
 * in the SIMD memory; for each output row and tap, one `depthwiseRow` call covers the run of output
 * pixels whose input pixel lies inside the image. False, with nothing written, when the memory
 * cannot hold them.
 */
function depthwiseSimd(x: TypedArray, filter: TypedArray, g: WindowGeometry, mult: number, out: TypedArray): boolean {
  const cb = g.c * 4;
  return overTapRuns(g, mult, [x, filter, out.length], 2, out, (kernel, [xAt, filterAt, outAt], tap, outPixel, inPixel, count) =>
    kernel.depthwiseRow(outAt + outPixel * cb, xAt + inPixel * cb, filterAt + tap * cb, count, cb, g.sw * cb, cb),
  );
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
