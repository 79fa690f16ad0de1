import { Attrs, ShapeError, TensorValue } from '@graphc/graph';
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

/**
 * multinomial: per row of logits, the cumulative sums of exp(logit - max) (float64), and per sample
 * the first class whose sum passes u * total for one uniform draw u. A row whose weights do not
 * sum to a positive finite number (every logit -inf, or a NaN) gives its last class.
 */
registerCpuKernel('multinomial', ([logits], attrs, ctx) => {
  const [batch, classes] = logits.shape;
  const samples = attrs.numSamples as number;
  const out = ctx.alloc(attrs.dtype as TensorValue['dtype'], [batch, samples]);
  if (out.data.length === 0) return [out];
  if (classes === 0) throw new ShapeError(`op 'multinomial' (node '${ctx.node.name}'): logits [${logits.shape}] have no classes to draw from`);
  const rng = ctx.rng();
  const cumulative = new Float64Array(classes);
  for (let b = 0; b < batch; b++) {
    const row = b * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, logits.data[row + j]);
    let total = 0;
    for (let j = 0; j < classes; j++) cumulative[j] = total += Math.exp(logits.data[row + j] - max);
    for (let s = 0; s < samples; s++) out.data[b * samples + s] = firstAbove(cumulative, classes, rng.next() * total);
  }
  return [out];
});

/** The first index whose cumulative sum exceeds `target` (binary search), else the last one. */
function firstAbove(cumulative: Float64Array, n: number, target: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
