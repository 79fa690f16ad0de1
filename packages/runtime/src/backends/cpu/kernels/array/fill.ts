import type { DType } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

registerCpuKernel('fill', (_inputs, attrs, ctx) => {
  const out = ctx.alloc(attrs.dtype as DType, attrs.shape as number[]);
  out.data.fill(attrs.value as number);
  return [out];
});

registerCpuKernel('range', (_inputs, attrs, ctx) => {
  const start = attrs.start as number;
  const delta = attrs.delta as number;
  const n = Math.max(0, Math.ceil(((attrs.limit as number) - start) / delta));
  const out = ctx.alloc(attrs.dtype as DType, [n]);
  // start + i * delta, not a running sum: no drift for fractional deltas
  for (let i = 0; i < n; i++) out.data[i] = start + i * delta;
  return [out];
});
