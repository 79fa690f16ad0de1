import { registerCpuKernel } from '../../kernel';

/** Inverted dropout: keep with probability 1 - rate (a fresh draw per element and per run), scale survivors. */
registerCpuKernel('dropout', (inputs, attrs, ctx) => {
  const [x] = inputs;
  const rate = attrs.rate as number;
  const out = ctx.alloc(x.dtype, x.shape);
  const xd = x.data;
  const od = out.data;
  if (rate === 0) {
    od.set(xd);
    return [out];
  }
  const scale = 1 / (1 - rate);
  const rng = ctx.rng();
  for (let i = 0; i < xd.length; i++) od[i] = rng.next() < rate ? 0 : xd[i] * scale;
  return [out];
});
