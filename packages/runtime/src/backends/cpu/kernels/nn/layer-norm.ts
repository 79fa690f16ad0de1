import { TensorValue } from '@graphc/graph';
import { broadcastStrides } from '../../elementwise';
import { CpuKernel, registerCpuKernel } from '../../kernel';
import { layerNormRowsSimd } from '../../wasm-layer-norm';

/** Flat index into `p` for each position of the normalized block (p broadcast against `shape`). */
function broadcastIndex(p: TensorValue, shape: number[]): Int32Array {
  const strides = broadcastStrides(p.shape.length ? p.shape : [1], shape.length ? shape : [1]);
  const size = shape.reduce((a, d) => a * d, 1);
  const out = new Int32Array(size);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < size; i++) {
    let off = 0;
    for (let d = 0; d < shape.length; d++) off += idx[d] * strides[d];
    out[i] = off;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * layerNorm and rmsNorm: per normalized block the mean (rmsNorm: none, 0) and the mean squared
 * deviation from it in float64, then scale (and shift); float32 over the last axis runs on
 * WebAssembly SIMD (wasm-layer-norm.ts). Outputs [y, mean, inv] (rmsNorm: [y, inv]).
 */
function normalizeKernel(rms: boolean): CpuKernel {
  return ([x, scale, bias], attrs, ctx) => {
    const rank = x.shape.length;
    const a = Number(attrs.axis ?? -1);
    const axis = a < 0 ? a + rank : a;
    const eps = Number(attrs.epsilon ?? 1e-5);
    const block = x.shape.slice(axis);
    const inner = block.reduce((p, d) => p * d, 1);
    const outer = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
    const statShape = x.shape.map((d, i) => (i < axis ? d : 1));
    const y = ctx.alloc(x.dtype, x.shape);
    const mean = rms ? undefined : ctx.alloc(x.dtype, statShape);
    const inv = ctx.alloc(x.dtype, statShape);
    const outputs = mean ? [y, mean, inv] : [y, inv];
    // float32 over the last axis with a scale (and bias) per column: on WebAssembly SIMD
    const perColumn = (p: TensorValue | undefined) => !p || (p.data instanceof Float32Array && p.data.length === inner);
    if (axis === rank - 1 && x.data instanceof Float32Array && perColumn(scale) && perColumn(bias)) {
      const f32 = (t: TensorValue) => t.data as Float32Array;
      if (layerNormRowsSimd(f32(x), inner, eps, f32(scale), bias ? f32(bias) : null, f32(y), mean ? f32(mean) : null, f32(inv))) return outputs;
    }
    // a parameter with the block's size reads it as laid out: no index table to build each run
    const si = scale.data.length === inner ? null : broadcastIndex(scale, block);
    const bi = !bias || bias.data.length === inner ? null : broadcastIndex(bias, block);
    for (let o = 0; o < outer; o++) {
      const base = o * inner;
      let m = 0;
      if (!rms) {
        let sum = 0;
        for (let i = 0; i < inner; i++) sum += x.data[base + i];
        m = sum / inner;
      }
      let sq = 0;
      for (let i = 0; i < inner; i++) {
        const c = x.data[base + i] - m;
        sq += c * c;
      }
      const r = 1 / Math.sqrt(sq / inner + eps);
      if (mean) mean.data[o] = m;
      inv.data[o] = r;
      for (let i = 0; i < inner; i++) {
        const v = (x.data[base + i] - m) * r * scale.data[si ? si[i] : i];
        y.data[base + i] = bias ? v + bias.data[bi ? bi[i] : i] : v;
      }
    }
    return outputs;
  };
}

registerCpuKernel('layerNorm', normalizeKernel(false));
registerCpuKernel('rmsNorm', normalizeKernel(true));
