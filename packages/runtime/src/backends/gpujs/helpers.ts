import { Attrs, DType, getOpDef } from '@graphc/graph';

/**
 * Scalar helpers for gpu.js kernels. The CPU reference's elementwise expressions call
 * `scalar-helpers` as `H.name(...)`; a gpu.js kernel cannot call JavaScript, so each helper is
 * written again here in the subset gpu.js transpiles (to WGSL, GLSL and WebAssembly alike), as
 * source text, so no tool (coverage instrumentation, minifier) can rewrite it before gpu.js parses it.
 * Same formulas as scalar-helpers, evaluated in float32.
 */
const HELPERS: Record<string, { args: string[]; body: string }> = {
  // W. J. Cody's rational erf (CALERF), as scalar-helpers
  gc_erf: {
    args: ['x'],
    body: `
  const ax = Math.abs(x);
  if (ax <= 0.46875) {
    const t = x * x;
    const num = (((0.185777706184603153 * t + 3.1611237438705656) * t + 113.864154151050156) * t + 377.485237685302021) * t + 3209.37758913846947;
    const den = (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t + 2844.23683343917062;
    return (x * num) / den;
  }
  let r = 1.0;
  if (ax < 4.0) {
    const num = ((((((((2.15311535474403846e-8 * ax + 0.564188496988670089) * ax + 8.88314979438837594) * ax + 66.1191906371416295) * ax + 298.635138197400131) * ax + 881.95222124176909) * ax + 1712.04761263407058) * ax + 2051.07837782607147) * ax + 1230.33935479799725);
    const den = (((((((ax + 15.7449261107098347) * ax + 117.693950891312499) * ax + 537.181101862009858) * ax + 1621.38957456669019) * ax + 3290.79923573345963) * ax + 4362.61909014324716) * ax + 3439.36767414372164) * ax + 1230.33935480374942;
    r = 1.0 - (Math.exp(-ax * ax) * num) / den;
  } else if (ax < 27.0) {
    const z = 1.0 / (ax * ax);
    const num = ((((0.0163153871373020978 * z + 0.305326634961232344) * z + 0.360344899949804439) * z + 0.125781726111229246) * z + 0.0160837851487422766) * z + 0.000658749161529837803;
    const den = ((((z + 2.56852019228982242) * z + 1.87295284992346725) * z + 0.527905102951428412) * z + 0.0605183413124413191) * z + 0.00233520497626869185;
    r = 1.0 - (Math.exp(-ax * ax) / ax) * (0.5641895835477563 - (z * num) / den);
  }
  if (x < 0.0) {
    return -r;
  }
  return r;`,
  },
  // the CPU's H.relu is branch-free arithmetic; on a GPU a max is one instruction
  gc_relu: {
    args: ['x'],
    body: `
  return Math.max(x, 0.0);`,
  },
  gc_reluGrad: {
    args: ['dy', 'x'],
    body: `
  if (x > 0.0) {
    return dy;
  }
  return 0.0;`,
  },
  gc_sigmoid: {
    args: ['x'],
    body: `
  if (x >= 0.0) {
    return 1.0 / (1.0 + Math.exp(-x));
  }
  const e = Math.exp(x);
  return e / (1.0 + e);`,
  },
  // log(1 + y) and e^y - 1, accurate where 1 + y and e^y round to 1 in float32: the series to y^7
  // near 0 (as the WGSL helpers), log and exp beyond
  gc_log1p: {
    args: ['y'],
    body: `
  if (Math.abs(y) < 0.05) {
    return y * (1.0 + y * (-0.5 + y * (0.333333333 + y * (-0.25 + y * (0.2 + y * (-0.166666667 + y * 0.142857143))))));
  }
  return Math.log(1.0 + y);`,
  },
  gc_expm1: {
    args: ['y'],
    body: `
  if (Math.abs(y) < 0.05) {
    return y * (1.0 + y * (0.5 + y * (0.166666667 + y * (0.0416666667 + y * (0.00833333333 + y * (0.00138888889 + y * 0.000198412698))))));
  }
  return Math.exp(y) - 1.0;`,
  },
  gc_softplus: {
    args: ['x'],
    body: `
  if (x > 0.0) {
    return x + gc_log1p(Math.exp(-x));
  }
  return gc_log1p(Math.exp(x));`,
  },
  gc_sign: {
    args: ['x'],
    body: `
  if (x > 0.0) {
    return 1.0;
  }
  if (x < 0.0) {
    return -1.0;
  }
  return 0.0;`,
  },
  // round half to even
  gc_roundEven: {
    args: ['x'],
    body: `
  const r = Math.floor(x + 0.5);
  if (r - x === 0.5 && r - 2.0 * Math.floor(r / 2.0) !== 0.0) {
    return r - 1.0;
  }
  return r;`,
  },
  gc_floorMod: {
    args: ['a', 'b'],
    body: `
  return a - b * Math.floor(a / b);`,
  },
  gc_truncDiv: {
    args: ['a', 'b'],
    body: `
  if (b === 0.0) {
    return 0.0;
  }
  return Math.trunc(a / b);`,
  },
  gc_floorDivInt: {
    args: ['a', 'b'],
    body: `
  if (b === 0.0) {
    return 0.0;
  }
  return Math.floor(a / b);`,
  },
  // tanh saturates to +-1 in float32 well before 15; clamping keeps GPU tanh from overflowing to NaN
  gc_tanh: {
    args: ['x'],
    body: `
  return Math.tanh(Math.min(Math.max(x, -15.0), 15.0));`,
  },
  // GPU asin/acos approximations miss 1e-4 (lavapipe, GLSL): both through atan, which holds float32 accuracy
  gc_asin: {
    args: ['x'],
    body: `
  return Math.atan(x / Math.sqrt((1.0 - x) * (1.0 + x)));`,
  },
  gc_acos: {
    args: ['x'],
    body: `
  return 2.0 * Math.atan(Math.sqrt((1.0 - x) / (1.0 + x)));`,
  },
  // floor(log2(a)) for a > 0, corrected where a GPU's log2 lands a hair off an integer
  gc_exponent: {
    args: ['a'],
    body: `
  let e = Math.floor(Math.log2(a));
  if (Math.pow(2.0, e + 1.0) <= a) {
    e = e + 1.0;
  }
  if (Math.pow(2.0, e) > a) {
    e = e - 1.0;
  }
  return e;`,
  },
  // nearest IEEE binary16 value, ties to even, overflowing to infinity (scalar-helpers' roundFloat16)
  gc_roundFloat16: {
    args: ['x'],
    body: `
  const a = Math.abs(x);
  if (a === 0.0 || a !== a) {
    return x;
  }
  if (a >= 65520.0) {
    return x * 3.4028234663852886e38;
  }
  const e = Math.max(gc_exponent(a), -14.0);
  const ulp = Math.pow(2.0, e - 10.0);
  const r = gc_roundEven(a / ulp) * ulp;
  if (x < 0.0) {
    return -r;
  }
  return r;`,
  },
  // nearest bfloat16 value (8 significant bits), ties to even
  gc_roundBfloat16: {
    args: ['x'],
    body: `
  const a = Math.abs(x);
  if (a === 0.0 || a !== a) {
    return x;
  }
  const ulp = Math.pow(2.0, gc_exponent(a) - 7.0);
  const r = gc_roundEven(a / ulp) * ulp;
  if (x < 0.0) {
    return -r;
  }
  return r;`,
  },
};

