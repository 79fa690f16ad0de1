import { ShapeError } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/** reverseSequence: batch entry b has its first lengths[b] time steps reversed. */
registerCpuKernel('reverseSequence', ([x, lengths], attrs, ctx) => {
  const t = Number(attrs.timeAxis ?? 0);
  const b = Number(attrs.batchAxis ?? 1);
  const out = ctx.alloc(x.dtype, x.shape);
  out.data.set(x.data);
  const d1 = x.shape[1];
  const inner = x.shape.slice(2).reduce((p, d) => p * d, 1);
  const steps = x.shape[t];
  const batch = x.shape[b];
  if (lengths.data.length !== batch) throw new ShapeError(`op 'reverseSequence' (node '${ctx.node.name}'): ${lengths.data.length} lengths for a batch of ${batch}`);
  const at = (time: number, bi: number): number => ((t === 0 ? time * d1 + bi : bi * d1 + time) * inner);
  for (let bi = 0; bi < batch; bi++) {
    const len = lengths.data[bi];
    if (len < 0 || len > steps) throw new ShapeError(`op 'reverseSequence' (node '${ctx.node.name}'): length ${len} is outside [0, ${steps}]`);
    for (let s = 0; s < len; s++) {
      const src = at(len - 1 - s, bi);
      out.data.set(x.data.subarray(src, src + inner), at(s, bi));
    }
  }
  return [out];
});
