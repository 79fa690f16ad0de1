import { ShapeError } from '../../errors';
import type { Attrs } from '../../opdef';

/**
 * Window geometry of the channels-first ops (convNchw, convTransposeNchw, the Nchw pools), as ONNX
 * defines it: any number of spatial dimensions, explicit `pads` [begin..., end...] or an `autoPad`
 * of 'SAME_UPPER' | 'SAME_LOWER' | 'VALID', dilations, and `ceilMode` for pools. Shared by shape
 * inference and the kernels, so the two never disagree.
 */
export interface NchwWindow {
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  /** Output spatial size (null where the input's is unknown). */
  out: (number | null)[];
}

export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

function ints(attrs: Attrs, name: string, length: number, fallback: number, min: number, where: string): number[] {
  const v = attrs[name];
  if (v === undefined || v === null) return new Array(length).fill(fallback);
  if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= min)) {
    throw new ShapeError(`${where}attr '${name}' must be ${length} integers >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

export function autoPadOf(attrs: Attrs, where: string): AutoPad {
  const a = String(attrs.autoPad ?? 'NOTSET');
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(a)) throw new ShapeError(`${where}autoPad '${a}' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID`);
  return a as AutoPad;
}

/** Geometry of a forward window (convolution or pooling) over `spatial` input sizes. */
export function nchwWindow(spatial: (number | null)[], kernel: (number | null)[], attrs: Attrs, where: string): NchwWindow {
  const s = spatial.length;
  const strides = ints(attrs, 'strides', s, 1, 1, where);
  const dilations = ints(attrs, 'dilations', s, 1, 1, where);
  const pads = ints(attrs, 'pads', 2 * s, 0, 0, where);
  const autoPad = autoPadOf(attrs, where);
  const ceil = attrs.ceilMode === true;
  const padsBegin = pads.slice(0, s);
  const padsEnd = pads.slice(s);
  const k = kernel.map((d, i) => {
    if (d === null || !Number.isInteger(d) || d < 1) throw new ShapeError(`${where}kernel size ${d} in spatial dimension ${i} must be a known positive integer`);
    return d;
  });
  const out = spatial.map((d, i) => {
    const eff = (k[i] - 1) * dilations[i] + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      if (d === null) return null;
      const o = Math.ceil(d / strides[i]);
      const total = Math.max(0, (o - 1) * strides[i] + eff - d);
      const small = Math.floor(total / 2);
      padsBegin[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      padsEnd[i] = total - padsBegin[i];
      return o;
    }
    if (autoPad === 'VALID') padsBegin[i] = padsEnd[i] = 0;
    if (d === null) return null;
    const span = d + padsBegin[i] + padsEnd[i] - eff;
    if (span < 0) throw new ShapeError(`${where}the window (${eff} after dilation) is larger than the padded input (${d + padsBegin[i] + padsEnd[i]}) in spatial dimension ${i}`);
    let o = (ceil ? Math.ceil(span / strides[i]) : Math.floor(span / strides[i])) + 1;
    // a last window that would start in the end padding is dropped (as PyTorch and onnxruntime)
    if (ceil && (o - 1) * strides[i] >= d + padsBegin[i]) o--;
    return o;
  });
  return { kernel: k, strides, dilations, padsBegin, padsEnd, out };
}

/** Geometry of a transposed convolution: output size from `outputShape`, or from strides, pads and `outputPadding`. */
export function nchwTransposeWindow(spatial: (number | null)[], kernel: number[], attrs: Attrs, where: string): NchwWindow {
  const s = spatial.length;
  const strides = ints(attrs, 'strides', s, 1, 1, where);
  const dilations = ints(attrs, 'dilations', s, 1, 1, where);
  const pads = ints(attrs, 'pads', 2 * s, 0, 0, where);
  const outputPadding = ints(attrs, 'outputPadding', s, 0, 0, where);
  const outputShape = attrs.outputShape === undefined || attrs.outputShape === null ? null : ints(attrs, 'outputShape', s, 0, 0, where);
  const autoPad = autoPadOf(attrs, where);
  const padsBegin = pads.slice(0, s);
  const padsEnd = pads.slice(s);
  const out = spatial.map((d, i) => {
    const eff = (kernel[i] - 1) * dilations[i] + 1;
    if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      if (d === null) return outputShape ? outputShape[i] : null;
      const o = outputShape ? outputShape[i] : d * strides[i];
      const total = strides[i] * (d - 1) + outputPadding[i] + eff - o;
      const half = Math.floor(Math.max(total, 0) / 2);
      // ONNX: SAME_UPPER puts the odd pad at the end, everything else at the beginning
      padsBegin[i] = autoPad === 'SAME_UPPER' ? half : Math.max(total, 0) - half;
      padsEnd[i] = total - padsBegin[i];
      return o;
    }
    if (autoPad === 'VALID') padsBegin[i] = padsEnd[i] = 0;
    if (d === null) return null;
    const o = strides[i] * (d - 1) + outputPadding[i] + eff - padsBegin[i] - padsEnd[i];
    if (o < 0) throw new ShapeError(`${where}pads leave a negative output size in spatial dimension ${i}`);
    return o;
  });
  return { kernel, strides, dilations, padsBegin, padsEnd, out };
}
