import type { Attrs, TensorValue } from '@graphc/graph';
import { KernelContext, registerCpuKernel } from '../../kernel';
import { windowGeometry } from './window';

/**
 * maxPool / avgPool, direct: per output pixel, the window clipped to the input (so padded cells
 * never take part: they are -infinity for max and not counted for the mean, as TensorFlow), with the
 * channel vector innermost.
 */
let acc = new Float64Array(0);

function pool(kind: 'max' | 'avg') {
  return (inputs: TensorValue[], attrs: Attrs, ctx: KernelContext): TensorValue[] => {
    const [x] = inputs;
    const [kh, kw] = attrs.ksize as number[];
    const g = windowGeometry(x, kh, kw, attrs, ctx);
    const c = g.c;
    const out = ctx.alloc(x.dtype, [g.n, g.outH, g.outW, c]);
    if (out.data.length === 0) return [out];
    if (acc.length < c) acc = new Float64Array(c);
    const lowest = x.dtype === 'int32' ? -2147483648 : -Infinity;
    const xd = x.data;
    const od = out.data;
    let dst = 0;
    for (let b = 0; b < g.n; b++) {
      const imageBase = b * g.h * g.w * c;
      for (let oy = 0; oy < g.outH; oy++) {
        const y0 = oy * g.sh - g.padTop;
        const yStart = Math.max(y0, 0);
        const yEnd = Math.min(y0 + kh, g.h);
        for (let ox = 0; ox < g.outW; ox++) {
          const x0 = ox * g.sw - g.padLeft;
          const xStart = Math.max(x0, 0);
          const xEnd = Math.min(x0 + kw, g.w);
          if (kind === 'max') {
            if (yStart >= yEnd || xStart >= xEnd) {
              for (let ch = 0; ch < c; ch++) od[dst + ch] = lowest;
            } else {
              // the window's first cell starts the running max in the output itself (no scratch, no fill)
              const first = imageBase + (yStart * g.w + xStart) * c;
              for (let ch = 0; ch < c; ch++) od[dst + ch] = xd[first + ch];
              for (let iy = yStart; iy < yEnd; iy++) {
                for (let ix = iy === yStart ? xStart + 1 : xStart; ix < xEnd; ix++) {
                  const src = imageBase + (iy * g.w + ix) * c;
                  for (let ch = 0; ch < c; ch++) {
                    const v = xd[src + ch];
                    // NaN wins, as in TensorFlow's max (a NaN already there stays: nothing is > NaN)
                    if (v > od[dst + ch] || v !== v) od[dst + ch] = v;
                  }
                }
              }
            }
          } else {
            acc.fill(0, 0, c);
            for (let iy = yStart; iy < yEnd; iy++) {
              for (let ix = xStart; ix < xEnd; ix++) {
                const src = imageBase + (iy * g.w + ix) * c;
                for (let ch = 0; ch < c; ch++) acc[ch] += xd[src + ch];
              }
            }
            const count = Math.max(yEnd - yStart, 0) * Math.max(xEnd - xStart, 0);
            const inv = count > 0 ? 1 / count : 0;
            for (let ch = 0; ch < c; ch++) od[dst + ch] = acc[ch] * inv;
          }
          dst += c;
        }
      }
    }
    return [out];
  };
}

registerCpuKernel('maxPool', pool('max'));
registerCpuKernel('avgPool', pool('avg'));
