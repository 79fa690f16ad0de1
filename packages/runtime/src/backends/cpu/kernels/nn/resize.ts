import { TensorValue, allocArray, resizeDimensions } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/**
 * resize, one dimension at a time (nearest, linear and cubic are all separable, and so are
 * excludeOutside's renormalization and tf_crop_and_resize's extrapolation). Each output coordinate is
 * a list of (input index, weight) pairs (resizeTaps, shared with the other backends and the gradient).
 */


registerCpuKernel('resize', ([x], attrs, ctx) => {
  const extrapolation = Number(attrs.extrapolationValue ?? 0);
  let cur: TensorValue = { dtype: 'float64', shape: [...x.shape], data: Float64Array.from(x.data as ArrayLike<number>) };
  for (const [d, { outLen, taps: t }] of resizeDimensions(attrs, x.shape).entries()) {
    if (!t) continue;
    const inLen = cur.shape[d];
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
  const out = ctx.alloc(x.dtype, attrs.sizes as number[]);
  out.data.set(cur.data);
  return [out];
});
