import { TensorValue, ops, sizeOf, stridesOf } from '@graphc/graph';
import { NoGpuKernel, WebGpuKernelContext, WgslDispatch, registerWebGpuKernel, requireDTypes } from '../kernel';
import { flatDispatch, i32Lit, u32Lit } from '../wgsl';
import { coords, dst, mapDispatch, movable, offsetOf, src } from './array';

/**
 * The sampling ops ONNX models bring: gridSample (a thread per output element) and maxUnpool (a
 * scatter resolved with atomics so duplicates end as the CPU's sequential writes do).
 */
const U = u32Lit;
const I = i32Lit;

/** Nearest picks are exact (see gs_sign) only on axes up to this long, and for coordinates inside ±this many pixels. */
const EXACT_LIMIT = 1 << 20;

/**
 * gs_sign(g, a, c): the sign of g * a - c computed exactly from g's bits (g finite, a and c
 * integers): the nearest mode's rounding decides on which side of a half-pixel a coordinate lies,
 * and the f32 arithmetic that locates it can err by more than the distance there. The product of
 * g's 24-bit significand and a is formed in two 32-bit words.
 */
const EXACT_SIGN = `
fn gs_mul64(m: u32, a: u32) -> vec2<u32> {
  let m0 = m & 0xffffu; let m1 = m >> 16u; let a0 = a & 0xffffu; let a1 = a >> 16u;
  var lo = m0 * a0;
  var hi = m1 * a1;
  let p1 = m0 * a1;
  let p2 = m1 * a0;
  var t = lo + (p1 << 16u); hi += (p1 >> 16u) + select(0u, 1u, t < lo); lo = t;
  t = lo + (p2 << 16u); hi += (p2 >> 16u) + select(0u, 1u, t < lo); lo = t;
  return vec2<u32>(lo, hi);
}
fn gs_sign(g: f32, a: u32, c: i32) -> i32 {
  let bits = bitcast<u32>(g);
  let neg = (bits >> 31u) != 0u;
  let ex = (bits >> 23u) & 0xffu;
  var m = bits & 0x7fffffu;
  var e = -149i;
  if (ex != 0u) { m = m | 0x800000u; e = i32(ex) - 150i; }
  // |g| = m * 2^e; the sign of |g| * a - cc, negated for a negative g
  let cc = select(c, -c, neg);
  var s = 0i;
  if (m == 0u || a == 0u) { s = select(select(0i, 1i, cc < 0i), -1i, cc > 0i); }
  else if (cc < 0i) { s = 1i; }
  else {
    let p = gs_mul64(m, a);
    let uc = u32(cc);
    if (e >= 0i) {
      if (p.y != 0u || e >= 31i || p.x > (0xffffffffu >> u32(e))) { s = 1i; }
      else { let v = p.x << u32(e); s = select(select(0i, 1i, v > uc), -1i, v < uc); }
    } else {
      // floor(p / 2^sh) and whether it dropped a remainder
      let sh = u32(-e);
      var q = vec2<u32>(0u, 0u);
      var rem = true;
      if (sh < 32u) { q = vec2<u32>((p.x >> sh) | (p.y << (32u - sh)), p.y >> sh); rem = (p.x & ((1u << sh) - 1u)) != 0u; }
      else if (sh < 64u) { q = vec2<u32>(p.y >> (sh - 32u), 0u); rem = p.x != 0u || (p.y & ((1u << (sh - 32u)) - 1u)) != 0u; }
      if (q.y != 0u || q.x > uc) { s = 1i; } else if (q.x < uc) { s = -1i; } else { s = select(0i, 1i, rem); }
    }
  }
  return select(s, -s, neg);
}
`;

/** Keys' cubic convolution weights (A = -0.75) of the taps at -1, 0, 1, 2 for fraction t, as ops.gridCubicWeights. */
const CUBIC = `
fn gs_cubic(s: f32) -> f32 {
  let x = abs(s);
  if (x <= 1.0) { return (1.25 * x - 2.25) * x * x + 1.0; }
  if (x < 2.0) { return ((-0.75 * x + 3.75) * x - 6.0) * x + 3.0; }
  return 0.0;
}
`;

/** gridReflect in f32 (a triangle wave between lo and hi). */
const REFLECT = `
fn gs_reflect(x: f32, lo: f32, hi: f32) -> f32 {
  let span = hi - lo;
  if (span <= 0.0) { return lo; }
  let u = (x - lo) / span;
  let m = u - 2.0 * floor(u / 2.0);
  return lo + span * select(2.0 - m, m, m <= 1.0);
}
`;

