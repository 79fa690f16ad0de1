import type { TypedArray } from '@graphc/graph';
import { simdScratch } from '../../gemm';
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
  if (x.data instanceof Float32Array && out.data instanceof Float32Array && mult === 1 && cin % 4 === 0 && depthwiseSimd(x.data, filter.data, g, out.data)) return [out];
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
 * float32, channel multiplier 1, channels a multiple of 4: WebAssembly SIMD, four channels per
 * instruction, accumulating in float32 (as tfjs and onnxruntime). The image, filter and output lie
 * in the SIMD memory; for each output row and tap, one `depthwiseRow` call covers the run of output
 * pixels whose input pixel lies inside the image (the rest of the row reads padding: nothing to add).
 * False, with nothing written, when the memory cannot hold them.
 */
function depthwiseSimd(x: Float32Array, filter: TypedArray, g: WindowGeometry, out: Float32Array): boolean {
  const { n, h, w, c, kh, kw, sh, sw, dh, dw, padTop, padLeft, outH, outW } = g;
  const filterAt = x.length;
  const outAt = filterAt + filter.length;
  const simd = simdScratch(outAt + out.length);
  if (!simd) return false;
  const { kernel, memory } = simd;
  memory.set(x, 0);
  memory.set(filter, filterAt);
  memory.fill(0, outAt, outAt + out.length);
  const bytes = 4;
  for (let kx = 0; kx < kw; kx++) {
    // output columns whose tap kx lands inside the image: ox * sw - padLeft + kx * dw in [0, w)
    const first = Math.max(0, Math.ceil((padLeft - kx * dw) / sw));
    const last = Math.min(outW - 1, Math.floor((w - 1 + padLeft - kx * dw) / sw));
    if (first > last) continue;
    const ix = first * sw - padLeft + kx * dw;
    for (let ky = 0; ky < kh; ky++) {
      const tap = (filterAt + (ky * kw + kx) * c) * bytes;
      for (let b = 0; b < n; b++) {
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * sh - padTop + ky * dh;
          if (iy < 0 || iy >= h) continue;
          const o = (outAt + ((b * outH + oy) * outW + first) * c) * bytes;
          const src = (((b * h + iy) * w + ix) * c) * bytes;
          kernel.depthwiseRow(o, src, tap, last - first + 1, c * bytes, sw * c * bytes);
        }
      }
    }
  }
  out.set(memory.subarray(outAt, outAt + out.length));
  return true;
}
