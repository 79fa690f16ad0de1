import { GraphcError, sizeOf } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/**
 * maxUnpool: zeros, then each x[i] at flat index indices[i] of indexShape in row-major order (a later
 * write wins), placed at the same coordinates of the (possibly larger) output.
 */
registerCpuKernel('maxUnpool', ([x, indices], attrs, ctx) => {
  const shape = attrs.outputShape as number[];
  const within = (attrs.indexShape as number[] | undefined) ?? shape;
  const out = ctx.alloc(x.dtype, shape);
  // the planned arena hands out reused memory: the positions no index names must read 0
  out.data.fill(0);
  const size = sizeOf(within);
  for (let i = 0; i < x.data.length; i++) {
    const at = Number(indices.data[i]);
    if (!Number.isInteger(at) || at < 0 || at >= size) {
      throw new GraphcError(`op 'maxUnpool' (node '${ctx.node.name}'): index ${at} at position ${i} is outside the ${size} elements it indexes`);
    }
    let rest = at;
    let flat = 0;
    let stride = 1;
    for (let d = within.length - 1; d >= 0; d--) {
      flat += (rest % within[d]) * stride;
      rest = Math.floor(rest / within[d]);
      stride *= shape[d];
    }
    out.data[flat] = x.data[i];
  }
  return [out];
});
