import { registerCpuKernel } from '../../kernel';

/** lrnNchw: each value divided by (bias + alpha/size * sum of squares over neighbouring channels)^beta. */
registerCpuKernel('lrnNchw', ([x], attrs, ctx) => {
  const [N, C] = x.shape;
  const inner = x.shape.slice(2).reduce((p, d) => p * d, 1);
  const size = Number(attrs.size);
  const alpha = Number(attrs.alpha ?? 1e-4);
  const beta = Number(attrs.beta ?? 0.75);
  const bias = Number(attrs.bias ?? 1);
  const lo = Math.floor((size - 1) / 2);
  const hi = Math.ceil((size - 1) / 2);
  const out = ctx.alloc(x.dtype, x.shape);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < inner; i++) {
        let sq = 0;
        for (let k = Math.max(0, c - lo); k <= Math.min(C - 1, c + hi); k++) {
          const v = x.data[(n * C + k) * inner + i];
          sq += v * v;
        }
        const at = (n * C + c) * inner + i;
        out.data[at] = x.data[at] / Math.pow(bias + (alpha / size) * sq, beta);
      }
    }
  }
  return [out];
});
