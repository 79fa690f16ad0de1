import { Attrs, ShapeError, TensorValue, TypedArray } from '@graphc/graph';
import { GEMM_TILE_ROWS, MatrixView, PackedB, gemm, gemmPacked, packMatrixB, packedBSize } from '../../gemm';
import { columnScratch, im2colMatrix, tapMajorApplies, tapMajorColumns } from './conv2d-columns';
import { convByWindows } from './conv2d-windows';
import { depthwiseFilterGradientSimd, depthwiseInputGradientSimd } from './depthwise-conv2d';
import { KernelContext, registerCpuKernel } from '../../kernel';
import { WindowGeometry, forEachWindowTap, windowGeometry } from './window';

/**
 * The adjoints of conv2d as GEMMs over the same im2col layout as the forward kernel (a row per output
 * pixel holding its KH x KW x Cin window):
 *
 * - filter gradient: dW [K x Cout] = col^T [K x P] · dy [P x Cout], accumulated over blocks of output
 *   pixels across the batch: the forward kernel's im2col writes a block's rows, and the GEMM reads
 *   them transposed through strides (in place on the float32 path). A single-channel image (a
 *   grayscale first layer) at stride 1 gives col^T directly, tap by tap (tapMajorColumns).
 * - input gradient: dcol [P x K] = dy [P x Cout] · W^T [Cout x K] (W^T packed once per call), then
 *   col2im adds each row's window back into dx. A float32 stride-1 convolution instead runs the
 *   forward convolution's implicit-im2col GEMM on dy and the turned filter (inputGradientAsConv),
 *   which writes dx directly.
 *
 * 1x1 stride-1 unpadded convolutions are a plain product each way, with no im2col. Blocks of about
 * 128K elements keep the column buffer in L2, as the forward kernel does.
 */

const BLOCK_ELEMS = 1 << 17;

let packedWt = new Float64Array(0);

function geometry(x: TensorValue, filterShape: number[], dy: TensorValue, attrs: Attrs, ctx: KernelContext, depthwise: boolean): WindowGeometry {
  const [kh, kw, cin, m] = filterShape;
  const g = windowGeometry(x, kh, kw, attrs, ctx);
  const cout = depthwise ? cin * m : m;
  const expected = [g.n, g.outH, g.outW, cout];
  if (g.c !== cin || !expected.every((d, i) => d === dy.shape[i])) {
    throw new ShapeError(
      `op '${ctx.node.op}' (node '${ctx.node.name}'): dy [${dy.shape.join(', ')}] does not fit a convolution of [${x.shape.join(', ')}] by [${filterShape.join(', ')}] (expected [${expected.join(', ')}])`,
    );
  }
  return g;
}

const isPointwise = (g: WindowGeometry): boolean =>
  g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop + g.padBottom + g.padLeft + g.padRight === 0;

const rowsPerBlock = (pixels: number, k: number): number => Math.max(4, Math.min(pixels, Math.floor(BLOCK_ELEMS / Math.max(k, 1) / 4) * 4));

registerCpuKernel('conv2dBackpropFilter', ([x, dy, filterRef], attrs, ctx) => {
  const fshape = filterRef.shape;
  const g = geometry(x, fshape, dy, attrs, ctx, false);
  const [kh, kw, cin, cout] = fshape;
  const out = ctx.alloc(dy.dtype, fshape);
  const k = kh * kw * cin;
  const pixels = g.outH * g.outW;
  out.data.fill(0);
  if (out.data.length === 0 || dy.data.length === 0) return [out];
  if (isPointwise(g)) {
    gemm(cin, cout, g.n * pixels, { data: x.data, offset: 0, rowStride: 1, colStride: cin }, { data: dy.data, offset: 0, rowStride: cout, colStride: 1 }, out.data);
    return [out];
  }
  // blocks of output pixels across the batch, accumulated into dW
  const all = g.n * pixels;
  const rows = rowsPerBlock(all, k);
  const columnsOf = transposedColumns(x, g, k, rows);
  for (let r0 = 0; r0 < all; r0 += rows) {
    const count = Math.min(rows, all - r0);
    gemm(k, cout, count, columnsOf(r0, count), { data: dy.data, offset: r0 * cout, rowStride: cout, colStride: 1 }, out.data, 0, true);
  }
  return [out];
});