/** The integer pixel an integer tap reflects to (exact: ops.gridReflect rounded, as the CPU kernel does). */
function reflectIntFn(name: string, length: number, align: boolean): string {
  if (align) {
    const span = length - 1;
    if (span === 0) return `fn ${name}(k: i32) -> i32 { return 0i; }`;
    return `fn ${name}(k: i32) -> i32 {
  let m = ((k % ${I(2 * span)}) + ${I(2 * span)}) % ${I(2 * span)};
  return select(${I(2 * span)} - m, m, m <= ${I(span)});
}`;
  }
  // the borders are pixel edges: reflect 2k + 1 (odd) with period 4 * length
  return `fn ${name}(k: i32) -> i32 {
  let j = ((((k % ${I(2 * length)}) * 2i + 1i) % ${I(4 * length)}) + ${I(4 * length)}) % ${I(4 * length)};
  return (select(${I(4 * length)} - j, j, j <= ${I(2 * length)}) - 1i) / 2i;
}`;
}

/**
 * The taps of one spatial axis as a WGSL function of the grid value: `Taps` holds up to 4 (index,
 * weight) pairs and a NaN flag (the CPU reads a NaN index for a NaN coordinate, and reflects an
 * infinite one to NaN: the output is NaN, except in cubic mode, whose weights of NaN are 0).
 */
function axisTapsFn(d: number, length: number, mode: string, padding: string, align: boolean, rank: number): string {
  const L = length;
  const lo = align ? 0 : -0.5;
  const hi = align ? L - 1 : L - 0.5;
  const f = (v: number) => (Number.isInteger(v) ? `${v}.0` : String(v));
  const denorm = align ? `(g + 1.0) * 0.5 * ${f(L - 1)}` : `((g + 1.0) * ${f(L)} - 1.0) * 0.5`;
  // a NaN coordinate: cubic weights of NaN are all 0 (so is the output), others read a NaN pixel
  const undefinedTaps = mode === 'cubic' ? 'return t;' : 't.nan = true; return t;';
  const lines: string[] = [`fn taps${d}(g: f32) -> Taps {`, '  var t: Taps;', `  if (gc_isnan(g)) { ${undefinedTaps} }`];
  if (mode === 'nearest') {
    // 2x = g * a + b exactly; the pick is x rounded (half to even, or away from zero for three axes)
    const a = align ? L - 1 : L;
    const b = L - 1;
    const tie = (m: string) => (rank === 3 ? `select(${m}, ${m} + 1i, ${m} >= 0i)` : `select(${m} + 1i, ${m}, (${m} & 1i) == 0i)`);
    lines.push(
      '  t.w = vec4<f32>(1.0, 0.0, 0.0, 0.0);',
      `  let xf = ${denorm};`,
      '  var k = 0i;',
      `  if (abs(xf) < ${f(EXACT_LIMIT)}) {`,
      '    let k0 = i32(floor(xf + 0.5));',
      `    let below = gs_sign(g, ${U(a)}, 2i * k0 - 1i - ${I(b)});`,
      `    let above = gs_sign(g, ${U(a)}, 2i * k0 + 1i - ${I(b)});`,
      `    if (below < 0i) { k = k0 - 1i; } else if (below == 0i) { k = ${tie('(k0 - 1i)')}; }`,
      `    else if (above > 0i) { k = k0 + 1i; } else if (above == 0i) { k = ${tie('k0')}; } else { k = k0; }`,
      '  } else {',
      // far outside the image (or infinite): padding alone decides
      padding === 'zeros'
        ? '    t.w.x = 0.0; return t;'
        : padding === 'border'
          ? `    t.i.x = select(0i, ${I(L - 1)}, xf > 0.0); return t;`
          : `    if (abs(xf) > 3.0e38) { t.nan = true; return t; }\n    t.i.x = clamp(i32(round(gs_reflect(round(xf), ${f(lo)}, ${f(hi)}))), 0i, ${I(L - 1)}); return t;`,
      '  }',
    );
    if (padding === 'zeros') lines.push(`  if (k < 0i || k >= ${I(L)}) { t.w.x = 0.0; }`);
    else if (padding === 'border') lines.push(`  k = clamp(k, 0i, ${I(L - 1)});`);
    else lines.push(`  if (k < 0i || k >= ${I(L)}) { k = reflectInt${d}(k); }`);
    lines.push(`  t.i.x = clamp(k, 0i, ${I(L - 1)});`, '  return t;', '}');
  } else {
    const cubic = mode === 'cubic';
    lines.push(`  var x = ${denorm};`);
    if (padding === 'border') lines.push(`  if (x < ${f(lo)} || x > ${f(hi)}) { x = clamp(x, 0.0, ${f(L - 1)}); }`);
    if (padding === 'reflection') {
      lines.push(`  if (abs(x) > 3.0e38) { ${undefinedTaps} }`, `  if (x < ${f(lo)} || x > ${f(hi)}) { x = gs_reflect(x, ${f(lo)}, ${f(hi)}); }`);
    }
    // zeros: every tap outside the image (also keeps infinities out of the integer conversion)
    if (padding === 'zeros') lines.push(`  if (!(x >= -2.0 && x <= ${f(L + 1)})) { return t; }`);
    lines.push('  let base = floor(x);', '  let f = x - base;', `  let first = i32(base)${cubic ? ' - 1i' : ''};`);
    lines.push(cubic ? '  t.w = vec4<f32>(gs_cubic(f + 1.0), gs_cubic(f), gs_cubic(1.0 - f), gs_cubic(2.0 - f));' : '  t.w = vec4<f32>(1.0 - f, f, 0.0, 0.0);');
    const K = cubic ? 4 : 2;
    for (let k = 0; k < K; k++) {
      const c = 'xyzw'[k];
      lines.push(`  var i${k} = first + ${I(k)};`);
      if (padding === 'zeros') lines.push(`  if (i${k} < 0i || i${k} >= ${I(L)}) { t.w.${c} = 0.0; }`);
      if (padding === 'reflection') lines.push(`  i${k} = reflectInt${d}(i${k});`);
      lines.push(`  t.i.${c} = clamp(i${k}, 0i, ${I(L - 1)});`);
    }
    lines.push('  return t;', '}');
  }
  return lines.join('\n');
}

