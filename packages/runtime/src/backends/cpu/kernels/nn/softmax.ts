import { Attrs, TensorValue, normalizeAxis } from '@graphc/graph';
import { KernelContext, registerCpuKernel } from '../../kernel';
import { softmaxRowsSimd } from '../../wasm-softmax';

/**
 * softmax / logSoftmax along one axis. The tensor is seen as [outer, axis, inner]; each of the
 * `inner` lanes is normalized over `axis` (max subtracted first, so no overflow), with the lanes
 * innermost so a non-last axis still reads memory sequentially. float32 along the last axis runs on
 * WebAssembly SIMD where rows are whole vectors (wasm-softmax.ts).
 */
let maxes = new Float64Array(0);
let sums = new Float64Array(0);

function softmaxKernel(log: boolean) {
  return (inputs: TensorValue[], attrs: Attrs, ctx: KernelContext): TensorValue[] => {
    const [x] = inputs;
    const rank = x.shape.length;
    const axis = normalizeAxis((attrs.axis as number) ?? -1, rank, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
    const len = x.shape[axis];
    let inner = 1;
    for (let d = axis + 1; d < rank; d++) inner *= x.shape[d];
    const out = ctx.alloc(x.dtype, x.shape);
    const size = x.data.length;
    if (size === 0) return [out];
    const outer = size / (len * inner);
    if (inner === 1 && x.data instanceof Float32Array && out.data instanceof Float32Array && softmaxRowsSimd(x.data, out.data, len, log)) return [out];
    if (maxes.length < inner) {
      maxes = new Float64Array(inner);
      sums = new Float64Array(inner);
    }
    const xd = x.data;
    const od = out.data;
    for (let o = 0; o < outer; o++) {
      const base = o * len * inner;
      maxes.fill(-Infinity, 0, inner);
      sums.fill(0, 0, inner);
      for (let a = 0, p = base; a < len; a++, p += inner) {
        for (let i = 0; i < inner; i++) if (xd[p + i] > maxes[i]) maxes[i] = xd[p + i];
      }
      for (let a = 0, p = base; a < len; a++, p += inner) {
        for (let i = 0; i < inner; i++) {
          const e = Math.exp(xd[p + i] - maxes[i]);
          sums[i] += e;
          if (!log) od[p + i] = e;
        }
      }
      if (log) {
        for (let i = 0; i < inner; i++) sums[i] = maxes[i] + Math.log(sums[i]);
        for (let a = 0, p = base; a < len; a++, p += inner) {
          for (let i = 0; i < inner; i++) od[p + i] = xd[p + i] - sums[i];
        }
      } else {
        for (let i = 0; i < inner; i++) sums[i] = 1 / sums[i];
        for (let a = 0, p = base; a < len; a++, p += inner) {
          for (let i = 0; i < inner; i++) od[p + i] *= sums[i];
        }
      }
    }
    return [out];
  };
}

registerCpuKernel('softmax', softmaxKernel(false));
registerCpuKernel('logSoftmax', softmaxKernel(true));
