import { ShapeError, stridesOf } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';
import { copyStrided } from './strided';

registerCpuKernel('slice', ([x], attrs, ctx) => {
  const begin = attrs.begin as number[];
  const size = attrs.size as number[];
  const shape = x.shape.map((d, i) => (size[i] === -1 ? d - begin[i] : size[i]));
  x.shape.forEach((d, i) => {
    if (begin[i] > d || shape[i] < 0 || begin[i] + shape[i] > d) {
      throw new ShapeError(
        `op 'slice' (node '${ctx.node.name}'): begin [${begin.join(', ')}] size [${size.join(', ')}] runs past [${x.shape.join(', ')}] in dimension ${i}`,
      );
    }
  });
  const strides = stridesOf(x.shape);
  const offset = begin.reduce((o, b, i) => o + b * strides[i], 0);
  const out = ctx.alloc(x.dtype, shape);
  copyStrided(x.data, offset, shape, strides, out.data);
  return [out];
});
