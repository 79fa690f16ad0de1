import { ShapeError, sizeOf } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';
import { copyRows } from './strided';

/** Checks every index first, so a bad one fails before any output is written. */
registerCpuKernel('gather', ([params, indices], attrs, ctx) => {
  const rank = params.shape.length;
  const a = (attrs.axis as number | undefined) ?? 0;
  const axis = a < 0 ? a + rank : a;
  const dim = params.shape[axis];
  const idx = indices.data;
  const n = idx.length;
  for (let i = 0; i < n; i++) {
    const v = idx[i];
    if (v < -dim || v >= dim) {
      throw new ShapeError(
        `op 'gather' (node '${ctx.node.name}'): index ${v} (at flat position ${i} of indices '${ctx.node.inputs[1].name}') is out of range [${-dim}, ${dim}) for axis ${axis} of params [${params.shape.join(', ')}]`,
      );
    }
  }
  const shape = [...params.shape.slice(0, axis), ...indices.shape, ...params.shape.slice(axis + 1)];
  const out = ctx.alloc(params.dtype, shape);
  const outer = sizeOf(params.shape.slice(0, axis));
  const inner = sizeOf(params.shape.slice(axis + 1));
  // row o of the output block i is params[o, idx[i], :]; a run of consecutive indices (a key/value
  // cache laid out in order, a slice written as a gather) is one strided copy of its rows together
  const at = (i: number): number => (idx[i] < 0 ? idx[i] + dim : idx[i]);
  for (let i = 0; i < n; ) {
    const v = at(i);
    let run = 1;
    while (i + run < n && at(i + run) === v + run) run++;
    copyRows(params.data, v * inner, dim * inner, out.data, i * inner, n * inner, outer, run * inner);
    i += run;
    // the last row again and again (padding read from one zero row, a key/value cache's empty
    // slots): where the output's blocks are contiguous, copied within the output, doubling
    let repeats = 0;
    while (outer === 1 && i + repeats < n && at(i + repeats) === v + run - 1) repeats++;
    const first = i - 1;
    for (let have = 1; have <= repeats; ) {
      const count = Math.min(have, repeats + 1 - have);
      out.data.copyWithin((first + have) * inner, first * inner, (first + count) * inner);
      have += count;
    }
    i += repeats;
  }
  return [out];
});
