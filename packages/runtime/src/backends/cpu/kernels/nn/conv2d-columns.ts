import { TypedArray } from '@graphc/graph';
import { GEMM_TILE_ROWS, ImplicitA } from '../../gemm';
import { kernelScratch } from '../../scratch';
import { WindowGeometry } from './window';

/**
 * The im2col matrix of a convolution, two ways: pixel-major as an ImplicitA the GEMM packs a block
 * at a time (im2colMatrix), and for a single-channel image, transposed, tap by tap
 * (tapMajorColumns).
 */

/** Output pixels per block of tap-major columns in the forward convolution (the GEMM's step along k). */
export const TAP_MAJOR_BLOCK = 256;

/** Whether `tapMajorColumns` serves this convolution: one input channel, rows undilated at stride 1. */
export function tapMajorApplies(x: TypedArray, g: WindowGeometry): x is Float32Array | Float64Array {
  return g.c === 1 && g.sw === 1 && g.dw === 1 && (x instanceof Float32Array || x instanceof Float64Array);
}

/**
 * The convolution kernels' column scratch in a product's precision (float32 columns halve the bytes
 * written and packed): conv2d, its gradients and convNchw.
 */
export const columnScratch = kernelScratch();

/**
 * The im2col matrix of a single-channel image, transposed, for output pixels [r0, r0 + count) in
 * [N, OH, OW] order: row t = (ky, kx) of `out` (row stride `count`) holds tap t's input for each of
 * those pixels, zeros where it falls in the padding. At stride 1 without dilation along rows, a
 * tap's inputs along an output row are one run of an image row, copied in one loop, where the
 * pixel-major im2col copies 3-value runs pixel by pixel (most of a grayscale first layer's time).
 */
export function tapMajorColumns(x: Float32Array | Float64Array, g: WindowGeometry, r0: number, count: number, out: Float32Array | Float64Array): void {
  const { h, w, kh, kw, sh, dh, padTop, padLeft, outH, outW } = g;
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const tapRow = (ky * kw + kx) * count;
      // the output columns whose input column ox - padLeft + kx lies inside the image
      const inFrom = Math.min(outW, Math.max(0, padLeft - kx));
      const inTo = Math.max(inFrom, Math.min(outW, w + padLeft - kx));
      for (let p = r0; p < r0 + count; ) {
        const outRow = Math.floor(p / outW);
        const ox = p - outRow * outW;
        const end = Math.min(r0 + count, (outRow + 1) * outW);
        const oxEnd = ox + end - p;
        const b = Math.floor(outRow / outH);
        const iy = (outRow - b * outH) * sh - padTop + ky * dh;
        let d = tapRow + p - r0;
        if (iy < 0 || iy >= h) {
          out.fill(0, d, d + end - p);
        } else {
          const from = Math.max(ox, inFrom);
          const to = Math.max(from, Math.min(oxEnd, inTo));
          for (let o = ox; o < from; o++) out[d++] = 0;
          let s = (b * h + iy) * w + from - padLeft + kx;
          for (let o = from; o < to; o++) out[d++] = x[s++];
          for (let o = to; o < oxEnd; o++) out[d++] = 0;
        }
        p = end;
      }
    }
  }
}

/** out[from, to) = 0; a loop for the few values of a window's edge (a fill call costs more there). */
function zeros(out: Float32Array | Float64Array, from: number, to: number): void {
  if (to - from > 16) out.fill(0, from, to);
  else for (let i = from; i < to; i++) out[i] = 0;
}

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
      // the whole window in one block and undilated rows: a row of A is kh window rows of kw * cin values (padding, a run, padding)
      const wholeRows = k0 === 0 && kc === kh * rowRun && dw === 1;
      // output pixel (b, oy, ox) of row i0, then stepped row by row (no divisions per row)
      let b = Math.floor(i0 / pixels);
      let oy = Math.floor((i0 - b * pixels) / outW);
      let ox = i0 - b * pixels - oy * outW;
      for (let r = 0; r < rows; r++, ox++) {
        if (ox === outW) {
          ox = 0;
          if (++oy === outH) {
            oy = 0;
            b++;
          }
        }
        const y0 = oy * sh - padTop;
        const x0 = ox * sw - padLeft;
        const imageBase = srcBase + b * h * w * cin;
        let dst = base + r * ld;
        if (wholeRows) {
          // window row ky is kx0 taps of padding, one run of input, then padding up to kw taps
          const kx0 = x0 < 0 ? Math.min(kw, -x0) : 0;
          const kx1 = Math.max(kx0, Math.min(kw, w - x0));
          const lead = kx0 * cin;
          const run = (kx1 - kx0) * cin;
          for (let ky = 0; ky < kh; ky++, dst += rowRun) {
            const iy = y0 + ky * dh;
            if (iy < 0 || iy >= h) {
              zeros(out, dst, dst + rowRun);
              continue;
            }
            const s = imageBase + (iy * w + x0 + kx0) * cin;
            zeros(out, dst, dst + lead);
            if (inPlace && run > 8) out.copyWithin(dst + lead, s, s + run);
            else for (let t = 0; t < run; t++) out[dst + lead + t] = src[s + t];
            zeros(out, dst + lead + run, dst + rowRun);
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
