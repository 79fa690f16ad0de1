import { ops } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/** shapeOf: the input's run-time dimensions [start, end) as int64. */
registerCpuKernel('shapeOf', ([x], attrs, ctx) => {
  const { start, end } = ops.shapeRange(x.shape.length, attrs.start, attrs.end);
  const dims = x.shape.slice(start, Math.max(start, end));
  const out = ctx.alloc('int64', [dims.length]);
  out.data.set(dims);
  return [out];
});
