import { TensorValue, allocArray } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/**
 * resize, one dimension at a time (nearest, linear and cubic are all separable, and so are
 * excludeOutside's renormalization and tf_crop_and_resize's extrapolation). Each output coordinate is
 * a list of (input index, weight) pairs; an index of -1 stands for the extrapolation value.
 */

interface Taps {
  index: Int32Array;
  weight: Float64Array;
  width: number;
}

function sourceCoordinate(mode: string, o: number, scale: number, outLen: number, inLen: number, roiStart: number, roiEnd: number): number {
  switch (mode) {
    case 'asymmetric':
      return o / scale;
    case 'align_corners':
      return outLen === 1 ? 0 : (o * (inLen - 1)) / (outLen - 1);
    case 'pytorch_half_pixel':
      return outLen > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case 'tf_half_pixel_for_nn':
      return (o + 0.5) / scale;
    case 'half_pixel_symmetric': {
      const adjustment = outLen / (scale * inLen);
      const center = inLen / 2;
      const offset = center * (1 - adjustment);
      return offset + (o + 0.5) / scale - 0.5;
    }
    case 'tf_crop_and_resize':
      return outLen > 1
        ? roiStart * (inLen - 1) + (o * (roiEnd - roiStart) * (inLen - 1)) / (outLen - 1)
        : 0.5 * (roiStart + roiEnd) * (inLen - 1);
    default:
      return (o + 0.5) / scale - 0.5;
  }
}

function nearestIndex(x: number, mode: string): number {
  switch (mode) {
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    case 'round_prefer_ceil':
      return x - Math.floor(x) === 0.5 ? Math.ceil(x) : Math.round(x);
    default:
      return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
  }
}

function cubicCoefficients(r: number, a: number): number[] {
  const c = (t: number): number => {
    const x = Math.abs(t);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
  };
  return [c(r + 1), c(r), c(1 - r), c(2 - r)];
}

function taps(attrs: Record<string, unknown>, inLen: number, outLen: number, scale: number, roiStart: number, roiEnd: number): Taps {
  const mode = String(attrs.mode ?? 'nearest');
  const coordinate = String(attrs.coordinateTransformationMode ?? 'half_pixel');
  const width = mode === 'nearest' ? 1 : mode === 'linear' ? 2 : 4;
  const index = new Int32Array(outLen * width);
  const weight = new Float64Array(outLen * width);
  const a = Number(attrs.cubicCoeffA ?? -0.75);
  const exclude = attrs.excludeOutside === true;
  for (let o = 0; o < outLen; o++) {
    // ONNX's length_resized is input length x scale, unrounded (as its reference implementation)
    const x = sourceCoordinate(coordinate, o, scale, inLen * scale, inLen, roiStart, roiEnd);
    const at = o * width;
    if (coordinate === 'tf_crop_and_resize' && (x < 0 || x > inLen - 1)) {
      for (let k = 0; k < width; k++) index[at + k] = -1;
      weight[at] = 1;
      continue;
    }
    if (mode === 'nearest') {
      index[at] = Math.min(Math.max(nearestIndex(x, String(attrs.nearestMode ?? 'round_prefer_floor')), 0), inLen - 1);
      weight[at] = 1;
      continue;
    }
    const base = Math.floor(x);
    const r = x - base;
    const ws = mode === 'linear' ? [1 - r, r] : cubicCoefficients(r, a);
    const first = mode === 'linear' ? base : base - 1;
    let total = 0;
    for (let k = 0; k < width; k++) {
      const i = first + k;
      const outside = i < 0 || i >= inLen;
      const w = exclude && outside ? 0 : ws[k];
      index[at + k] = Math.min(Math.max(i, 0), inLen - 1);
      weight[at + k] = w;
      total += w;
    }
    if (exclude && total !== 0) for (let k = 0; k < width; k++) weight[at + k] /= total;
  }
  return { index, weight, width };
}

registerCpuKernel('resize', ([x], attrs, ctx) => {
  const rank = x.shape.length;
  const sizes = attrs.sizes as number[];
  const scales = (attrs.scales as number[] | undefined) ?? sizes.map((s, d) => s / x.shape[d]);
  const roi = attrs.roi as number[] | undefined;
  const coordinate = String(attrs.coordinateTransformationMode ?? 'half_pixel');
  const extrapolation = Number(attrs.extrapolationValue ?? 0);
  let cur: TensorValue = { dtype: 'float64', shape: [...x.shape], data: Float64Array.from(x.data as ArrayLike<number>) };
  for (let d = 0; d < rank; d++) {
    const inLen = cur.shape[d];
    const outLen = sizes[d];
    const roiStart = roi ? roi[d] : 0;
    const roiEnd = roi ? roi[d + rank] : 1;
    if (inLen === outLen && scales[d] === 1 && coordinate !== 'tf_crop_and_resize') continue;
    const t = taps(attrs, inLen, outLen, scales[d], roiStart, roiEnd);
    const shape = cur.shape.map((s, i) => (i === d ? outLen : s));
    const outer = cur.shape.slice(0, d).reduce((p, s) => p * s, 1);
    const inner = cur.shape.slice(d + 1).reduce((p, s) => p * s, 1);
    const next = allocArray('float64', outer * outLen * inner);
    if (inLen === 0 && next.length) next.fill(extrapolation);
    else {
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < outLen; j++) {
          const dst = (o * outLen + j) * inner;
          for (let i = 0; i < inner; i++) {
            let v = 0;
            for (let k = 0; k < t.width; k++) {
              const idx = t.index[j * t.width + k];
              if (idx < 0) {
                v = extrapolation;
                break;
              }
              const w = t.weight[j * t.width + k];
              if (w !== 0) v += w * cur.data[(o * inLen + idx) * inner + i];
            }
            next[dst + i] = v;
          }
        }
      }
    }
    cur = { dtype: 'float64', shape, data: next };
  }
  const out = ctx.alloc(x.dtype, sizes);
  out.data.set(cur.data);
  return [out];
});
