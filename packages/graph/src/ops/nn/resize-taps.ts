/**
 * The sampling tables of resize, shared by every backend's kernel and by its gradient, so they can
 * never disagree: resize is separable, and along one dimension each output coordinate is a weighted
 * sum of a few input taps (1 for nearest, 2 for linear, 4 for cubic), computed in float64 by ONNX's
 * rules (coordinate transforms, nearest rounding, Keys' cubic with coefficient A, excludeOutside's
 * renormalization). An output coordinate tf_crop_and_resize maps outside the input is `outside`:
 * its value is the extrapolation constant, and its taps are index 0, weight 0.
 */
export interface ResizeTaps {
  /** `width` input indices per output coordinate, clamped into the input. */
  index: Int32Array;
  /** Their weights. */
  weight: Float64Array;
  /** Taps per output coordinate. */
  width: number;
  /** Per output coordinate: the extrapolation value instead of the taps. */
  outside: Uint8Array;
}

export function resizeSourceCoordinate(mode: string, o: number, scale: number, outLen: number, inLen: number, roiStart: number, roiEnd: number): number {
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
      return center * (1 - adjustment) + (o + 0.5) / scale - 0.5;
    }
    case 'tf_crop_and_resize':
      return outLen > 1 ? roiStart * (inLen - 1) + (o * (roiEnd - roiStart) * (inLen - 1)) / (outLen - 1) : 0.5 * (roiStart + roiEnd) * (inLen - 1);
    default:
      return (o + 0.5) / scale - 0.5;
  }
}

export function resizeNearestIndex(x: number, mode: string): number {
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

/** Keys' cubic convolution weights of the taps at -1, 0, 1, 2 for fraction r. */
export function resizeCubicCoefficients(r: number, a: number): number[] {
  const c = (t: number): number => {
    const x = Math.abs(t);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
  };
  return [c(r + 1), c(r), c(1 - r), c(2 - r)];
}

/** The taps of one dimension resized from `inLen` to `outLen` (resize's attrs, this dimension's scale and roi). */
export function resizeTaps(attrs: Record<string, unknown>, inLen: number, outLen: number, scale: number, roiStart: number, roiEnd: number): ResizeTaps {
  const mode = String(attrs.mode ?? 'nearest');
  const coordinate = String(attrs.coordinateTransformationMode ?? 'half_pixel');
  const width = mode === 'nearest' ? 1 : mode === 'linear' ? 2 : 4;
  const index = new Int32Array(outLen * width);
  const weight = new Float64Array(outLen * width);
  const outside = new Uint8Array(outLen);
  const a = Number(attrs.cubicCoeffA ?? -0.75);
  const exclude = attrs.excludeOutside === true;
  for (let o = 0; o < outLen; o++) {
    // ONNX's length_resized is input length x scale, unrounded (as its reference implementation)
    const x = resizeSourceCoordinate(coordinate, o, scale, inLen * scale, inLen, roiStart, roiEnd);
    const at = o * width;
    if (coordinate === 'tf_crop_and_resize' && (x < 0 || x > inLen - 1)) {
      outside[o] = 1;
      continue;
    }
    if (mode === 'nearest') {
      index[at] = Math.min(Math.max(resizeNearestIndex(x, String(attrs.nearestMode ?? 'round_prefer_floor')), 0), inLen - 1);
      weight[at] = 1;
      continue;
    }
    const base = Math.floor(x);
    const r = x - base;
    const ws = mode === 'linear' ? [1 - r, r] : resizeCubicCoefficients(r, a);
    const first = mode === 'linear' ? base : base - 1;
    let total = 0;
    for (let k = 0; k < width; k++) {
      const i = first + k;
      const w = exclude && (i < 0 || i >= inLen) ? 0 : ws[k];
      index[at + k] = Math.min(Math.max(i, 0), inLen - 1);
      weight[at + k] = w;
      total += w;
    }
    if (exclude && total !== 0) for (let k = 0; k < width; k++) weight[at + k] /= total;
  }
  return { index, weight, width, outside };
}

/** One dimension of a resize: its output length, and its taps (null where it passes through unchanged). */
export interface ResizeDimension {
  outLen: number;
  taps: ResizeTaps | null;
}

/**
 * Every dimension of a resize of `shape` with resize's attrs (sizes; scales and roi where given): the
 * plan each backend's kernel and the gradient walk, dimension by dimension (the resize is separable).
 */
export function resizeDimensions(attrs: Record<string, unknown>, shape: readonly number[]): ResizeDimension[] {
  const rank = shape.length;
  const sizes = attrs.sizes as number[];
  const scales = (attrs.scales as number[] | undefined) ?? sizes.map((s, d) => s / shape[d]);
  const roi = attrs.roi as number[] | undefined;
  const crop = String(attrs.coordinateTransformationMode ?? 'half_pixel') === 'tf_crop_and_resize';
  return shape.map((inLen, d) => ({
    outLen: sizes[d],
    taps: inLen === sizes[d] && scales[d] === 1 && !crop ? null : resizeTaps(attrs, inLen, sizes[d], scales[d], roi ? roi[d] : 0, roi ? roi[d + rank] : 1),
  }));
}
