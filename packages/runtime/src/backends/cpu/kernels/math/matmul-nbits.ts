import { NBitsLayout, TypedArray, nbitsColumn, nbitsLayout } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';
import { nbitsProductSimd } from '../../wasm-nbits';
import { whereOf } from '../fused';

/**
 * matmulNBits: float32 a runs on the WebAssembly SIMD kernels (wasm-nbits.ts: the packed words read
 * in place, resident where they are a constant's); float64 a, SIMD off (setSimdKernels,
 * setSimdGemm) or a block size those kernels do not take run the JavaScript reference below, as
 * does transposeW (the gradient's product, a training step's).
 */
/** Each node's layout, read from its attrs once (not on every run). */
const layouts = new WeakMap<object, NBitsLayout>();

registerCpuKernel('matmulNBits', ([a, packed, scales, zeroPoints], attrs, ctx) => {
  let layout = layouts.get(attrs);
  if (!layout) layouts.set(attrs, (layout = nbitsLayout(attrs, whereOf('matmulNBits', ctx.node.name))));
  const n = packed.shape[0];
  if (attrs.transposeW === true) {
    const out = ctx.alloc(a.dtype, [...a.shape.slice(0, -1), layout.k]);
    nbitsProductTransposed(layout, a.data, a.data.length / n, packed.data, scales.data, zeroPoints.data, n, out.data);
    return [out];
  }
  const out = ctx.alloc(a.dtype, [...a.shape.slice(0, -1), n]);
  const rows = a.data.length / layout.k;
  const simd =
    a.data instanceof Float32Array &&
    packed.data instanceof Int32Array &&
    scales.data instanceof Float32Array &&
    zeroPoints.data instanceof Float32Array &&
    out.data instanceof Float32Array &&
    nbitsProductSimd(layout, a.data, rows, packed.data, scales.data, zeroPoints.data, n, out.data);
  if (!simd) nbitsProduct(layout, a.data, rows, packed.data, scales.data, zeroPoints.data, n, out.data);
  return [out];
});

/**
 * The reference: out[r, col] = sum over kk of a[r, kk] * W[kk, col], for `rows` rows of a and `n`
 * columns. Each column's weights are dequantized into a float32 row once ((q - zero point) * scale,
 * rounded as a float32 weight is), then dotted with every row of a in float64. Reads the packed
 * words once whatever the number of rows.
 */
export function nbitsProduct(layout: NBitsLayout, a: TypedArray, rows: number, packed: TypedArray, scales: TypedArray, zeroPoints: TypedArray, n: number, out: TypedArray): void {
  const { k } = layout;
  const column = new Float32Array(k);
  for (let col = 0; col < n; col++) {
    nbitsColumn(layout, packed, scales, zeroPoints, col, column);
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      const base = r * k;
      for (let kk = 0; kk < k; kk++) acc += a[base + kk] * column[kk];
      out[r * n + col] = acc;
    }
  }
}

/**
 * transposeW: out[r, kk] = sum over col of a[r, col] * W[kk, col], for `rows` rows of a (n columns
 * each). Each column is dequantized once, as in nbitsProduct, and added into every row's sums
 * (float64, rounded once at the end).
 */
export function nbitsProductTransposed(layout: NBitsLayout, a: TypedArray, rows: number, packed: TypedArray, scales: TypedArray, zeroPoints: TypedArray, n: number, out: TypedArray): void {
  const { k } = layout;
  const column = new Float32Array(k);
  const sums = new Float64Array(rows * k);
  for (let col = 0; col < n; col++) {
    nbitsColumn(layout, packed, scales, zeroPoints, col, column);
    for (let r = 0; r < rows; r++) {
      const x = a[r * n + col];
      const base = r * k;
      for (let kk = 0; kk < k; kk++) sums[base + kk] += x * column[kk];
    }
  }
  out.set(sums);
}
