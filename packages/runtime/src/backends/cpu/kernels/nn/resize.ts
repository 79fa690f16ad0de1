import { TensorValue, allocArray, resizeTaps } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/**
 * resize, one dimension at a time (nearest, linear and cubic are all separable, and so are
 * excludeOutside's renormalization and tf_crop_and_resize's extrapolation). Each output coordinate is
 * a list of (input index, weight) pairs (resizeTaps, shared with the other backends and the gradient).
 */


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
    const t = resizeTaps(attrs, inLen, outLen, scales[d], roiStart, roiEnd);
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
            if (t.outside[j]) {
              next[dst + i] = extrapolation;
              continue;
            }
            for (let k = 0; k < t.width; k++) {
              const idx = t.index[j * t.width + k];
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
