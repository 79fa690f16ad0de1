import { GraphcError, TensorValue, sizeOf, stridesOf } from '@graphc/graph';
import { runElementwise } from '../elementwise';
import { registerCpuKernel } from '../kernel';
import { sumRowsSimd } from '../wasm-reduce';

/**
 * sumToShapeOf(x, like): sums x over the dimensions where `like` is 1 (or missing). One pass over x
 * with an odometer over its outer dimensions; the innermost dimension either keeps its index in the
 * output (a row added to a row) or collapses into one accumulator (a row summed to a number).
 * Accumulates in float64 so long float32 batch sums do not drift.
 */
registerCpuKernel('sumToShapeOf', (inputs, _attrs, ctx) => {
  const [x, like] = inputs;
  const target = like.shape;
  const rank = x.shape.length;
  const offset = rank - target.length;
  for (let d = 0; d < target.length; d++) {
    if (target[d] !== 1 && target[d] !== x.shape[d + offset]) {
      throw new GraphcError(`sumToShapeOf (node '${ctx.node.name}'): [${x.shape}] does not reduce to [${target}]`);
    }
  }
  const out = ctx.alloc(x.dtype, target);
  if (sizeOf(target) === x.data.length) {
    out.data.set(x.data);
    return [out];
  }
  const own = stridesOf(target);
  // output stride of each x dimension: 0 where it is summed away
  const strides = x.shape.map((_, d) => (d < offset || target[d - offset] === 1 ? 0 : own[d - offset]));
  const acc = new Float64Array(out.data.length);
  const xd = x.data;
  const rowsOnly = rank > 0 && strides[rank - 1] === 1 && strides.slice(0, rank - 1).every((st) => st === 0);
  if (rank === 0 || xd.length === 0) {
    if (xd.length) acc[0] = xd[0];
  } else if (rowsOnly && xd instanceof Float32Array && sumRowsSimd(xd, x.shape[rank - 1], acc)) {
    // rows summed to one row (a bias gradient): done on WebAssembly SIMD, the same float64 sums
  } else {
    const inner = x.shape[rank - 1];
    const innerStride = strides[rank - 1];
    const outer = xd.length / inner;
    const idx = new Int32Array(rank);
    let o = 0;
    let i = 0;
    for (let r = 0; r < outer; r++) {
      if (innerStride === 0) {
        let s = 0;
        for (let j = 0; j < inner; j++) s += xd[i++];
        acc[o] += s;
      } else {
        for (let j = 0; j < inner; j++) acc[o + j] += xd[i++];
      }
      for (let d = rank - 2; d >= 0; d--) {
        o += strides[d];
        if (++idx[d] < x.shape[d]) break;
        idx[d] = 0;
        o -= strides[d] * x.shape[d];
      }
    }
  }
  out.data.set(acc);
  return [out];
});

registerCpuKernel('broadcastToShapeOf', (inputs, _attrs, ctx) => {
  const [x, like] = inputs;
  const out: TensorValue = ctx.alloc(x.dtype, like.shape);
  runElementwise({ inputDTypes: [x.dtype], statements: [{ js: 'a', args: [{ input: 0 }], dtype: x.dtype }] }, [x], like.shape, out.data);
  return [out];
});
