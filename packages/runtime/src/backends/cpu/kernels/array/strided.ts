import type { TypedArray } from '@graphc/graph';

/**
 * Strided copies: the shared core of transpose and slice. A view is (offset, shape, strides) into a
 * source buffer; copying it writes the view's elements row-major into a contiguous destination.
 */

/** Drops size-1 dimensions and merges neighbours that are contiguous in the source. */
export function collapseView(shape: readonly number[], strides: readonly number[]): { shape: number[]; strides: number[] } {
  const outShape: number[] = [];
  const outStrides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && outStrides[last] === strides[i] * shape[i]) {
      outShape[last] *= shape[i];
      outStrides[last] = strides[i];
    } else {
      outShape.push(shape[i]);
      outStrides.push(strides[i]);
    }
  }
  return { shape: outShape, strides: outStrides };
}

const TILE = 32;

/** dst[d0 + i*cols + j] = src[s0 + i*rs + j*cs] for an rows x cols block, tiled when columns are strided. */
function copy2d(src: TypedArray, s0: number, rows: number, cols: number, rs: number, cs: number, dst: TypedArray, d0: number): void {
  if (cs === 1) {
    if (cols >= 64) {
      for (let i = 0; i < rows; i++) dst.set(src.subarray(s0 + i * rs, s0 + i * rs + cols), d0 + i * cols);
    } else {
      for (let i = 0; i < rows; i++) {
        const s = s0 + i * rs;
        const d = d0 + i * cols;
        for (let j = 0; j < cols; j++) dst[d + j] = src[s + j];
      }
    }
    return;
  }
  // strided columns (a transpose): tiles keep both the reads and the writes inside a few cache lines
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(rows, i0 + TILE);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(cols, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const s = s0 + i * rs;
        const d = d0 + i * cols;
        for (let j = j0; j < j1; j++) dst[d + j] = src[s + j * cs];
      }
    }
  }
}

/** Copies the view (offset, shape, strides) of `src` row-major into `dst` from `dstOffset`. */
export function copyStrided(
  src: TypedArray,
  offset: number,
  shape: readonly number[],
  strides: readonly number[],
  dst: TypedArray,
  dstOffset = 0,
): void {
  if (shape.some((d) => d === 0)) return;
  const v = collapseView(shape, strides);
  const rank = v.shape.length;
  if (rank === 0) {
    dst[dstOffset] = src[offset];
    return;
  }
  if (rank === 1) {
    copy2d(src, offset, 1, v.shape[0], 0, v.strides[0], dst, dstOffset);
    return;
  }
  const rows = v.shape[rank - 2];
  const cols = v.shape[rank - 1];
  const rs = v.strides[rank - 2];
  const cs = v.strides[rank - 1];
  const block = rows * cols;
  const outer = v.shape.slice(0, rank - 2);
  const outerStrides = v.strides.slice(0, rank - 2);
  const idx = new Array<number>(outer.length).fill(0);
  let total = 1;
  for (const d of outer) total *= d;
  let s = offset;
  for (let b = 0, d = dstOffset; b < total; b++, d += block) {
    copy2d(src, s, rows, cols, rs, cs, dst, d);
    for (let k = outer.length - 1; k >= 0; k--) {
      s += outerStrides[k];
      if (++idx[k] < outer[k]) break;
      idx[k] = 0;
      s -= outerStrides[k] * outer[k];
    }
  }
}

/** Copies `rows` runs of `cols` elements between row-strided layouts (the step of concat and split). */
export function copyRows(
  src: TypedArray,
  srcOffset: number,
  srcStride: number,
  dst: TypedArray,
  dstOffset: number,
  dstStride: number,
  rows: number,
  cols: number,
): void {
  if (cols === 0) return;
  if (cols >= 64) {
    for (let i = 0; i < rows; i++) {
      const s = srcOffset + i * srcStride;
      dst.set(src.subarray(s, s + cols), dstOffset + i * dstStride);
    }
    return;
  }
  for (let i = 0; i < rows; i++) {
    const s = srcOffset + i * srcStride;
    const d = dstOffset + i * dstStride;
    for (let j = 0; j < cols; j++) dst[d + j] = src[s + j];
  }
}