/**
 * For the filter gradient: a function writing the im2col columns of output pixels [r0, r0 + count)
 * and returning them as col^T [K x count] for the GEMM. A single-channel image at stride 1 gets
 * col^T itself, tap by tap (row-major); otherwise the forward kernel's pixel-major im2col writes
 * the block behind a copy of x in one buffer (so it moves runs of channels with copyWithin, a
 * memmove), read transposed.
 */
function transposedColumns(x: TensorValue, g: WindowGeometry, k: number, rows: number): (r0: number, count: number) => MatrixView {
  const data = x.data;
  if (tapMajorApplies(data, g)) {
    const columns = columnScratch(x.dtype, k * rows);
    return (r0, count) => {
      tapMajorColumns(data, g, r0, count, columns);
      return { data: columns, offset: 0, rowStride: count, colStride: 1 };
    };
  }
  const colAt = data.length;
  const buf = columnScratch(x.dtype, colAt + Math.ceil(rows / GEMM_TILE_ROWS) * GEMM_TILE_ROWS * k);
  buf.set(data);
  const windows = im2colMatrix(buf, g);
  return (r0, count) => {
    windows.pack(r0, count, 0, k, buf, colAt, k, buf, 0);
    return { data: buf, offset: colAt, rowStride: 1, colStride: k };
  };
}

registerCpuKernel('conv2dBackpropInput', ([dy, filter, xRef], attrs, ctx) => {
  const g = geometry(xRef, filter.shape, dy, attrs, ctx, false);
  const [kh, kw, cin, cout] = filter.shape;
  const out = ctx.alloc(dy.dtype, xRef.shape);
  const k = kh * kw * cin;
  const pixels = g.outH * g.outW;
  if (out.data.length === 0) return [out];
  if (isPointwise(g)) {
    gemm(g.n * pixels, cin, cout, { data: dy.data, offset: 0, rowStride: cout, colStride: 1 }, { data: filter.data, offset: 0, rowStride: 1, colStride: cout }, out.data);
    return [out];
  }
  if (dy.data.length > 0 && k > 0 && out.data instanceof Float32Array) {
    if (stridedFree(g)) {
      inputGradientAsConv(dy, filter, g, out.data);
      return [out];
    }
    if (inputGradientByPhases(dy, filter, g, out.data)) return [out];
  }
  out.data.fill(0);
  if (dy.data.length === 0 || k === 0) return [out];
  // W^T: Cout x K, element (o, j) = W[j * Cout + o]
  const size = packedBSize(cout, k);
  if (packedWt.length < size) packedWt = new Float64Array(size);
  const pb = packMatrixB(cout, k, { data: filter.data, offset: 0, rowStride: 1, colStride: cout }, packedWt);
  const rows = rowsPerBlock(pixels, k);
  const dcol = columnScratch(dy.dtype, rows * k);
  for (let b = 0; b < g.n; b++) {
    for (let r0 = 0; r0 < pixels; r0 += rows) {
      const count = Math.min(rows, pixels - r0);
      gemmPacked(count, k, cout, { data: dy.data, offset: (b * pixels + r0) * cout, rowStride: cout, colStride: 1 }, pb, dcol);
      col2im(dcol, b, g, r0, count, out.data);
    }
  }
  return [out];
});

/** Adds im2col rows [r0, r0 + rows) of image `b` back into the NHWC image (the transpose of im2col). */
function col2im(dcol: TypedArray, b: number, g: WindowGeometry, r0: number, rows: number, dx: TypedArray): void {
  const { h, w, c: cin, kh, kw, sh, sw, dh, dw, padTop, padLeft, outW } = g;
  const imageBase = b * h * w * cin;
  let src = 0;
  for (let r = r0; r < r0 + rows; r++) {
    const oy = Math.floor(r / outW);
    const ox = r - oy * outW;
    const y0 = oy * sh - padTop;
    const x0 = ox * sw - padLeft;
    for (let ky = 0; ky < kh; ky++) {
      const iy = y0 + ky * dh;
      if (iy < 0 || iy >= h) {
        src += kw * cin;
        continue;
      }
      const rowBase = imageBase + iy * w * cin;
      for (let kx = 0; kx < kw; kx++) {
        const ix = x0 + kx * dw;
        if (ix >= 0 && ix < w) {
          const dst = rowBase + ix * cin;
          for (let ch = 0; ch < cin; ch++) dx[dst + ch] += dcol[src + ch];
        }
        src += cin;
      }
    }
  }
}

