import { Attrs, DType, ShapeError, TensorValue, sizeOf } from '@graphc/graph';
import { KernelContext, registerCpuKernel } from '../../kernel';

/**
 * Index of the first extreme value along one axis (the first NaN wins, as max propagates NaN). The
 * axis is walked in memory order: one row at a time, updating a row of running extremes.
 */
function argKernel(better: (v: number, best: number) => boolean) {
  return ([x]: TensorValue[], attrs: Attrs, ctx: KernelContext): TensorValue[] => {
    const rank = x.shape.length;
    const a = attrs.axis as number;
    const axis = a < 0 ? a + rank : a;
    const dim = x.shape[axis];
    const shape = x.shape.filter((_, i) => i !== axis);
    const out = ctx.alloc((attrs.outputType as DType | undefined) ?? 'int64', shape);
    if (out.data.length === 0) return [out];
    if (dim === 0) throw new ShapeError(`op '${ctx.node.op}' (node '${ctx.node.name}'): axis ${axis} of [${x.shape.join(', ')}] is empty: no index to return`);
    const src = x.data;
    const res = out.data;
    const outer = sizeOf(x.shape.slice(0, axis));
    const inner = sizeOf(x.shape.slice(axis + 1));
    if (inner === 1) {
      for (let o = 0; o < outer; o++) {
        const base = o * dim;
        let best = src[base];
        let at = 0;
        for (let k = 1; k < dim && best === best; k++) {
          const v = src[base + k];
          if (better(v, best)) {
            best = v;
            at = k;
          }
        }
        res[o] = at;
      }
      return [out];
    }
    const best = new Float64Array(inner);
    for (let o = 0; o < outer; o++) {
      const base = o * dim * inner;
      const r = o * inner;
      for (let j = 0; j < inner; j++) {
        best[j] = src[base + j];
        res[r + j] = 0;
      }
      for (let k = 1; k < dim; k++) {
        const row = base + k * inner;
        for (let j = 0; j < inner; j++) {
          const v = src[row + j];
          if (better(v, best[j])) {
            best[j] = v;
            res[r + j] = k;
          }
        }
      }
    }
    return [out];
  };
}

// a NaN beats any number, and nothing beats a NaN already held
registerCpuKernel('argMax', argKernel((v, best) => v > best || (v !== v && best === best)));
registerCpuKernel('argMin', argKernel((v, best) => v < best || (v !== v && best === best)));
