import { registerCpuKernel } from '../../kernel';

/** nonZero: coordinates of the non-zero elements, one row per dimension. */
registerCpuKernel('nonZero', ([x], _attrs, ctx) => {
  const rank = x.shape.length;
  const hits: number[] = [];
  for (let i = 0; i < x.data.length; i++) if (x.data[i] !== 0) hits.push(i);
  const out = ctx.alloc('int64', [rank, hits.length]);
  const strides = x.shape.map((_, d) => x.shape.slice(d + 1).reduce((p, s) => p * s, 1));
  hits.forEach((flat, j) => {
    for (let d = 0; d < rank; d++) out.data[d * hits.length + j] = Math.floor(flat / strides[d]) % x.shape[d];
  });
  return [out];
});
