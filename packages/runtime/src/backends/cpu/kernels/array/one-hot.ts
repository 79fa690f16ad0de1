import { DType, sizeOf } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

registerCpuKernel('oneHot', ([indices], attrs, ctx) => {
  const depth = attrs.depth as number;
  const rank = indices.shape.length;
  const a = (attrs.axis as number | undefined) ?? -1;
  const axis = a < 0 ? a + rank + 1 : a;
  const shape = [...indices.shape.slice(0, axis), depth, ...indices.shape.slice(axis)];
  const out = ctx.alloc(((attrs.dtype as DType | undefined) ?? 'float32'), shape);
  const res = out.data;
  res.fill(attrs.offValue as number);
  const on = attrs.onValue as number;
  const idx = indices.data;
  // indices[o, i] lands at out[o, idx, i]
  const inner = sizeOf(indices.shape.slice(axis));
  const outer = sizeOf(indices.shape.slice(0, axis));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const v = idx[o * inner + i];
      if (v >= 0 && v < depth) res[(o * depth + v) * inner + i] = on;
    }
  }
  return [out];
});
