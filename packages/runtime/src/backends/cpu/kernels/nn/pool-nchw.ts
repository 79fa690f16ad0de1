import { ops } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';
import type { TensorValue } from '@graphc/graph';
import type { KernelContext } from '../../kernel';

/**
 * Channels-first N-d pooling. Each output position visits its window tap by tap; taps in the
 * padding (or beyond it, from ceilMode) are skipped, and counted for the mean only when
 * countIncludePad says so and they lie within the declared padding.
 */

const sizeOf = (s: number[]): number => s.reduce((p, d) => p * d, 1);

type Reducer = (values: number[], flat: number[], padded: number) => [number, number];

function pool(x: TensorValue, attrs: Record<string, unknown>, ctx: KernelContext, op: string, reduce: Reducer, withIndex: boolean): TensorValue[] {
  const [N, C, ...spatial] = x.shape;
  const geo = ops.nchwWindow(spatial, attrs.kernel as number[], attrs as never, `op '${op}' (node '${ctx.node.name}'): `);
  const outSpatial = geo.out as number[];
  const out = ctx.alloc(x.dtype, [N, C, ...outSpatial]);
  const indices = withIndex ? ctx.alloc('int64', [N, C, ...outSpatial]) : undefined;
  const s = spatial.length;
  const P = sizeOf(outSpatial);
  const inSize = sizeOf(spatial);
  const K = sizeOf(geo.kernel);
  const inStrides = spatial.map((_, d) => sizeOf(spatial.slice(d + 1)));
  const colMajor = attrs.storageOrder === 1;
  const colStrides = spatial.map((_, d) => sizeOf(spatial.slice(0, d)));
  // per output position: in-input taps (flat offset, index to report) and padded-but-declared count
  const offsets: number[][] = [];
  const reported: number[][] = [];
  const padded: number[] = [];
  const pos = new Array<number>(s).fill(0);
  for (let p = 0; p < P; p++) {
    const offs: number[] = [];
    const reps: number[] = [];
    let inPad = 0;
    const tap = new Array<number>(s).fill(0);
    for (let k = 0; k < K; k++) {
      let off = 0;
      let rep = 0;
      let inside = true;
      let withinPads = true;
      for (let d = 0; d < s; d++) {
        const c = pos[d] * geo.strides[d] - geo.padsBegin[d] + tap[d] * geo.dilations[d];
        if (c < 0 || c >= spatial[d]) inside = false;
        if (c < -geo.padsBegin[d] || c >= spatial[d] + geo.padsEnd[d]) withinPads = false;
        off += c * inStrides[d];
        rep += c * (colMajor ? colStrides[d] : inStrides[d]);
      }
      if (inside) {
        offs.push(off);
        reps.push(rep);
      } else if (withinPads) inPad++;
      for (let d = s - 1; d >= 0; d--) {
        if (++tap[d] < geo.kernel[d]) break;
        tap[d] = 0;
      }
    }
    offsets.push(offs);
    reported.push(reps);
    padded.push(inPad);
    for (let d = s - 1; d >= 0; d--) {
      if (++pos[d] < outSpatial[d]) break;
      pos[d] = 0;
    }
  }
  if (!withIndex && reduce === maxOf) {
    // the max without indices, the common case: the taps of each position as one flat list, no per-output arrays
    const starts = new Int32Array(P + 1);
    offsets.forEach((offs, p) => (starts[p + 1] = starts[p] + offs.length));
    const flat = Int32Array.from(offsets.flat());
    const xd = x.data;
    const od = out.data;
    for (let nc = 0; nc < N * C; nc++) {
      const base = nc * inSize;
      for (let p = 0; p < P; p++) {
        let best = -Infinity;
        for (let i = starts[p]; i < starts[p + 1]; i++) {
          const v = xd[base + flat[i]];
          // NaN wins, as in TensorFlow's max (nothing is > NaN afterwards)
          if (v > best || v !== v) best = v;
        }
        od[nc * P + p] = best;
      }
    }
    return [out];
  }
  const values: number[] = [];
  for (let nc = 0; nc < N * C; nc++) {
    const base = nc * inSize;
    for (let p = 0; p < P; p++) {
      const offs = offsets[p];
      values.length = offs.length;
      for (let i = 0; i < offs.length; i++) values[i] = x.data[base + offs[i]];
      const [v, at] = reduce(values, reported[p], padded[p]);
      out.data[nc * P + p] = v;
      if (indices) indices.data[nc * P + p] = nc * inSize + at;
    }
  }
  return indices ? [out, indices] : [out];
}

/** The largest value (the first NaN if any) and the reported index of where it lies. */
const maxOf: Reducer = (values, reported) => {
  let best = -Infinity;
  let at = reported.length ? reported[0] : 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > best || Number.isNaN(values[i])) {
      best = values[i];
      at = reported[i];
      if (Number.isNaN(best)) break;
    }
  }
  return [best, at];
};

registerCpuKernel('maxPoolNchw', ([x], attrs, ctx) => pool(x, attrs, ctx, 'maxPoolNchw', maxOf, attrs.withIndices === true));

registerCpuKernel('avgPoolNchw', ([x], attrs, ctx) => {
  const includePad = attrs.countIncludePad === true;
  return pool(
    x,
    attrs,
    ctx,
    'avgPoolNchw',
    (values, _r, padded) => {
      let sum = 0;
      for (const v of values) sum += v;
      const count = values.length + (includePad ? padded : 0);
      return [count ? sum / count : NaN, 0];
    },
    false,
  );
});

registerCpuKernel('lpPoolNchw', ([x], attrs, ctx) => {
  const p = Number(attrs.p ?? 2);
  return pool(
    x,
    attrs,
    ctx,
    'lpPoolNchw',
    (values) => {
      let sum = 0;
      for (const v of values) sum += Math.pow(Math.abs(v), p);
      return [Math.pow(sum, 1 / p), 0];
    },
    false,
  );
});