/**
 * Depthwise adjoints, direct (no reduction over channels to hand a GEMM): the input gradient
 * scatters each output pixel's C*M vector back through its window, the filter gradient accumulates
 * x * dy per tap in float64.
 */
let acc = new Float64Array(0);

registerCpuKernel('depthwiseConv2dBackpropInput', ([dy, filter, xRef], attrs, ctx) => {
  const g = geometry(xRef, filter.shape, dy, attrs, ctx, true);
  const [, , cin, mult] = filter.shape;
  const cout = cin * mult;
  const out = ctx.alloc(dy.dtype, xRef.shape);
  if (depthwiseInputGradientSimd(dy.data, filter.data, g, mult, out.data)) return [out];
  out.data.fill(0);
  const dx = out.data;
  const fd = filter.data;
  const dd = dy.data;
  forEachWindowTap(g, (pixel, dst, k) => {
    const src = pixel * cout;
    const tap = k * cout;
    if (mult === 1) {
      for (let c = 0; c < cin; c++) dx[dst + c] += dd[src + c] * fd[tap + c];
      return;
    }
    for (let c = 0; c < cin; c++) {
      let s = 0;
      const base = c * mult;
      for (let m = 0; m < mult; m++) s += dd[src + base + m] * fd[tap + base + m];
      dx[dst + c] += s;
    }
  });
  return [out];
});

registerCpuKernel('depthwiseConv2dBackpropFilter', ([x, dy, filterRef], attrs, ctx) => {
  const fshape = filterRef.shape;
  const g = geometry(x, fshape, dy, attrs, ctx, true);
  const [kh, kw, cin, mult] = fshape;
  const cout = cin * mult;
  const size = kh * kw * cout;
  const out = ctx.alloc(dy.dtype, fshape);
  if (depthwiseFilterGradientSimd(x.data, dy.data, g, mult, out.data)) return [out];
  if (acc.length < size) acc = new Float64Array(size);
  acc.fill(0, 0, size);
  const xd = x.data;
  const dd = dy.data;
  forEachWindowTap(g, (pixel, xi, k) => {
    const src = pixel * cout;
    const tap = k * cout;
    if (mult === 1) {
      for (let c = 0; c < cin; c++) acc[tap + c] += xd[xi + c] * dd[src + c];
      return;
    }
    for (let c = 0; c < cin; c++) {
      const v = xd[xi + c];
      const base = c * mult;
      for (let m = 0; m < mult; m++) acc[tap + base + m] += v * dd[src + base + m];
    }
  });
  for (let i = 0; i < size; i++) out.data[i] = acc[i];
  return [out];
});

/** Stride 1, and padding no wider than the window's reach: the input gradient is then a convolution. */
function stridedFree(g: WindowGeometry): boolean {
  const reachH = (g.kh - 1) * g.dh;
  const reachW = (g.kw - 1) * g.dw;
  return g.sh === 1 && g.sw === 1 && g.padTop <= reachH && g.padBottom <= reachH && g.padLeft <= reachW && g.padRight <= reachW;
}

let flipped = new Float32Array(0);
let packedFlipped: PackedB | undefined;

/**
 * dx of a stride-1 convolution as the forward kernel computes it: a convolution of dy by the filter
 * turned half a turn with its channel axes swapped (W'[ky, kx, co, ci] = W[KH-1-ky, KW-1-kx, ci, co]),
 * padded by the window's reach less the forward padding, so each input pixel gathers every output
 * pixel its value reached. The GEMM writes dx directly: no column buffer, no scatter back.
 */
