import { ShapeError } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';
import { remapInto } from './remap';

/** Source index along one dimension for each output position: -1 for constant padding. */
function padMap(dim: number, before: number, after: number, mode: string): Int32Array {
  const map = new Int32Array(dim + before + after);
  for (let j = 0; j < map.length; j++) {
    let i = j - before;
    if (i < 0 || i >= dim) {
      if (mode === 'constant') i = -1;
      else if (mode === 'reflect') i = i < 0 ? -i : 2 * (dim - 1) - i;
      else i = i < 0 ? -i - 1 : 2 * dim - 1 - i;
    }
    map[j] = i;
  }
  return map;
}

registerCpuKernel('pad', ([x], attrs, ctx) => {
  const paddings = attrs.paddings as number[];
  const mode = String(attrs.mode ?? 'constant');
  const limit = mode === 'reflect' ? 1 : 0;
  const maps = x.shape.map((d, i) => {
    const [before, after] = [paddings[2 * i], paddings[2 * i + 1]];
    if (mode !== 'constant' && Math.max(before, after) > d - limit) {
      throw new ShapeError(`op 'pad' (node '${ctx.node.name}'): ${mode} padding of [${before}, ${after}] is too large for dimension ${i} of [${x.shape.join(', ')}]`);
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
  const maps = x.shape.map((d, i) => {
    const map = new Int32Array(d * multiples[i]);
    for (let j = 0; j < map.length; j++) map[j] = j % d;
    return map;
  });
  const shape = maps.map((m) => m.length);
  const out = ctx.alloc(x.dtype, shape);
  remapInto(x, shape, maps, 0, out.data);
  return [out];
});
