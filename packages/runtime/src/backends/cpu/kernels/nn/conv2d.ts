import { TypedArray } from '@graphc/graph';
import { GEMM_TILE_ROWS, ImplicitA, PackedB, gemmPacked, packMatrixB } from '../../gemm';
import { registerCpuKernel } from '../../kernel';
import { WindowGeometry, convWindowGeometry } from './window';

/**
 * conv2d as GEMM: the NHWC filter [KH, KW, Cin, Cout] already is a row-major (KH*KW*Cin) x Cout
 * matrix B, and row (n, oy, ox) of the im2col matrix A is the KH x KW input window of that output
 * pixel, Cin values per tap, in the same order. A·B is the NHWC output itself.
 *
 * A is never materialized: the GEMM asks for it a block at a time (MC rows x KC columns, in cache)
 * and `im2colMatrix` copies each window's runs of channels straight from the image, with zeros
 * where the window hangs over the padding. That is one pass over the data instead of an im2col
 * buffer plus a packing pass over it. The filter is packed once per call. 1x1 stride-1
 * unpadded convolutions need no windows at all: the input viewed as [N*H*W, Cin] is A.
 */

let packedFilter: PackedB | undefined;

registerCpuKernel('conv2d', (inputs, attrs, ctx) => {
  const [x, filter] = inputs;
  const [kh, kw, cin, cout] = filter.shape;
  const g = convWindowGeometry(x, filter.shape, attrs, ctx, 'conv2d');
  const out = ctx.alloc(x.dtype, [g.n, g.outH, g.outW, cout]);
  const k = kh * kw * cin;
  if (out.data.length === 0) return [out];
  if (k === 0) {
    out.data.fill(0);
    return [out];
  }
  packedFilter = packMatrixB(k, cout, { data: filter.data, offset: 0, rowStride: cout, colStride: 1 }, packedFilter?.data);
  const rows = g.n * g.outH * g.outW;
  const pointwise = kh === 1 && kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop + g.padBottom + g.padLeft + g.padRight === 0;
  const a = pointwise ? { data: x.data, offset: 0, rowStride: cin, colStride: 1 } : im2colMatrix(x.data, g);
  gemmPacked(rows, cout, k, a, packedFilter, out.data);
  return [out];
});

/**
 * The im2col matrix of `x` as an ImplicitA: row r is output pixel (b, oy, ox) = r in [N, OH, OW]
 * order; column kk is tap (ky, kx) and input channel ci, in the filter's [KH, KW, Cin] order. Each
 * row is written as runs of contiguous input values (a tap's channels, and without dilation the
 * taps beside it in the image), one memmove per run where the source sits in the same memory (the
 * float32 path), zeros where the tap falls in the padding.
 */
export function im2colMatrix(x: TypedArray, g: WindowGeometry): ImplicitA {
  const { h, w, c: cin, kh, kw, sh, sw, dh, dw, padTop, padLeft, outH, outW } = g;
  const pixels = outH * outW;
  const rowRun = kw * cin;
  return {
    source: x,
    pack(i0, rows, k0, kc, out, base, ld, src, srcBase) {
      const inPlace = src === out;
      // the whole window in one block and undilated rows: an interior pixel's row of A is kh runs of kw * cin values
      const wholeRows = k0 === 0 && kc === kh * rowRun && dw === 1;
      for (let r = 0; r < rows; r++) {
        const row = i0 + r;
        const b = Math.floor(row / pixels);
        const pix = row - b * pixels;
        const oy = Math.floor(pix / outW);
        const y0 = oy * sh - padTop;
        const x0 = (pix - oy * outW) * sw - padLeft;
        const imageBase = srcBase + b * h * w * cin;
        let dst = base + r * ld;
        if (wholeRows && y0 >= 0 && y0 + (kh - 1) * dh < h && x0 >= 0 && x0 + kw <= w) {
          for (let ky = 0, s = imageBase + (y0 * w + x0) * cin; ky < kh; ky++, s += dh * w * cin, dst += rowRun) {
            if (inPlace && rowRun > 8) out.copyWithin(dst, s, s + rowRun);
            else for (let t = 0; t < rowRun; t++) out[dst + t] = src[s + t];
          }
          continue;
        }
        let ci = k0 % cin;
        const tap = (k0 - ci) / cin;
        let ky = Math.floor(tap / kw);
        let kx = tap - ky * kw;
        for (let left = kc; left > 0; ) {
          const iy = y0 + ky * dh;
          const ix = x0 + kx * dw;
          let run: number;
          if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
            // undilated, this tap's row-mates up to the image's edge are the next input pixels, and
            // the next columns of A: one run through them (a 3x3 window over 1 channel copies 3 values at once, not 1)
            const taps = dw === 1 ? Math.min(kw - kx, w - ix) : 1;
            run = Math.min(taps * cin - ci, left);
            const s = imageBase + (iy * w + ix) * cin + ci;
            if (inPlace && run > 8) out.copyWithin(dst, s, s + run);
            else for (let t = 0; t < run; t++) out[dst + t] = src[s + t];
          } else {
            run = Math.min(cin - ci, left);
            out.fill(0, dst, dst + run);
          }
          dst += run;
          left -= run;
          // on to the tap and channel `run` values further (never past the end of the window's row)
          const advanced = ci + run;
          kx += Math.floor(advanced / cin);
          ci = advanced % cin;
          if (kx === kw) {
            kx = 0;
            ky++;
          }
        }
      }
      const padded = Math.ceil(rows / GEMM_TILE_ROWS) * GEMM_TILE_ROWS;
      for (let r = rows; r < padded; r++) out.fill(0, base + r * ld, base + r * ld + kc);
    },
  };
}
