import type { TypedArray } from '@graphc/graph';

/**
 * C[m x n] (+)= op(A)[m x k] · op(B)[k x n] for row-major C, the workhorse of matmul and conv2d.
 *
 * Operands are read through (row stride, column stride) pairs, so transposed or im2col'd inputs
 * cost nothing extra: they are packed once per k-block into contiguous panels (4 rows of A, 4
 * columns of B, k-major) and a 4x4 register-tiled micro-kernel accumulates 16 outputs in locals.
 * Packing keeps the inner loop on sequential memory; k-blocking keeps a B panel in L2.
 */
export interface MatrixView {
  data: TypedArray;
  offset: number;
  rowStride: number;
  colStride: number;
}

const KC = 256;
const MR = 4;
const NR = 4;

let packABuf = new Float64Array(0);
let packBBuf = new Float64Array(0);

function packPanelsB(b: MatrixView, k0: number, kc: number, n: number, out: Float64Array): void {
  const panels = Math.ceil(n / NR);
  let p = 0;
  for (let jp = 0; jp < panels; jp++) {
    const j0 = jp * NR;
    const w = Math.min(NR, n - j0);
    for (let kk = 0; kk < kc; kk++) {
      const rowBase = b.offset + (k0 + kk) * b.rowStride + j0 * b.colStride;
      for (let j = 0; j < w; j++) out[p + j] = b.data[rowBase + j * b.colStride];
      for (let j = w; j < NR; j++) out[p + j] = 0;
      p += NR;
    }
  }
}

function packPanelA(a: MatrixView, i0: number, h: number, k0: number, kc: number, out: Float64Array): void {
  let p = 0;
  for (let kk = 0; kk < kc; kk++) {
    const colBase = a.offset + (k0 + kk) * a.colStride + i0 * a.rowStride;
    for (let i = 0; i < h; i++) out[p + i] = a.data[colBase + i * a.rowStride];
    for (let i = h; i < MR; i++) out[p + i] = 0;
    p += MR;
  }
}

export function gemm(
  m: number,
  n: number,
  k: number,
  a: MatrixView,
  b: MatrixView,
  c: TypedArray,
  cOffset = 0,
  accumulate = false,
): void {
  if (!accumulate) c.fill(0, cOffset, cOffset + m * n);
  if (m === 0 || n === 0 || k === 0) return;
  const panelsB = Math.ceil(n / NR);
  const kcMax = Math.min(KC, k);
  if (packBBuf.length < panelsB * NR * kcMax) packBBuf = new Float64Array(panelsB * NR * kcMax);
  if (packABuf.length < MR * kcMax) packABuf = new Float64Array(MR * kcMax);
  const pa = packABuf;
  const pb = packBBuf;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = Math.min(KC, k - k0);
    packPanelsB(b, k0, kc, n, pb);
    for (let i0 = 0; i0 < m; i0 += MR) {
      const h = Math.min(MR, m - i0);
      packPanelA(a, i0, h, k0, kc, pa);
      for (let jp = 0; jp < panelsB; jp++) {
        const j0 = jp * NR;
        const w = Math.min(NR, n - j0);
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        let ia = 0;
        let ib = jp * NR * kc;
        for (let kk = 0; kk < kc; kk++, ia += MR, ib += NR) {
          const a0 = pa[ia], a1 = pa[ia + 1], a2 = pa[ia + 2], a3 = pa[ia + 3];
          const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
          c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
          c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
          c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
          c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }
        const r0 = cOffset + i0 * n + j0;
        if (h === MR && w === NR) {
          const r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
          c[r0] += c00; c[r0 + 1] += c01; c[r0 + 2] += c02; c[r0 + 3] += c03;
          c[r1] += c10; c[r1 + 1] += c11; c[r1 + 2] += c12; c[r1 + 3] += c13;
          c[r2] += c20; c[r2 + 1] += c21; c[r2 + 2] += c22; c[r2 + 3] += c23;
          c[r3] += c30; c[r3 + 1] += c31; c[r3 + 2] += c32; c[r3 + 3] += c33;
        } else {
          const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
          for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) c[r0 + i * n + j] += tile[i * NR + j];
        }
      }
    }
  }
}