/**
 * gridSample: a thread per output element (n, c, point); per spatial axis the taps of its grid
 * coordinate (ops.gridSampleTaps' rules in f32), then the sum over every combination of one tap per
 * axis, axis 0 outermost as the CPU's loop, skipping zero weights as it does. Nearest picks agree
 * exactly: the rounding is decided by an exact sign test, and reflection is exact integer
 * reflection (as the CPU's rounded float64 reflection of a whole pixel).
 */
registerWebGpuKernel('gridSample', (ctx) => {
  requireDTypes(ctx, ['float32']);
  const [x, gridT] = ctx.inputs;
  const out = ctx.outputs[0];
  const [, C, ...spatial] = x.shape;
  const r = spatial.length;
  const mode = String(ctx.attrs.mode ?? 'linear');
  const padding = String(ctx.attrs.paddingMode ?? 'zeros');
  const align = ctx.attrs.alignCorners === true;
  const n = sizeOf(out.shape);
  if (n === 0) return { dispatches: [] };
  if (spatial.some((L) => L === 0)) throw new NoGpuKernel('an empty spatial axis (the cpu kernel reads past x)');
  if (mode === 'nearest' && spatial.some((L) => L > EXACT_LIMIT)) throw new NoGpuKernel(`nearest picks on axes longer than ${EXACT_LIMIT} are not exact in f32`);
  const K = ops.gridTapCount(mode);
  if (K ** r > 4096) throw new NoGpuKernel(`${K ** r} taps per output point`);
  const P = sizeOf(gridT.shape.slice(1, r + 1));
  const S = sizeOf(spatial);
  const strides = stridesOf(spatial);

  const fns = spatial.map((L, d) => {
    const refl = padding === 'reflection' ? reflectIntFn(`reflectInt${d}`, L, align) + '\n' : '';
    return refl + axisTapsFn(d, L, mode, padding, align, r);
  });

  // nested loops over one tap per axis, axis 0 outermost
  const loops: string[] = [];
  spatial.forEach((_, d) => loops.push(`${'  '.repeat(d + 1)}for (var k${d} = 0u; k${d} < ${U(K)}; k${d}++) {`));
  const ind = '  '.repeat(r + 1);
  const weight = spatial.map((_, d) => `t${d}.w[k${d}]`).reverse().join(' * ');
  const offset = spatial.map((_, d) => (strides[d] === 1 ? `t${d}.i[k${d}]` : `t${d}.i[k${d}] * ${I(strides[d])}`)).join(' + ');
  const decls = `${EXACT_SIGN}${CUBIC}${REFLECT}
struct Taps { i: vec4<i32>, w: vec4<f32>, nan: bool }
${fns.join('\n')}
`;
  const body = `let p = i % ${U(P)};
  let nc = i / ${U(P)};
  let at = ((nc / ${U(C)}) * ${U(P)} + p) * ${U(r)};
  ${spatial.map((_, d) => `let t${d} = taps${d}(grid[at + ${U(r - 1 - d)}]);`).join('\n  ')}
  if (${spatial.map((_, d) => `t${d}.nan`).join(' || ')}) { out[i] = gc_nan(); return; }
  let base = i32(nc * ${U(S)});
  var v = 0.0;
${loops.join('\n')}
${ind}let w = ${weight};
${ind}if (w != 0.0) { v += w * x[u32(base + ${offset})]; }
${spatial.map((_, d) => `${'  '.repeat(r - d)}}`).join('\n')}
  out[i] = v;`;
  const bindings: WgslDispatch['bindings'] = [
    { ref: { input: 0 }, name: 'x', type: 'array<f32>' },
    { ref: { input: 1 }, name: 'grid', type: 'array<f32>' },
    { ref: { output: 0 }, name: 'out', type: 'array<f32>' },
  ];
  return { dispatches: [flatDispatch({ n, maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, bindings, decls, body })] };
});

