/**
 * WGSL building blocks shared by the kernels: the scalar helpers that elementwise templates call
 * (`gc_erf`, `gc_pow`), literal formatting, dispatch-grid sizing and broadcast index arithmetic.
 * Shapes are baked into each kernel's source as constants: a plan is compiled for one set of feed
 * shapes, so every index computation folds to multiplies and shifts by known numbers.
 */
import type { WgslBinding, WgslDispatch } from './kernel';

/** W. J. Cody's rational erf (the CPU reference's scalar helper), in f32. */
const ERF = `
fn gc_erf(x: f32) -> f32 {
  let ax = abs(x);
  if (ax <= 0.46875) {
    let t = x * x;
    let num = (((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t + 377.485237685302021) * t + 3209.37758913846947;
    let den = (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t + 2844.23683343917062;
    return x * num / den;
  }
  var r: f32;
  if (ax < 4.0) {
    let num = (((((((2.15311535474403846e-8 * ax + 5.64188496988670089e-1) * ax + 8.88314979438837594) * ax + 6.61191906371416295e1) * ax + 2.98635138197400131e2) * ax + 8.81952221241769090e2) * ax + 1.71204761263407058e3) * ax + 2.05107837782607147e3) * ax + 1.23033935479799725e3;
    let den = (((((((ax + 1.57449261107098347e1) * ax + 1.17693950891312499e2) * ax + 5.37181101862009858e2) * ax + 1.62138957456669019e3) * ax + 3.29079923573345963e3) * ax + 4.36261909014324716e3) * ax + 3.43936767414372164e3) * ax + 1.23033935480374942e3;
    r = 1.0 - exp(-ax * ax) * num / den;
  } else if (ax < 10.0) {
    let z = 1.0 / (ax * ax);
    let num = ((((1.63153871373020978e-2 * z + 3.05326634961232344e-1) * z + 3.60344899949804439e-1) * z + 1.25781726111229246e-1) * z + 1.60837851487422766e-2) * z + 6.58749161529837803e-4;
    let den = ((((z + 2.56852019228982242) * z + 1.87295284992346725) * z + 5.27905102951428412e-1) * z + 6.05183413124413191e-2) * z + 2.33520497626869185e-3;
    r = 1.0 - exp(-ax * ax) / ax * (0.5641895835477563 - z * num / den);
  } else if (gc_isnan(x)) {
    return x;
  } else {
    r = 1.0;
  }
  return select(r, -r, x < 0.0);
}
`;

/**
 * Math.pow semantics in f32: WGSL's pow is undefined for a negative base, while Math.pow(-2, 3) is -8
 * and Math.pow(x, 0) is 1 even for NaN x.
 */
const POW = `
fn gc_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (gc_isnan(a) || gc_isnan(b)) { return a + b; }
  if (floor(b) == b && abs(b) <= 64.0) {
    // integer exponents by squaring: x*x is correctly rounded where exp2(2*log2(x)) is not
    var e = u32(abs(b));
    var base = a;
    var r = 1.0;
    loop {
      if ((e & 1u) == 1u) { r = r * base; }
      e = e >> 1u;
      if (e == 0u) { break; }
      base = base * base;
    }
    return select(r, 1.0 / r, b < 0.0);
  }
  if (a == 0.0) { return select(0.0, gc_inf(), b < 0.0); }
  if (a > 0.0) { return exp2(b * log2(a)); }
  if (floor(b) != b) { return gc_nan(); }
  let m = exp2(b * log2(-a));
  let odd = abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
  return select(m, -m, odd);
}
`;

/**
 * Infinity and NaN at run time: a WGSL const-expression that evaluates to either is a compile error,
 * so they come from a division by a variable zero.
 */
const SPECIAL = `
fn gc_inf() -> f32 { var z = 0.0; return 1.0 / z; }
fn gc_nan() -> f32 { var z = 0.0; return z / z; }
`;

/** Integer division and modulo as the CPU reference: floor semantics, and 0 for a zero divisor. */
const INT_DIV = `
fn gc_floordiv(a: i32, b: i32) -> i32 {
  if (b == 0i) { return 0i; }
  let q = a / b;
  return select(q, q - 1i, (a % b != 0i) && ((a < 0i) != (b < 0i)));
}
fn gc_floormod(a: i32, b: i32) -> i32 {
  if (b == 0i) { return 0i; }
  let r = a % b;
  return select(r, r + b, r != 0i && ((r < 0i) != (b < 0i)));
}
fn gc_truncdiv(a: i32, b: i32) -> i32 {
  if (b == 0i) { return 0i; }
  return a / b;
}
`;

