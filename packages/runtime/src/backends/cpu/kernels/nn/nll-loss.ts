import { ShapeError } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/** nllLoss: per element -input[n, target, d] * weight[target]; ignored targets weigh 0. */
registerCpuKernel('nllLoss', ([input, target, weight], attrs, ctx) => {
  const [N, C] = input.shape;
  const D = input.shape.slice(2).reduce((p, d) => p * d, 1);
  const ignore = typeof attrs.ignoreIndex === 'number' ? attrs.ignoreIndex : null;
  const reduction = String(attrs.reduction ?? 'mean');
  const losses = new Float64Array(N * D);
  let weightSum = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const t = target.data[n * D + d];
      if (t === ignore) continue;
      if (!(t >= 0 && t < C)) {
        throw new ShapeError(`op 'nllLoss' (node '${ctx.node.name}'): target ${t} is outside [0, ${C})`);
      }
      const w = weight ? weight.data[t] : 1;
      losses[n * D + d] = -input.data[(n * C + t) * D + d] * w;
      weightSum += w;
    }
  }
  if (reduction === 'none') {
    const out = ctx.alloc(input.dtype, [N, ...input.shape.slice(2)]);
    out.data.set(losses);
    return [out];
  }
  let sum = 0;
  for (const v of losses) sum += v;
  const out = ctx.alloc(input.dtype, []);
  out.data[0] = reduction === 'sum' ? sum : sum / weightSum;
  return [out];
});