function inputGradientAsConv(dy: TensorValue, filter: TensorValue, g: WindowGeometry, dx: Float32Array): void {
  const [kh, kw, cin, cout] = filter.shape;
  const taps = kh * kw;
  if (flipped.length < taps * cin * cout) flipped = new Float32Array(taps * cin * cout);
  const w = filter.data;
  for (let t = 0; t < taps; t++) {
    const src = (taps - 1 - t) * cin * cout;
    const dst = t * cout * cin;
    for (let ci = 0; ci < cin; ci++) for (let co = 0; co < cout; co++) flipped[dst + co * cin + ci] = w[src + ci * cout + co];
  }
  const k = taps * cout;
  const reachH = (kh - 1) * g.dh;
  const reachW = (kw - 1) * g.dw;
  const gt: WindowGeometry = {
    n: g.n,
    h: g.outH,
    w: g.outW,
    c: cout,
    kh,
    kw,
    sh: 1,
    sw: 1,
    dh: g.dh,
    dw: g.dw,
    padTop: reachH - g.padTop,
    padBottom: reachH - g.padBottom,
    padLeft: reachW - g.padLeft,
    padRight: reachW - g.padRight,
    outH: g.h,
    outW: g.w,
  };
  convolveTurned(dy.data, flipped.subarray(0, k * cin), gt, cin, dx);
}

/** A forward convolution of `x` by a turned filter [KH, KW, C, cout] of geometry `gt`: read as windows, else the implicit-im2col GEMM. */
function convolveTurned(x: TypedArray, turned: Float32Array, gt: WindowGeometry, cout: number, out: Float32Array): void {
  if (convByWindows(x, turned, gt, cout, out)) return;
  packedFlipped = packMatrixB(gt.kh * gt.kw * gt.c, cout, { data: turned, offset: 0, rowStride: cout, colStride: 1 }, packedFlipped?.data);
  gemmPacked(gt.n * gt.outH * gt.outW, cout, gt.kh * gt.kw * gt.c, im2colMatrix(x, gt), packedFlipped, out);
}

/**
 * One axis of a strided convolution's input gradient split by phase: input coordinate
 * y = stride * Y + phase gathers the taps r, r + stride, ... (r = (phase + pad) mod stride), `taps` of
 * them, from dy at Y + shift - j for the j-th; as a stride-1 convolution of dy over `taps` turned
 * taps, that is padding `before` (and `after`, to give `count` outputs).
 */
interface AxisPhase {
  first: number;
  taps: number;
  count: number;
  before: number;
  after: number;
}

function axisPhase(phase: number, stride: number, pad: number, kernel: number, size: number, outSize: number): AxisPhase {
  const first = (phase + pad) % stride;
  const taps = first < kernel ? Math.ceil((kernel - first) / stride) : 0;
  const count = phase < size ? Math.ceil((size - phase) / stride) : 0;
  const before = taps - 1 - Math.floor((phase + pad) / stride);
  return { first, taps, count, before, after: count - outSize - before + taps - 1 };
}

let phaseOut = new Float32Array(0);
let croppedDy = new Float32Array(0);

/**
 * dy [n, h, w, c] less `top` and `bottom` rows and `left` and `right` columns (a phase whose taps
 * start past dy's edge reads it cropped: padding below zero).
 */
function cropped(dy: TypedArray, n: number, h: number, w: number, c: number, [top, bottom, left, right]: number[]): Float32Array {
  const [ch, cw] = [h - top - bottom, w - left - right];
  if (croppedDy.length < n * ch * cw * c) croppedDy = new Float32Array(n * ch * cw * c);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < ch; y++) {
      const from = ((b * h + y + top) * w + left) * c;
      croppedDy.set(dy.subarray(from, from + cw * c), (b * ch + y) * cw * c);
    }
  }
  return croppedDy.subarray(0, n * ch * cw * c);
}

