import { stridesOf } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/** stridedSlice: walks the output in order, stepping each input coordinate by its stride. */
registerCpuKernel('stridedSlice', ([x], attrs, ctx) => {
  const begin = attrs.begin as number[];
  const step = attrs.strides as number[];
  const size = attrs.size as number[];
  const out = ctx.alloc(x.dtype, size);
  const total = out.data.length;
  if (total === 0) return [out];
  const rank = size.length;
  if (rank === 0) {
    out.data[0] = x.data[0];
    return [out];
  }
  const xs = stridesOf(x.shape);
  const idx = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let d = 0; d < rank; d++) offset += begin[d] * xs[d];
  const inner = size[rank - 1];
  const innerStep = step[rank - 1] * xs[rank - 1];
  const src = x.data;
  const dst = out.data;
  for (let o = 0; o < total; o += inner) {
    let p = offset;
    for (let j = 0; j < inner; j++, p += innerStep) dst[o + j] = src[p];
    for (let d = rank - 2; d >= 0; d--) {
      offset += step[d] * xs[d];
      if (++idx[d] < size[d]) break;
      offset -= step[d] * xs[d] * size[d];
      idx[d] = 0;
    }
  }
  return [out];
});
