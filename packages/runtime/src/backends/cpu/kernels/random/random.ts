import { Attrs, TensorValue } from '@graphc/graph';
import type { Prng } from '../../../../random';
import { KernelContext, registerCpuKernel } from '../../kernel';

/**
 * Random sources draw from the node's generator (ctx.rng()), which is seeded by the op's seed (or its
 * name) and persists across the runs of a session: a seeded op replays the same sequence in every
 * new session, and successive runs continue it.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The largest float32 below a positive-or-negative finite float32 `x`. */
function float32Below(x: number): number {
  f32[0] = x;
  if (x > 0) u32[0]--;
  else if (x < 0) u32[0]++;
  else return -1.401298464324817e-45;
  return f32[0];
}

function sampler(draw: (rng: Prng, attrs: Attrs) => number) {
  return (_inputs: TensorValue[], attrs: Attrs, ctx: KernelContext): TensorValue[] => {
    const shape = attrs.shape as number[];
    const out = ctx.alloc(attrs.dtype as TensorValue['dtype'], shape);
    const rng = ctx.rng();
    const od = out.data;
    for (let i = 0; i < od.length; i++) od[i] = draw(rng, attrs);
    return [out];
  };
}

registerCpuKernel('randomUniform', (inputs, attrs, ctx) => {
  const lo = (attrs.minval as number) ?? 0;
  const hi = (attrs.maxval as number) ?? 1;
  const dtype = attrs.dtype;
  if (dtype === 'int32' || dtype === 'int64') {
    const span = hi - lo;
    return sampler((rng) => lo + Math.floor(rng.next() * span))(inputs, attrs, ctx);
  }
  const span = hi - lo;
  // rounding to float32 may land on maxval itself: the interval is half-open, so step below it
  const top = dtype === 'float32' && hi > lo ? float32Below(Math.fround(hi)) : hi;
  return sampler((rng) => {
    const v = lo + rng.next() * span;
    return dtype === 'float32' && Math.fround(v) >= hi && hi > lo ? top : v;
  })(inputs, attrs, ctx);
});

registerCpuKernel(
  'randomNormal',
  sampler((rng, attrs) => ((attrs.mean as number) ?? 0) + ((attrs.stddev as number) ?? 1) * rng.normal()),
);

registerCpuKernel(
  'truncatedNormal',
  sampler((rng, attrs) => {
    let z = rng.normal();
    while (z < -2 || z > 2) z = rng.normal();
    return ((attrs.mean as number) ?? 0) + ((attrs.stddev as number) ?? 1) * z;
  }),
);