/**
 * dx of an undilated strided convolution without col2im: each of the stride_h x stride_w phases of
 * dx (the input pixels at one offset modulo the strides) is a stride-1 convolution of dy (cropped
 * where the phase's first tap lands past its edge) by the taps that reach it, turned half a turn
 * with the channel axes swapped, then spread into dx at its offset. The multiply-adds are the
 * forward's, read as windows where the forward would. False for a 1x1 window, dilated rows, or
 * padding so wide that a phase's taps miss dy: the caller's col2im path then runs.
 */
export function inputGradientByPhases(dy: TensorValue, filter: TensorValue, g: WindowGeometry, dx: Float32Array): boolean {
  const [kh, kw, cin, cout] = filter.shape;
  // a 1x1 window has one phase of one tap: col2im's product and scatter measured faster there
  if (g.dh !== 1 || g.dw !== 1 || kh * kw === 1) return false;
  const rows = Array.from({ length: g.sh }, (_, p) => axisPhase(p, g.sh, g.padTop, kh, g.h, g.outH));
  const cols = Array.from({ length: g.sw }, (_, p) => axisPhase(p, g.sw, g.padLeft, kw, g.w, g.outW));
  // padding so wide that a phase's taps miss dy altogether: left to col2im
  const cropsAway = (a: AxisPhase, size: number) => a.taps > 0 && a.count > 0 && size - Math.max(0, -a.before) - Math.max(0, -a.after) < 1;
  if (rows.some((a) => cropsAway(a, g.outH)) || cols.some((a) => cropsAway(a, g.outW))) return false;
  dx.fill(0);
  const w = filter.data;
  rows.forEach((ry, py) => {
    cols.forEach((rx, px) => {
      if (!ry.taps || !rx.taps || !ry.count || !rx.count) return;
      // the phase's turned taps: T[jy, jx, co, ci] = W[ry.first + (taps - 1 - jy) * sh, ..., ci, co]
      const size = ry.taps * rx.taps * cout * cin;
      if (flipped.length < size) flipped = new Float32Array(size);
      for (let jy = 0; jy < ry.taps; jy++) {
        for (let jx = 0; jx < rx.taps; jx++) {
          const src = ((ry.first + (ry.taps - 1 - jy) * g.sh) * kw + rx.first + (rx.taps - 1 - jx) * g.sw) * cin * cout;
          const dst = (jy * rx.taps + jx) * cout * cin;
          for (let ci = 0; ci < cin; ci++) for (let co = 0; co < cout; co++) flipped[dst + co * cin + ci] = w[src + ci * cout + co];
        }
      }
      // padding below zero crops dy instead
      const crop = [ry.before, ry.after, rx.before, rx.after].map((p) => Math.max(0, -p));
      const source = crop.some((c) => c > 0) ? cropped(dy.data, g.n, g.outH, g.outW, cout, crop) : dy.data;
      const gt: WindowGeometry = {
        n: g.n,
        h: g.outH - crop[0] - crop[1],
        w: g.outW - crop[2] - crop[3],
        c: cout,
        kh: ry.taps,
        kw: rx.taps,
        sh: 1,
        sw: 1,
        dh: 1,
        dw: 1,
        padTop: Math.max(0, ry.before),
        padBottom: Math.max(0, ry.after),
        padLeft: Math.max(0, rx.before),
        padRight: Math.max(0, rx.after),
        outH: ry.count,
        outW: rx.count,
      };
      const pixels = g.n * ry.count * rx.count;
      if (phaseOut.length < pixels * cin) phaseOut = new Float32Array(pixels * cin);
      const out = phaseOut.subarray(0, pixels * cin);
      convolveTurned(source, flipped.subarray(0, size), gt, cin, out);
      // spread the phase into dx: its pixel (Y, X) is input pixel (sh * Y + py, sw * X + px)
      // (an element loop: a subarray per pixel cost more than the copy for a few dozen channels)
      let at = 0;
      for (let b = 0; b < g.n; b++) {
        for (let y = 0; y < ry.count; y++) {
          const row = (b * g.h + g.sh * y + py) * g.w;
          for (let x = 0; x < rx.count; x++) {
            const to = (row + g.sw * x + px) * cin;
            for (let c = 0; c < cin; c++) dx[to + c] = out[at++];
          }
        }
      }
    });
  });
  return true;
}
