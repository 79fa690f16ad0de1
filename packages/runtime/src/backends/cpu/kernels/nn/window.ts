import { Attrs, NhwcWindow, ShapeError, TensorValue, nhwcWindow } from '@graphc/graph';
import type { KernelContext } from '../../kernel';

/** Geometry of a windowed kernel (conv, depthwise conv, pool) over an NHWC input at run time. */
export type WindowGeometry = NhwcWindow;

/** Resolves strides, dilations and padding for input `x` and a `[kh, kw]` window, as inference does. */
export function windowGeometry(x: TensorValue, kh: number, kw: number, attrs: Attrs, ctx: KernelContext): WindowGeometry {
  return nhwcWindow(x.shape, kh, kw, attrs, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
}

/**
 * windowGeometry of a forward convolution (conv2d, depthwiseConv2d) of `x` by a [kh, kw, cin, m]
 * filter, after checking that x has the cin channels the filter expects.
 */
export function convWindowGeometry(x: TensorValue, filterShape: number[], attrs: Attrs, ctx: KernelContext, op: string): WindowGeometry {
  const [kh, kw, cin] = filterShape;
  const g = windowGeometry(x, kh, kw, attrs, ctx);
  if (g.c !== cin) {
    throw new ShapeError(`op '${op}' (node '${ctx.node.name}'): input has ${g.c} channels but the filter expects ${cin}`);
  }
  return g;
}

/**
 * Visits every (output pixel, tap inside the image) pair of a window over NHWC `g`, output pixels in
 * row-major order: `out` is the output pixel's index (times its channel count, its offset), `input`
 * the offset of the tap's input pixel (g.c channels) and `tap` the tap's index in the kh x kw window.
 */
export function forEachWindowTap(g: WindowGeometry, visit: (out: number, input: number, tap: number) => void): void {
  let out = 0;
  for (let b = 0; b < g.n; b++) {
    const imageBase = b * g.h * g.w * g.c;
    for (let oy = 0; oy < g.outH; oy++) {
      const y0 = oy * g.sh - g.padTop;
      for (let ox = 0; ox < g.outW; ox++, out++) {
        const x0 = ox * g.sw - g.padLeft;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = y0 + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = x0 + kx * g.dw;
            if (ix < 0 || ix >= g.w) continue;
            visit(out, imageBase + (iy * g.w + ix) * g.c, ky * g.kw + kx);
          }
        }
      }
    }
  }
}

/**
 * Visits every output pixel of a pool window over NHWC `g` (stride, no dilation), in row-major
 * order, with its window clipped to the image: rows [yStart, yEnd) and columns [xStart, xEnd), an
 * empty range where the window lies wholly in the padding (padded cells never take part). `out` is
 * the output pixel's index and `imageBase` the offset of its image in the input.
 */
export function forEachPoolWindow(
  g: WindowGeometry,
  visit: (out: number, imageBase: number, yStart: number, yEnd: number, xStart: number, xEnd: number) => void,
): void {
  let out = 0;
  for (let b = 0; b < g.n; b++) {
    const imageBase = b * g.h * g.w * g.c;
    for (let oy = 0; oy < g.outH; oy++) {
      const y0 = oy * g.sh - g.padTop;
      const yStart = Math.max(y0, 0);
      const yEnd = Math.min(y0 + g.kh, g.h);
      for (let ox = 0; ox < g.outW; ox++, out++) {
        const x0 = ox * g.sw - g.padLeft;
        visit(out, imageBase, yStart, yEnd, Math.max(x0, 0), Math.min(x0 + g.kw, g.w));
      }
    }
  }
}