/**
 * maxUnpool: x[i] goes to flat position indices[i] of indexShape (at the same coordinates of the
 * possibly larger output), the later i winning a shared position. Three dispatches: every position's
 * winner set to -1; each i an atomicMax of itself into its position's winner (the largest i is the
 * CPU's last write, whatever order the threads run in); each output element reads its winner's value
 * or 0. An index out of range is the CPU's error when indices are fed or constant; one computed on
 * the device is skipped.
 */
registerWebGpuKernel('maxUnpool', (ctx) => {
  movable(ctx);
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const shape = ctx.attrs.outputShape as number[];
  const within = (ctx.attrs.indexShape as number[] | undefined) ?? shape;
  const size = sizeOf(within);
  const count = sizeOf(x.shape);
  const total = sizeOf(out.shape);
  if (total === 0) return { dispatches: [] };
  const maxPerDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const winners = Math.max(size, 1);
  const ws = stridesOf(within);
  const inside = within.map((d, k) => (d === shape[k] ? '' : `c${k} < ${U(d)}`)).filter(Boolean);
  const dispatches: WgslDispatch[] = [
    flatDispatch({ n: winners, maxPerDim, bindings: [{ ref: { scratch: 0 }, name: 'win', type: 'array<i32>' }], body: 'win[i] = -1i;' }),
  ];
  if (count > 0) {
    dispatches.push(
      flatDispatch({
        n: count,
        maxPerDim,
        bindings: [
          { ref: { input: 1 }, name: 'ids', type: 'array<i32>' },
          { ref: { scratch: 0 }, name: 'win', type: 'array<atomic<i32>>' },
        ],
        body: `let at = ids[i];
  if (at >= 0i && at < ${I(size)}) { atomicMax(&win[u32(at)], i32(i)); }`,
      }),
    );
  }
  // the gather is a word copy (src and dst as u32 words), each output reading its winner or 0
  const gather = `${coords('i', shape)}
  var v = 0u;
  if (${inside.join(' && ') || 'true'}) {
    let w = win[${offsetOf(shape.map((_, k) => [`c${k}`, ws[k]]))}];
    if (w >= 0i) { v = src[u32(w)]; }
  }`;
  dispatches.push(mapDispatch(total, maxPerDim, [src(), { ref: { scratch: 0 }, name: 'win', type: 'array<i32>', access: 'read' }, dst()], gather));
  return {
    dispatches,
    scratch: [winners * 4],
    hostChecks: [
      {
        input: 1,
        check: (value: TensorValue): string | null => {
          const d = value.data;
          for (let i = 0; i < d.length; i++) {
            const at = Number(d[i]);
            if (!Number.isInteger(at) || at < 0 || at >= size) {
              return `op 'maxUnpool' (node '${ctx.node.name}'): index ${at} at position ${i} is outside the ${size} elements it indexes`;
            }
          }
          return null;
        },
      },
    ],
  };
});
