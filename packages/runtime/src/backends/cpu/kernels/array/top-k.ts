import { registerCpuKernel } from '../../kernel';

/** topK: per row along the axis, a stable sort of the indices by value (NaN counts as largest), first k kept. */
registerCpuKernel('topK', ([x], attrs, ctx) => {
  const rank = x.shape.length;
  const a = Number(attrs.axis ?? -1);
  const axis = a < 0 ? a + rank : a;
  const k = Number(attrs.k);
  const largest = attrs.largest !== false;
  const dim = x.shape[axis];
  const outShape = x.shape.map((d, i) => (i === axis ? k : d));
  const values = ctx.alloc(x.dtype, outShape);
  const indices = ctx.alloc('int64', outShape);
  const inner = x.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const outer = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const order = new Array<number>(dim);
  const key = (v: number): number => (Number.isNaN(v) ? Infinity : v);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * dim * inner + i;
      for (let j = 0; j < dim; j++) order[j] = j;
      order.sort((p, q) => {
        const vp = key(x.data[base + p * inner]);
        const vq = key(x.data[base + q * inner]);
        if (vp === vq) return p - q;
        return largest ? (vq > vp ? 1 : -1) : vp > vq ? 1 : -1;
      });
      const outBase = o * k * inner + i;
      for (let j = 0; j < k; j++) {
        values.data[outBase + j * inner] = x.data[base + order[j] * inner];
        indices.data[outBase + j * inner] = order[j];
      }
    }
  }
  return [values, indices];
});
