import { ShapeError, padLimit, padTooLarge } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';
import { padMap, remapInto, tileMap } from './remap';

registerCpuKernel('pad', ([x], attrs, ctx) => {
  const paddings = attrs.paddings as number[];
  const mode = String(attrs.mode ?? 'constant');
  const maps = x.shape.map((d, i) => {
    const [before, after] = [paddings[2 * i], paddings[2 * i + 1]];
    if (Math.max(before, after) > padLimit(mode, d)) {
      throw new ShapeError(`op 'pad' (node '${ctx.node.name}'): ${padTooLarge(mode, before, after, i, `[${x.shape.join(', ')}]`, d)}`);
    }
    return padMap(d, before, after, mode);
  });
  const shape = maps.map((m) => m.length);
  const out = ctx.alloc(x.dtype, shape);
  remapInto(x, shape, maps, Number(attrs.constantValue ?? 0), out.data);
  return [out];
});

registerCpuKernel('tile', ([x], attrs, ctx) => {
  const multiples = attrs.multiples as number[];
  const maps = x.shape.map((d, i) => tileMap(d, multiples[i]));
  const shape = maps.map((m) => m.length);
  const out = ctx.alloc(x.dtype, shape);
  remapInto(x, shape, maps, 0, out.data);
  return [out];
});
