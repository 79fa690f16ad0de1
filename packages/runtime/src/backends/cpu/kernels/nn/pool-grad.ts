import { Attrs, ShapeError, TensorValue } from '@graphc/graph';
import { KernelContext, registerCpuKernel } from '../../kernel';
import { maxPoolArgmaxSimd, maxPoolGradSimd } from '../../wasm-pool';
import { WindowGeometry, forEachPoolWindow, windowGeometry } from './window';

/**
 * Pool adjoints, direct like the forward pools: per output pixel the window clipped to the input
 * (padded cells never take part), the channel vector innermost. maxPool's argmax is recomputed from
 * x, scanning rows then columns and keeping the first maximum, so maxPoolGrad and maxPoolGradGrad
 * always agree on the cell.
 */

function geometryOf(x: TensorValue, pooled: number[], attrs: Attrs, ctx: KernelContext): WindowGeometry {
  const [kh, kw] = attrs.ksize as number[];
  const g = windowGeometry(x, kh, kw, attrs, ctx);
  const expected = [g.n, g.outH, g.outW, g.c];
  if (!expected.every((d, i) => d === pooled[i])) {
    throw new ShapeError(`op '${ctx.node.op}' (node '${ctx.node.name}'): [${pooled.join(', ')}] is not the pooled shape [${expected.join(', ')}] of [${x.shape.join(', ')}]`);
  }
  return g;
}

let best = new Float64Array(0);
let bestAt = new Int32Array(0);

/**
 * For every (output pixel, channel) of a max pool over x, the flat index in x of its window's max:
 * written into `argmax` (laid out as the pooled output), -1 for an empty window.
 */
function argmaxOf(x: TensorValue, g: WindowGeometry, argmax: Int32Array, size: number): void {
  if (x.data instanceof Float32Array && maxPoolArgmaxSimd(x.data, g, g.kh, g.kw, argmax, size)) return;
  const c = g.c;
  if (best.length < c) {
    best = new Float64Array(c);
    bestAt = new Int32Array(c);
  }
  const xd = x.data;
  forEachPoolWindow(g, (pixel, imageBase, yStart, yEnd, xStart, xEnd) => {
    const o = pixel * c;
    if (yStart >= yEnd || xStart >= xEnd) {
      for (let ch = 0; ch < c; ch++) bestAt[ch] = -1;
    } else {
      // the window's first cell starts each channel's running max (no fills per window)
      const first = imageBase + (yStart * g.w + xStart) * c;
      for (let ch = 0; ch < c; ch++) {
        best[ch] = xd[first + ch];
        bestAt[ch] = first + ch;
      }
      for (let iy = yStart; iy < yEnd; iy++) {
        for (let ix = iy === yStart ? xStart + 1 : xStart; ix < xEnd; ix++) {
          const src = imageBase + (iy * g.w + ix) * c;
          for (let ch = 0; ch < c; ch++) {
            const v = xd[src + ch];
            if (v > best[ch]) {
              best[ch] = v;
              bestAt[ch] = src + ch;
            }
          }
        }
      }
    }
    for (let ch = 0; ch < c; ch++) argmax[o + ch] = bestAt[ch];
  });
}

let argmaxBuf = new Int32Array(0);
function argmaxBuffer(size: number): Int32Array {
  if (argmaxBuf.length < size) argmaxBuf = new Int32Array(size);
  return argmaxBuf;
}

registerCpuKernel('maxPoolGrad', ([dy, x], attrs, ctx) => {
  const g = geometryOf(x, dy.shape, attrs, ctx);
  const out = ctx.alloc(dy.dtype, x.shape);
  const dx = out.data;
  const dd = dy.data;
  if (x.data instanceof Float32Array && dd instanceof Float32Array && dx instanceof Float32Array && maxPoolGradSimd(x.data, dd, g, g.kh, g.kw, dx)) return [out];
  dx.fill(0);
  const argmax = argmaxBuffer(dd.length);
  argmaxOf(x, g, argmax, dd.length);
  for (let o = 0; o < dd.length; o++) {
    const i = argmax[o];
    if (i >= 0) dx[i] += dd[o];
  }
  return [out];
});

registerCpuKernel('maxPoolGradGrad', ([ddx, x], attrs, ctx) => {
  const [kh, kw] = attrs.ksize as number[];
  const g = windowGeometry(x, kh, kw, attrs, ctx);
  const out = ctx.alloc(ddx.dtype, [g.n, g.outH, g.outW, g.c]);
  const od = out.data;
  const src = ddx.data;
  const argmax = argmaxBuffer(od.length);
  argmaxOf(x, g, argmax, od.length);
  for (let o = 0; o < od.length; o++) {
    const i = argmax[o];
    od[o] = i >= 0 ? src[i] : 0;
  }
  return [out];
});

registerCpuKernel('avgPoolGrad', ([dy, x], attrs, ctx) => {
  const g = geometryOf(x, dy.shape, attrs, ctx);
  const c = g.c;
  const out = ctx.alloc(dy.dtype, x.shape);
  const dx = out.data;
  const dd = dy.data;
  dx.fill(0);
  forEachPoolWindow(g, (pixel, imageBase, yStart, yEnd, xStart, xEnd) => {
    const count = (yEnd - yStart) * (xEnd - xStart);
    if (count <= 0) return;
    const o = pixel * c;
    const share = 1 / count;
    for (let iy = yStart; iy < yEnd; iy++) {
      for (let ix = xStart; ix < xEnd; ix++) {
        const dst = imageBase + (iy * g.w + ix) * c;
        for (let ch = 0; ch < c; ch++) dx[dst + ch] += dd[o + ch] * share;
      }
    }
  });
  return [out];
});
