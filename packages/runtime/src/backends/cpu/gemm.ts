import type { TypedArray } from '@graphc/graph';

/**
 * C[m x n] (+)= op(A)[m x k] · op(B)[k x n] for row-major C, the workhorse of matmul and conv2d.
 *
 * Operands are read through (row stride, column stride) pairs, so transposed or im2col'd inputs
 * cost nothing extra. The loops follow Goto's blocking (as BLIS): B is packed into k-major panels of
 * NR columns, A into blocks of MC rows cut into panels of MR rows, and a 4x4 register-tiled
 * micro-kernel accumulates 16 outputs in locals over one k-block. A B micro-panel (KC x NR) stays
 * in L1 while the A block (MC x KC) streams from L2. Packing widens to float64 once per block so
 * the inner loop reads sequential doubles with no conversions.
 *
 * V8 compiles the micro-kernel to scalar SSE arithmetic; measured on a kernel-only loop a 4x4 tile
 * runs at the same rate as 2x4, 3x4 and 4x8 tiles (4x8 spills), so 4x4 stays.
 */
export interface MatrixView {
  data: TypedArray;
  offset: number;
  rowStride: number;
  colStride: number;
}

const KC = 256;
const MC = 64;
const MR = 4;
const NR = 4;

/**
 * B packed once for many products (conv2d reuses its filter across every block of output pixels):
 * k-blocks of KC rows, each holding ceil(n / NR) panels of KC x NR values, zero-padded at the edge.
 */
export interface PackedB {
  k: number;
  n: number;
  data: Float64Array;
}

let packABuf = new Float64Array(0);
let packBBuf = new Float64Array(0);

function packB(b: MatrixView, k: number, n: number, out: Float64Array): void {
  const panels = Math.ceil(n / NR);
  const bd = b.data;
  const rs = b.rowStride;
  const cs = b.colStride;
  let p = 0;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = Math.min(KC, k - k0);
    for (let jp = 0; jp < panels; jp++) {
      const j0 = jp * NR;
      const w = Math.min(NR, n - j0);
      let src = b.offset + k0 * rs + j0 * cs;
      if (w === NR) {
        for (let kk = 0; kk < kc; kk++, src += rs, p += NR) {
          out[p] = bd[src];
          out[p + 1] = bd[src + cs];
          out[p + 2] = bd[src + 2 * cs];
          out[p + 3] = bd[src + 3 * cs];
        }
      } else {
        for (let kk = 0; kk < kc; kk++, src += rs, p += NR) {
          for (let j = 0; j < NR; j++) out[p + j] = j < w ? bd[src + j * cs] : 0;
        }
      }
    }
  }
}

/** Elements `packMatrixB` needs for a k x n matrix. */
export function packedBSize(k: number, n: number): number {
  return Math.ceil(n / NR) * NR * k;
}

/**
 * Packs `b` (k x n) for `gemmPacked`; the result may be reused for any number of products. Packs
 * into `into` when it is large enough (kernels keep one scratch buffer rather than allocate per run).
 */
export function packMatrixB(k: number, n: number, b: MatrixView, into?: Float64Array): PackedB {
  const size = packedBSize(k, n);
  const data = into && into.length >= size ? into : new Float64Array(size);
  packB(b, k, n, data);
  return { k, n, data };
}

/** Packs rows [i0, i0 + mc) x columns [k0, k0 + kc) of A into MR-row panels, k-major, zero-padded. */
function packA(a: MatrixView, i0: number, mc: number, k0: number, kc: number, out: Float64Array): void {
  const ad = a.data;
  const rs = a.rowStride;
  const cs = a.colStride;
  let p = 0;
  for (let ip = 0; ip < mc; ip += MR) {
    const h = Math.min(MR, mc - ip);
    let src = a.offset + (i0 + ip) * rs + k0 * cs;
    if (h === MR) {
      for (let kk = 0; kk < kc; kk++, src += cs, p += MR) {
        out[p] = ad[src];
        out[p + 1] = ad[src + rs];
        out[p + 2] = ad[src + 2 * rs];
        out[p + 3] = ad[src + 3 * rs];
      }
    } else {
      for (let kk = 0; kk < kc; kk++, src += cs, p += MR) {
        for (let i = 0; i < MR; i++) out[p + i] = i < h ? ad[src + i * rs] : 0;
      }
    }
  }
}

