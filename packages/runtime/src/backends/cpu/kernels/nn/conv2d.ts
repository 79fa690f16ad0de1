import { ShapeError, TypedArray, allocArray } from '@graphc/graph';
import { gemmPacked, packMatrixB, packedBSize } from '../../gemm';
import { registerCpuKernel } from '../../kernel';
import { windowGeometry } from './window';

/**
 * conv2d as GEMM: the NHWC filter [KH, KW, Cin, Cout] already is a row-major (KH*KW*Cin) x Cout
 * matrix, and the im2col row of output pixel (oy, ox) is the KH x KW window of the input, Cin
 * values per tap, laid out in the same order. The product of the two is the NHWC output itself.
 *
 * The im2col matrix is built a block of output rows at a time (about 512 KiB of it), so it stays in
 * L2 while the GEMM consumes it and memory does not grow with the image; the filter is packed once
 * per call and reused by every block. 1x1 stride-1 unpadded convolutions skip im2col: the input
 * viewed as [N*H*W, Cin] is the matrix.
 */

/** Target elements of one im2col block. */
const BLOCK_ELEMS = 1 << 17;

let packedFilter = new Float64Array(0);
const colBuffers = new Map<string, TypedArray>();

function colBuffer(dtype: 'float32' | 'float64', size: number): TypedArray {
  let buf = colBuffers.get(dtype);
  if (!buf || buf.length < size) colBuffers.set(dtype, (buf = allocArray(dtype, size)));
  return buf;
}

registerCpuKernel('conv2d', (inputs, attrs, ctx) => {
  const [x, filter] = inputs;
  const [kh, kw, cin, cout] = filter.shape;
  const g = windowGeometry(x, kh, kw, attrs, ctx);
  if (g.c !== cin) {
    throw new ShapeError(`op 'conv2d' (node '${ctx.node.name}'): input has ${g.c} channels but the filter expects ${cin}`);
  }
  const out = ctx.alloc(x.dtype, [g.n, g.outH, g.outW, cout]);
  const pixels = g.outH * g.outW;
  const k = kh * kw * cin;
  if (out.data.length === 0) return [out];
  if (k === 0) {
    out.data.fill(0);
    return [out];
  }
  const size = packedBSize(k, cout);
  if (packedFilter.length < size) packedFilter = new Float64Array(size);
  const pb = packMatrixB(k, cout, { data: filter.data, offset: 0, rowStride: cout, colStride: 1 }, packedFilter);

  const pointwise = kh === 1 && kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop + g.padBottom + g.padLeft + g.padRight === 0;
  if (pointwise) {
    gemmPacked(g.n * pixels, cout, k, { data: x.data, offset: 0, rowStride: cin, colStride: 1 }, pb, out.data);
    return [out];
  }

  const rowsPerBlock = Math.max(4, Math.min(pixels, Math.floor(BLOCK_ELEMS / k / 4) * 4));
  const col = colBuffer(x.dtype as 'float32' | 'float64', rowsPerBlock * k);
  for (let b = 0; b < g.n; b++) {
    for (let r0 = 0; r0 < pixels; r0 += rowsPerBlock) {
      const rows = Math.min(rowsPerBlock, pixels - r0);
      im2col(x.data, b, g, cin, r0, rows, col);
      gemmPacked(rows, cout, k, { data: col, offset: 0, rowStride: k, colStride: 1 }, pb, out.data, (b * pixels + r0) * cout);
    }
  }
  return [out];
});

/** Writes im2col rows [r0, r0 + rows) of image `b` into `col` (row length kh*kw*cin; zeros for padding). */
function im2col(
  x: TypedArray,
  b: number,
  g: { h: number; w: number; kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; padTop: number; padLeft: number; outW: number },
  cin: number,
  r0: number,
  rows: number,
  col: TypedArray,
): void {
  const { h, w, kh, kw, sh, sw, dh, dw, padTop, padLeft, outW } = g;
  const imageBase = b * h * w * cin;
  let dst = 0;
  for (let r = r0; r < r0 + rows; r++) {
    const oy = Math.floor(r / outW);
    const ox = r - oy * outW;
    const y0 = oy * sh - padTop;
    const x0 = ox * sw - padLeft;
    for (let ky = 0; ky < kh; ky++) {
      const iy = y0 + ky * dh;
      if (iy < 0 || iy >= h) {
        col.fill(0, dst, dst + kw * cin);
        dst += kw * cin;
        continue;
      }
      const rowBase = imageBase + iy * w * cin;
      for (let kx = 0; kx < kw; kx++) {
        const ix = x0 + kx * dw;
        if (ix < 0 || ix >= w) {
          col.fill(0, dst, dst + cin);
        } else {
          const src = rowBase + ix * cin;
          for (let c = 0; c < cin; c++) col[dst + c] = x[src + c];
        }
        dst += cin;
      }
    }
  }
}
