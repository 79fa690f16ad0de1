import { sizeOf } from '@graphc/graph';
import { opSeed } from '../../../random';
import { registerWebGpuKernel, requireDTypes } from '../kernel';
import { f32Lit, flatDispatch, u32Lit } from '../wgsl';
import { broadcastLoads } from './elementwise';

/**
 * batchNorm(x, mean, variance, offset, scale): one pass over x with the four statistics broadcast,
 * (x - mean) * (scale / sqrt(variance + eps)) + offset.
 */
registerWebGpuKernel('batchNorm', (ctx) => {
  requireDTypes(ctx, ['float32']);
  const out = ctx.outputs[0];
  const n = sizeOf(out.shape);
  const idx = broadcastLoads(out.shape, ctx.inputs, 'i');
  const names = ['x', 'mean', 'variance', 'offset', 'scale'];
  return {
    dispatches: [
      flatDispatch({
        n,
        maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
        bindings: [
          ...names.map((name, k) => ({ ref: { input: k }, name: `${name}_`, type: 'array<f32>' })),
          { ref: { output: 0 }, name: 'y', type: 'array<f32>' },
        ],
        body: `let m = scale_[${idx[4]}] / sqrt(variance_[${idx[2]}] + ${f32Lit(ctx.attrs.varianceEpsilon as number)});
  y[i] = (x_[${idx[0]}] - mean_[${idx[1]}]) * m + offset_[${idx[3]}];`,
      }),
    ],
  };
});

/**
 * Inverted dropout with the CPU reference's exact mask: element i of a run draws the generator's
 * (i+1)-th number after the state the run starts from, and mulberry32 (the Prng) is a hash of
 * `state + (i+1) * 0x6d2b79f5`, so every element draws in parallel. The state lives in a 4-byte
 * buffer of the session (seeded as the CPU seeds the node's Prng) and a second dispatch advances it
 * by the run's draws, so masks continue across runs without the host. `next() < rate` is compared
 * as integers: the draw t (of next() = t / 2^32) is dropped when t < ceil(rate * 2^32).
 */
const MULBERRY = `
fn mulberry(s: u32) -> u32 {
  var t = (s ^ (s >> 15u)) * (s | 1u);
  t = t ^ (t + (t ^ (t >> 7u)) * (t | 61u));
  return t ^ (t >> 14u);
}`;

registerWebGpuKernel('dropout', (ctx) => {
  requireDTypes(ctx, ['float32']);
  const rate = ctx.attrs.rate as number;
  const n = sizeOf(ctx.outputs[0].shape);
  const maxPerDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  // output 1: each element's factor (0 or the scale), the mask the gradient multiplies by
  const x = { ref: { input: 0 }, name: 'x', type: 'array<f32>' };
  const outs = [
    { ref: { output: 0 }, name: 'y', type: 'array<f32>' },
    { ref: { output: 1 }, name: 'factor', type: 'array<f32>' },
  ];
  if (rate === 0) {
    return {
      dispatches: [flatDispatch({ n, maxPerDim, bindings: [x, ...outs], body: 'y[i] = x[i];\n  factor[i] = 1.0;' })],
    };
  }
  const threshold = Math.ceil(rate * 4294967296);
  const drop = threshold >= 4294967296 ? 'true' : `t < ${u32Lit(threshold)}`;
  const seed = opSeed(ctx.node.attrs.seed, ctx.node.name) >>> 0 || 0x9e3779b9;
  const step = 0x6d2b79f5;
  return {
    state: [{ key: `dropout:${ctx.node.name}`, init: () => new Uint32Array([seed]) }],
    dispatches: [
      flatDispatch({
        n,
        maxPerDim,
        bindings: [x, { ref: { state: 0 }, name: 'rng', type: 'array<u32>', access: 'read' as const }, ...outs],
        decls: MULBERRY,
        body: `let t = mulberry(rng[0] + (i + 1u) * ${u32Lit(step)});
  let f = select(${f32Lit(1 / (1 - rate))}, 0.0, ${drop});
  factor[i] = f;
  y[i] = select(x[i] * ${f32Lit(1 / (1 - rate))}, 0.0, ${drop});`,
      }),
      {
        bindings: [{ ref: { state: 0 }, name: 'rng', type: 'array<u32>' }],
        body: `
@compute @workgroup_size(1)
fn main() {
  rng[0] = rng[0] + ${u32Lit(Math.imul(n, step) >>> 0)};
}`,
        workgroups: [1, 1, 1],
      },
    ],
  };
});