/** gpu.js function definitions of the helpers `source` calls (and of those they call). */
export function helperFunctions(source: string): { source: string; settings: Record<string, unknown> }[] {
  const needed = new Set<string>();
  const visit = (text: string): void => {
    for (const name of Object.keys(HELPERS)) {
      if (!needed.has(name) && new RegExp(`\\b${name}\\(`).test(text)) {
        needed.add(name);
        visit(HELPERS[name].body);
      }
    }
  };
  visit(source);
  return [...needed].map((name) => {
    const { args, body } = HELPERS[name];
    return {
      source: `function ${name}(${args.join(', ')}) {${body}\n}`,
      settings: { argumentTypes: Object.fromEntries(args.map((a) => [a, 'Number'])), returnType: 'Number' },
    };
  });
}

/** helper of scalar-helpers (as the CPU expressions call it) -> its gpu.js form */
const HELPER_NAMES: Record<string, string> = {
  erf: 'gc_erf',
  relu: 'gc_relu',
  reluGrad: 'gc_reluGrad',
  sigmoid: 'gc_sigmoid',
  softplus: 'gc_softplus',
  sign: 'gc_sign',
  roundEven: 'gc_roundEven',
  floorMod: 'gc_floorMod',
  truncDiv: 'gc_truncDiv',
  floorDivInt: 'gc_floorDivInt',
  imul: 'Math.imul',
  roundFloat16: 'gc_roundFloat16',
  roundBfloat16: 'gc_roundBfloat16',
};