/** C = A·B (or C += A·B when `accumulate`), packing B on the fly. */
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
  if (m === 0 || n === 0 || k === 0) {
    if (!accumulate) c.fill(0, cOffset, cOffset + m * n);
    return;
  }
  const size = packedBSize(k, n);
  if (packBBuf.length < size) packBBuf = new Float64Array(size);
  packB(b, k, n, packBBuf);
  gemmPacked(m, n, k, a, { k, n, data: packBBuf }, c, cOffset, accumulate, n);
}

/**
 * C = A·B with B packed by `packMatrixB`. `ldc` is C's row stride (default n), so a product can
 * write a column block of a wider output.
 */
export function gemmPacked(
  m: number,
  n: number,
  k: number,
  a: MatrixView,
  b: PackedB,
  c: TypedArray,
  cOffset = 0,
  accumulate = false,
  ldc = n,
): void {
  if (b.k !== k || b.n !== n) throw new Error(`gemmPacked: packed B is ${b.k}x${b.n}, expected ${k}x${n}`);
  if (!accumulate) {
    for (let i = 0; i < m; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + n);
  }
  if (m === 0 || n === 0 || k === 0) return;
  const panels = Math.ceil(n / NR);
  const aSize = Math.ceil(Math.min(MC, m) / MR) * MR * Math.min(KC, k);
  if (packABuf.length < aSize) packABuf = new Float64Array(aSize);
  const pa = packABuf;
  const pb = b.data;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = Math.min(KC, k - k0);
    const bBlock = k0 * panels * NR;
    for (let ic = 0; ic < m; ic += MC) {
      const mc = Math.min(MC, m - ic);
      packA(a, ic, mc, k0, kc, pa);
      for (let jp = 0; jp < panels; jp++) {
        const j0 = jp * NR;
        const w = Math.min(NR, n - j0);
        const ibStart = bBlock + jp * NR * kc;
        for (let ip = 0; ip < mc; ip += MR) {
          const h = Math.min(MR, mc - ip);
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
          let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
          let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          let ia = ip * kc;
          let ib = ibStart;
          for (let kk = 0; kk < kc; kk++, ia += MR, ib += NR) {
            const a0 = pa[ia], a1 = pa[ia + 1], a2 = pa[ia + 2], a3 = pa[ia + 3];
            const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
          }
          const r0 = cOffset + (ic + ip) * ldc + j0;
          if (h === MR && w === NR) {
            const r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
            c[r0] += c00; c[r0 + 1] += c01; c[r0 + 2] += c02; c[r0 + 3] += c03;
            c[r1] += c10; c[r1 + 1] += c11; c[r1 + 2] += c12; c[r1 + 3] += c13;
            c[r2] += c20; c[r2 + 1] += c21; c[r2 + 2] += c22; c[r2 + 3] += c23;
            c[r3] += c30; c[r3 + 1] += c31; c[r3 + 2] += c32; c[r3 + 3] += c33;
          } else {
            storeEdge(c, r0, ldc, h, w, c00, c01, c02, c03, 0);
            if (h > 1) storeEdge(c, r0, ldc, h, w, c10, c11, c12, c13, 1);
            if (h > 2) storeEdge(c, r0, ldc, h, w, c20, c21, c22, c23, 2);
            if (h > 3) storeEdge(c, r0, ldc, h, w, c30, c31, c32, c33, 3);
          }
        }
      }
    }
  }
}

/** Adds row `i` of a partial edge tile (h rows, w columns valid) into C without allocating. */
function storeEdge(c: TypedArray, r0: number, ldc: number, h: number, w: number, v0: number, v1: number, v2: number, v3: number, i: number): void {
  if (i >= h) return;
  const r = r0 + i * ldc;
  c[r] += v0;
  if (w > 1) c[r + 1] += v1;
  if (w > 2) c[r + 2] += v2;
  if (w > 3) c[r + 3] += v3;
}
