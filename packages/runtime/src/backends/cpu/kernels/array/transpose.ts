import { stridesOf } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';
import { copyStrided } from './strided';

registerCpuKernel('transpose', ([x], attrs, ctx) => {
  const perm = attrs.perm as number[];
  const inStrides = stridesOf(x.shape);
  const shape = perm.map((p) => x.shape[p]);
  const out = ctx.alloc(x.dtype, shape);
  copyStrided(x.data, 0, shape, perm.map((p) => inStrides[p]), out.data);
  return [out];
});