/**
 * The gpu.js form of a CPU elementwise expression (over `a`, `b`, `c`): `H.x(` calls become gpu.js
 * helper calls, and a bare operand used as a condition (`a ? ...`, `a && b`, `a || b`: bool inputs,
 * which gpu.js holds as 0/1 floats) is compared with 0, since WGSL has no float truthiness.
 */
export function toGpuJsExpr(js: string): string {
  let out = js.replace(/\bH\.(\w+)\(/g, (m, name: string) => {
    const mapped = HELPER_NAMES[name];
    if (!mapped) throw new Error(`no gpu.js form of scalar helper H.${name}`);
    return `${mapped}(`;
  });
  out = out.replace(/\bMath\.tanh\(/g, 'gc_tanh(').replace(/\bMath\.log1p\(/g, 'gc_log1p(').replace(/\bMath\.expm1\(/g, 'gc_expm1(');
  out = out.replace(/\bMath\.asin\(/g, 'gc_asin(').replace(/\bMath\.acos\(/g, 'gc_acos(');
  // NaN and infinity tests that survive translation: a WGSL compiler may fold `a !== a` to false
  // (lavapipe does), and gpu.js writes Infinity as the largest finite float, which infinity is not
  out = out.replace(/\b([abc]) !== \1\b/g, (_m, v: string) => `!(${v} <= 0.0 || ${v} > 0.0)`);
  out = out.replace(/\b([abc]) === -Infinity\b/g, (_m, v: string) => `${v} < -3.4028234663852886e38`);
  out = out.replace(/\b([abc]) === Infinity\b/g, (_m, v: string) => `${v} > 3.4028234663852886e38`);
  // a bare variable right before ?, && or || (or right after && / ||) is a truth test
  out = out.replace(/(^|[(&|?:,]\s*)([abc])(?=\s*(\?|&&|\|\|))/g, (_m, pre: string, v: string) => `${pre}(${v} !== 0)`);
  out = out.replace(/(&&|\|\|)(\s*)([abc])(?=\s*[?)&|])/g, (_m, op: string, ws: string, v: string) => `${op}${ws}(${v} !== 0)`);
  return out;
}

/** The gpu.js expression of elementwise op `op` with `attrs`, specialized to `dtype` (as the CPU's). */
export function elementwiseExpr(op: string, attrs: Attrs, dtype: DType): string {
  const def = getOpDef(op);
  if (!def.elementwise) throw new Error(`op '${op}' is not elementwise`);
  return toGpuJsExpr(def.elementwise.js(attrs, dtype));
}

/**
 * Substitutes argument expressions for `a`, `b`, `c` in an expression. Each argument is a plain name
 * (a local of the kernel), so the substitution needs no parentheses.
 */
export function bindArgs(expr: string, names: string[]): string {
  return expr.replace(/\b([abc])\b/g, (_m, v: string) => names['abc'.indexOf(v)]);
}

/** A float literal gpu.js reads as a float (an integer-valued literal would type as an integer). */
export function floatLit(x: number): string {
  if (Number.isNaN(x)) return '(0.0 / 0.0)';
  if (x === Infinity) return '3.4028234663852886e38';
  if (x === -Infinity) return '-3.4028234663852886e38';
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}