/** float -> int32 as an Int32Array store: truncation, wrapping modulo 2^32, NaN and infinities to 0. */
const F2I = `
fn gc_f2i(a: f32) -> i32 {
  if ((bitcast<u32>(a) & 0x7f800000u) == 0x7f800000u) { return 0i; }
  let t = trunc(a);
  if (t >= -2147483648.0 && t < 2147483648.0) { return i32(t); }
  let r = t - 4294967296.0 * floor(t / 4294967296.0);
  return bitcast<i32>(u32(r));
}
`;

/** The source index of a reflect (edge 0) or symmetric (edge 1) padded position (one reflection). */
const MIRROR = `
fn gc_mirror(i: i32, dim: i32, edge: i32) -> i32 {
  if (i < 0i) { return -i - edge; }
  if (i >= dim) { return 2i * dim - 2i + edge - i; }
  return i;
}
`;

/**
 * NaN tests by bit pattern: compilers may assume float comparisons never see NaN (lavapipe's LLVM
 * folds \`a != a\`), but they cannot fold integer tests. gc_max/gc_min propagate NaN as the CPU's
 * maximum, minimum and reduceMax do.
 */
const NAN = `
fn gc_isnan(a: f32) -> bool { return (bitcast<u32>(a) & 0x7fffffffu) > 0x7f800000u; }
fn gc_nonzero(a: f32) -> bool { return (bitcast<u32>(a) & 0x7fffffffu) != 0u; }
fn gc_max(a: f32, b: f32) -> f32 { if (gc_isnan(a) || gc_isnan(b)) { return select(b, a, gc_isnan(a)); } return max(a, b); }
fn gc_min(a: f32, b: f32) -> f32 { if (gc_isnan(a) || gc_isnan(b)) { return select(b, a, gc_isnan(a)); } return min(a, b); }
`;

/**
 * log(1 + x) and e^x - 1 near 0 by their series (to x^7, whose rest is below float32's rounding
 * for |x| < 0.05), elsewhere by log and exp: 1 + x and e^x there round off a relative 1e-6 at most.
 */
const LOG1P_EXPM1 = `
fn gc_log1p(x: f32) -> f32 {
  if (abs(x) < 0.05) {
    return x * (1.0 + x * (-0.5 + x * (0.333333333 + x * (-0.25 + x * (0.2 + x * (-0.166666667 + x * 0.142857143))))));
  }
  return log(1.0 + x);
}
fn gc_expm1(x: f32) -> f32 {
  if (abs(x) < 0.05) {
    return x * (1.0 + x * (0.5 + x * (0.166666667 + x * (0.0416666667 + x * (0.00833333333 + x * (0.00138888889 + x * 0.000198412698))))));
  }
  return exp(x) - 1.0;
}
`;

/** Helper functions a source may call, in the order they must be declared (dependencies first). */
const HELPERS: [string[], string][] = [
  [['gc_inf', 'gc_nan'], SPECIAL],
  [['gc_isnan', 'gc_nonzero', 'gc_max', 'gc_min'], NAN],
  [['gc_erf'], ERF],
  [['gc_log1p', 'gc_expm1'], LOG1P_EXPM1],
  [['gc_pow'], POW],
  [['gc_floordiv', 'gc_floormod', 'gc_truncdiv'], INT_DIV],
  [['gc_f2i'], F2I],
  [['gc_mirror'], MIRROR],
];

/** The helper definitions `code` uses, with the helpers they use (a kernel compiles only what it calls). */
export function preludeFor(code: string): string {
  const used = new Set<number>();
  let text = code;
  for (let changed = true; changed; ) {
    changed = false;
    HELPERS.forEach(([names, src], i) => {
      if (!used.has(i) && names.some((n) => text.includes(`${n}(`))) {
        used.add(i);
        text += src;
        changed = true;
      }
    });
  }
  return HELPERS.filter((_, i) => used.has(i))
    .map(([, src]) => src)
    .join('');
}

/** An f32 literal WGSL accepts (`1.0`, `1e-7`; infinities and NaN through the run-time helpers). */
export function f32Lit(x: number): string {
  if (Number.isNaN(x)) return 'gc_nan()';
  if (x === Infinity) return 'gc_inf()';
  if (x === -Infinity) return '(-gc_inf())';
  const s = String(Math.fround(x));
  return /[.e]/.test(s) ? s : `${s}.0`;
}

export const u32Lit = (x: number): string => `${x >>> 0}u`;
export const i32Lit = (x: number): string => (x < 0 ? `i32(${x | 0})` : `${x | 0}i`);

/** Invocations per workgroup of the 1-D kernels. */
export const WG = 256;

/**
 * A 1-D grid covering `n` invocations of `wg` each, folded into y when x would pass the per-dimension
 * limit. `index` is the WGSL expression of the flat invocation index (from `gid`).
 */
