import { registerCpuKernel } from '../../kernel';
import { convWindowGeometry } from './window';

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
  if (acc.length < cout) acc = new Float64Array(cout);
  const xd = x.data;
  const fd = filter.data;
  const od = out.data;
  let dst = 0;
  for (let b = 0; b < g.n; b++) {
    const imageBase = b * g.h * g.w * cin;
    for (let oy = 0; oy < g.outH; oy++) {
      const y0 = oy * g.sh - g.padTop;
      for (let ox = 0; ox < g.outW; ox++) {
        const x0 = ox * g.sw - g.padLeft;
        acc.fill(0, 0, cout);
        for (let ky = 0; ky < kh; ky++) {
          const iy = y0 + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = x0 + kx * g.dw;
            if (ix < 0 || ix >= g.w) continue;
            const src = imageBase + (iy * g.w + ix) * cin;
            const tap = (ky * kw + kx) * cout;
            if (mult === 1) {
              for (let c = 0; c < cin; c++) acc[c] += xd[src + c] * fd[tap + c];
            } else {
              for (let c = 0; c < cin; c++) {
                const v = xd[src + c];
                const base = c * mult;
                for (let m = 0; m < mult; m++) acc[base + m] += v * fd[tap + base + m];
              }
            }
          }
        }
        for (let j = 0; j < cout; j++) od[dst + j] = acc[j];
        dst += cout;
      }
    }
  }
  return [out];
});
