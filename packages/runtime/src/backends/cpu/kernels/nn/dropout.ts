import { registerCpuKernel } from '../../kernel';

/**
 * Inverted dropout: keep with probability 1 - rate (a fresh draw per element and per run), scale
 * survivors. Output 1 holds each element's factor (0 or the scale), the mask the gradient uses.
 */
registerCpuKernel('dropout', (inputs, attrs, ctx) => {
  const [x] = inputs;
  const rate = attrs.rate as number;
  const out = ctx.alloc(x.dtype, x.shape);
  const factor = ctx.alloc(x.dtype, x.shape);
  const xd = x.data;
  const od = out.data;
  const fd = factor.data;
  if (rate === 0) {
    od.set(xd);
    fd.fill(1);
    return [out, factor];
  }
  const scale = 1 / (1 - rate);
  const rng = ctx.rng();
  for (let i = 0; i < xd.length; i++) {
    const f = rng.next() < rate ? 0 : scale;
    fd[i] = f;
    od[i] = f === 0 ? 0 : xd[i] * scale;
  }
  return [out, factor];
});