export function grid1d(n: number, maxPerDim: number, wg = WG): { workgroups: [number, number, number]; index: string } {
  const groups = Math.max(1, Math.ceil(n / wg));
  if (groups <= maxPerDim) return { workgroups: [groups, 1, 1], index: 'gid.x' };
  const x = maxPerDim;
  const y = Math.ceil(groups / x);
  return { workgroups: [x, y, 1], index: `(gid.x + gid.y * ${u32Lit(x * wg)})` };
}

/**
 * The dispatch of a 1-D kernel: one invocation per index below `n` on `grid1d`'s grid of `WG`-wide
 * workgroups, each naming its index `index` and returning before `body` when it lies past the end
 * (the last workgroup, and a y-folded grid, overhang). `decls` (constants, structs, helper fns) goes
 * before the entry point. The many element-per-thread kernels build their entry point here, so the
 * grid folding and the bounds check are written once.
 */
export function flatDispatch(spec: {
  n: number;
  maxPerDim: number;
  bindings: WgslBinding[];
  body: string;
  decls?: string;
  index?: string;
  /** Threads per workgroup (default WG); the recurrent kernels use narrower ones. */
  workgroupSize?: number;
}): WgslDispatch {
  const size = spec.workgroupSize ?? WG;
  const grid = grid1d(spec.n, spec.maxPerDim, size);
  const i = spec.index ?? 'i';
  return {
    bindings: spec.bindings,
    body: `${spec.decls ?? ''}
@compute @workgroup_size(${size})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ${i} = ${grid.index};
  if (${i} >= ${u32Lit(spec.n)}) { return; }
  ${spec.body}
}`,
    workgroups: grid.workgroups,
  };
}

/**
 * Per-input broadcast strides over a merged form of the output shape: adjacent dimensions merge when
 * every input is contiguous (or broadcast) across them, so `[N, C] + [C]` indexes as one modulo.
 */
export function collapseBroadcast(outShape: number[], inShapes: number[][]): { shape: number[]; strides: number[][] } {
  const rank = outShape.length;
  const strides = inShapes.map((s) => {
    const own: number[] = new Array(s.length);
    let acc = 1;
    for (let d = s.length - 1; d >= 0; d--) {
      own[d] = acc;
      acc *= s[d];
    }
    const offset = rank - s.length;
    return outShape.map((_, d) => (d < offset || s[d - offset] === 1 ? 0 : own[d - offset]));
  });
  const shape: number[] = [];
  const merged: number[][] = inShapes.map(() => []);
  for (let d = 0; d < rank; d++) {
    if (outShape[d] === 1) continue;
    const last = shape.length - 1;
    const canMerge =
      last >= 0 && strides.every((st, k) => merged[k][last] === st[d] * outShape[d] || (merged[k][last] === 0 && st[d] === 0));
    if (canMerge) {
      shape[last] *= outShape[d];
      strides.forEach((st, k) => (merged[k][last] = st[d]));
    } else {
      shape.push(outShape[d]);
      strides.forEach((st, k) => merged[k].push(st[d]));
    }
  }
  return { shape, strides: merged };
}

/** WGSL expression of an input's element index for output flat index `i` (after collapseBroadcast). */
export function broadcastIndex(i: string, shape: number[], strides: number[]): string {
  const rank = shape.length;
  if (strides.every((s) => s === 0)) return '0u';
  // contiguous with the output: the same flat index
  let contiguous = true;
  let acc = 1;
  for (let d = rank - 1; d >= 0; d--) {
    if (strides[d] !== acc) contiguous = false;
    acc *= shape[d];
  }
  if (contiguous) return i;
  const terms: string[] = [];
  let outStride = 1;
  for (let d = rank - 1; d >= 0; d--) {
    if (strides[d] !== 0) {
      const coord = d === 0 ? (outStride === 1 ? i : `(${i} / ${u32Lit(outStride)})`) : outStride === 1 ? `(${i} % ${u32Lit(shape[d])})` : `((${i} / ${u32Lit(outStride)}) % ${u32Lit(shape[d])})`;
      terms.push(strides[d] === 1 ? coord : `${coord} * ${u32Lit(strides[d])}`);
    }
    outStride *= shape[d];
  }
  return terms.join(' + ');
}

/** WGSL statements decomposing flat index `i` into coordinates `names[d]` of `shape` (row-major). */
export function unravel(i: string, shape: number[], names: string[]): string {
  const lines: string[] = [];
  let stride = 1;
  const strides: number[] = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape[d];
  }
  for (let d = 0; d < shape.length; d++) {
    const q = strides[d] === 1 ? i : `(${i} / ${u32Lit(strides[d])})`;
    lines.push(`let ${names[d]} = ${d === 0 ? q : `${q} % ${u32Lit(shape[d])}`};`);
  }
  return lines.join('\n  ');
}
