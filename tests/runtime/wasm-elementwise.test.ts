import { erf, getOpDef } from '@graphc/graph';
import { ElementwiseProgram, runElementwise, setSimdKernels } from '@graphc/runtime';
import { runElementwiseSimd } from '../../packages/runtime/src/backends/cpu/wasm-elementwise';
import { sumRowsSimd } from '../../packages/runtime/src/backends/cpu/wasm-reduce';

/**
 * The WebAssembly SIMD elementwise path computes float32 results bit for bit equal to the
 * JavaScript loop's (each statement in double, rounded with Math.fround): for every expression it
 * takes, over ordinary values, huge and tiny ones, subnormals, signed zeros, infinities and NaN, with
 * scalar inputs, a length that is not a multiple of 4 and more than one chunk, an output that
 * overwrites its input, and stored further results.
 */

const SPECIAL = [0, -0, 1, -1, 0.5, 3, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, 1e-20, 7e37];

function values(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, (_, i) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    if (i % 7 === 3) return SPECIAL[s % SPECIAL.length];
    return (s / 2 ** 32 - 0.5) * 10 ** ((s % 13) - 6);
  });
}

/**
 * Runs `program` both ways on copies of `inputs`; returns the outputs and the inputs after (stores).
 * `pattern` (and `row`, a row input's length) is how runElementwise sees the inputs: the program
 * must have a SIMD module for it, so a module that fails to assemble or validate fails the test
 * instead of quietly comparing the JavaScript loop with itself.
 */
function bothWays(program: ElementwiseProgram, inputs: (Float32Array | Uint8Array)[], shapes: number[][], outShape: number[], inPlace = false, pattern?: string, row = 0) {
  if (pattern) {
    const probe = inputs.map((d) => d.slice());
    expect(runElementwiseSimd(program, pattern, probe, new Float32Array(outShape.reduce((a, b) => a * b, 1)), row)).toBe(true);
  }
  const results = [true, false].map((simd) => {
    expect(setSimdKernels(simd)).toBe(simd);
    const ins = inputs.map((d) => d.slice());
    const out = inPlace ? (ins[0] as Float32Array) : new Float32Array(outShape.reduce((a, b) => a * b, 1));
    runElementwise(program, ins.map((data, k) => ({ data, shape: shapes[k] })), outShape, out);
    return { out, ins };
  });
  setSimdKernels(true);
  return results;
}

const bits = (a: ArrayLike<number>): number[] => Array.from(a, (v) => (Number.isNaN(v) ? NaN : v));

describe('WebAssembly SIMD elementwise', () => {
  const n = 8192 * 2 + 13;
  const binary = ['a + b', 'a - b', 'a * b', 'a / b', 'H.reluGrad(a, b)', '(a > b || a !== a ? a : b)', '(a < b || a !== a ? a : b)'];
  const unary = ['a * a', 'Math.sqrt(a)', 'Math.abs(a)', '-a', 'H.relu(a)', '(a > 0 ? (a < 6 ? a : 6) : 0)'];
  test.each([...binary, ...unary])('%s equals the JavaScript loop bit for bit', (js) => {
    const isBinary = binary.includes(js);
    const program: ElementwiseProgram = {
      inputDTypes: isBinary ? ['float32', 'float32'] : ['float32'],
      statements: [{ js, args: isBinary ? [{ input: 0 }, { input: 1 }] : [{ input: 0 }], dtype: 'float32' }],
    };
    // the second input repeats the first's values in places, so ties (+0 against -0 too) occur
    const first = values(n, 1);
    const second = values(n, 2).map((v, i) => (i % 5 === 0 ? first[i] : i % 11 === 0 ? -first[i] : v));
    const inputs = isBinary ? [first, second] : [values(n, 3)];
    const [simd, js0] = bothWays(program, inputs, inputs.map(() => [n]), [n], false, isBinary ? 'FF' : 'F');
    expect(bits(simd.out)).toEqual(bits(js0.out));
    expect(simd.out.map((v, i) => (Object.is(v, -0) ? 1 : 0) - (Object.is(js0.out[i], -0) ? 1 : 0)).every((d) => d === 0)).toBe(true);
  });

  test.each([
    ['full-size', 'FSFS', [40, 256]],
    ['one row repeated (a causal mask over the heads)', 'FSRS', [256]],
  ])('a where over a %s bool condition (an attention mask) equals the JavaScript loop bit for bit', (_label, pattern, maskShape) => {
    const program: ElementwiseProgram = {
      inputDTypes: ['float32', 'float32', 'bool', 'float32'],
      statements: [
        { js: 'a * b', args: [{ input: 0 }, { input: 1 }], dtype: 'float32' },
        { js: '(a ? b : c)', args: [{ input: 2 }, { step: 0 }, { input: 3 }], dtype: 'float32' },
      ],
    };
    const size = 40 * 256;
    const mask = Uint8Array.from({ length: maskShape.reduce((a, b) => a * b, 1) }, (_, i) => ((i * 7) % 5 < 3 ? 1 : 0));
    const inputs = [values(size, 7), Float32Array.of(0.125), mask, Float32Array.of(-3.4028234663852886e38)];
    const [simd, js0] = bothWays(program, inputs, [[40, 256], [], maskShape, []], [40, 256], false, pattern, pattern === 'FSRS' ? 256 : 0);
    expect(bits(simd.out)).toEqual(bits(js0.out));
    expect(simd.out.some((v) => v === -3.4028234663852886e38) && simd.out.some((v) => v !== -3.4028234663852886e38)).toBe(true);
  });

  test('a bool input read otherwise than as a where\'s condition keeps the JavaScript loop', () => {
    const program: ElementwiseProgram = {
      inputDTypes: ['bool', 'float32'],
      statements: [{ js: '(a ? b : c)', args: [{ input: 1 }, { input: 1 }, { input: 0 }], dtype: 'float32' }],
    };
    expect(runElementwiseSimd(program, 'FF', [new Uint8Array(2048), new Float32Array(2048)], new Float32Array(2048))).toBe(false);
  });

  test.each([
    ['full-size bounds', 'FFF'],
    ['scalar bounds (relu6 as ONNX Clip writes it)', 'FSS'],
  ])('clip with %s equals the JavaScript loop bit for bit, NaN and a lower bound above the upper included', (_label, pattern) => {
    const program: ElementwiseProgram = {
      inputDTypes: ['float32', 'float32', 'float32'],
      statements: [{ js: '(a < b ? b : a > c ? c : a)', args: [{ input: 0 }, { input: 1 }, { input: 2 }], dtype: 'float32' }],
    };
    const x = values(n, 4);
    const bound = (seed: number, scalar: number) => (pattern === 'FSS' ? Float32Array.of(scalar) : values(n, seed).map((v, i) => (i % 9 === 0 ? x[i] : v)));
    const inputs = [x, bound(5, 0), bound(6, 6)];
    const shapes = inputs.map((d) => (d.length === 1 ? [] : [n]));
    const [simd, js0] = bothWays(program, inputs, shapes, [n], false, pattern);
    expect(bits(simd.out)).toEqual(bits(js0.out));
    if (pattern === 'FFF') expect(inputs[1].some((lo, i) => lo > inputs[2][i])).toBe(true);
  });

  test("Adam's chained update: scalars, rounded intermediates, stores into two inputs, the output over input 0", () => {
    // w - lr * (m' / c1) / (sqrt(v' / c2) + eps), m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2
    const program: ElementwiseProgram = {
      inputDTypes: Array(11).fill('float32'),
      statements: [
        { js: 'a * b', args: [{ input: 1 }, { input: 2 }], dtype: 'float32' },
        { js: 'a * b', args: [{ input: 3 }, { input: 4 }], dtype: 'float32' },
        { js: 'a + b', args: [{ step: 0 }, { step: 1 }], dtype: 'float32' },
        { js: 'a * b', args: [{ input: 5 }, { input: 6 }], dtype: 'float32' },
        { js: 'a * a', args: [{ input: 3 }], dtype: 'float32' },
        { js: 'a * b', args: [{ step: 4 }, { input: 7 }], dtype: 'float32' },
        { js: 'a + b', args: [{ step: 3 }, { step: 5 }], dtype: 'float32' },
        { js: 'a / b', args: [{ step: 2 }, { input: 8 }], dtype: 'float32' },
        { js: 'a / b', args: [{ step: 6 }, { input: 9 }], dtype: 'float32' },
        { js: 'Math.sqrt(a)', args: [{ step: 8 }], dtype: 'float32' },
        { js: 'a + b', args: [{ step: 9 }, { input: 10 }], dtype: 'float32' },
        { js: 'a / b', args: [{ step: 7 }, { step: 10 }], dtype: 'float32' },
        { js: 'a * b', args: [{ step: 11 }, { input: 7 }], dtype: 'float32' },
        { js: 'a - b', args: [{ input: 0 }, { step: 12 }], dtype: 'float32' },
      ],
      stores: [
        { input: 1, step: 2 },
        { input: 5, step: 6 },
      ],
    };
    const s = (v: number) => Float32Array.of(v);
    const v = values(n, 9).map(Math.abs);
    const inputs = [values(n, 5), values(n, 6), s(0.9), values(n, 7), s(0.1), v, s(0.999), s(0.001), s(0.271), s(0.00299), s(1e-8)];
    const shapes = inputs.map((d) => (d.length === 1 ? [] : [n]));
    const [simd, js0] = bothWays(program, inputs, shapes, [n], true, 'FFSFSFSSSSS');
    expect(bits(simd.out)).toEqual(bits(js0.out));
    expect(bits(simd.ins[1])).toEqual(bits(js0.ins[1]));
    expect(bits(simd.ins[5])).toEqual(bits(js0.ins[5]));
  });

  test.each([16, 12, 6, 8192 + 4])('a bias row of %i over [rows, C] and a relu (an epilogue), with a scalar scale', (c) => {
    const program: ElementwiseProgram = {
      inputDTypes: ['float32', 'float32', 'float32'],
      statements: [
        { js: 'a * b', args: [{ input: 0 }, { input: 2 }], dtype: 'float32' },
        { js: 'a + b', args: [{ step: 0 }, { input: 1 }], dtype: 'float32' },
        { js: 'H.relu(a)', args: [{ step: 1 }], dtype: 'float32' },
      ],
    };
    const rows = Math.ceil(20000 / c);
    const inputs = [values(rows * c, 11), values(c, 12), Float32Array.of(1.5)];
    // a row whose length is not whole vectors keeps the JavaScript loop
    const [simd, js0] = bothWays(program, inputs, [[rows, c], [c], []], [rows, c], true, c % 4 === 0 ? 'FRS' : undefined, c);
    expect(bits(simd.out)).toEqual(bits(js0.out));
  });

  // sigmoid, tanh and gelu: polynomials, not the loop's bits. sigmoid and tanh within 4 float32 ulps
  // of double precision; gelu within its erf's 3.3e-7 (or the tanh form's) times x, absolutely
  const ulps = (_x: number, want: number): number => 4 * Math.abs(want) * 2 ** -23;
  const geluBound = (x: number, want: number): number => Math.max(ulps(x, want), 4e-7 * Math.abs(x));
  test.each([
    ['H.sigmoid(a)', (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))), ulps],
    ['Math.tanh(a)', Math.tanh, ulps],
    ['Math.exp(a)', Math.exp, ulps],
    ['H.erf(a)', erf, (x: number, want: number) => Math.max(ulps(x, want), 3.5e-7)],
    ['(0.5 * a * (1 + H.erf(a * 0.7071067811865476)))', (x: number) => 0.5 * x * (1 + erf(x * Math.SQRT1_2)), geluBound],
    ['(0.5 * a * (1 + Math.tanh(0.7978845608028654 * (a + 0.044715 * a * a * a))))', (x: number) => 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))), geluBound],
    // leakyRelu, hardSigmoid and hardSwish round their constant and each step to float32 (the loop
    // rounds once): near hardSigmoid's and hardSwish's zero crossings (a = -2.5, a = -3) the sum
    // cancels, so the bound there is absolute, a few float32 ulps of the terms
    ['(a > 0 ? a : 0.1 * a)', (x: number) => (x > 0 ? x : 0.1 * x), ulps],
    ['Math.max(0, Math.min(1, 0.2 * a + 0.5))', (x: number) => Math.max(0, Math.min(1, 0.2 * x + 0.5)), (x: number, want: number) => Math.max(ulps(x, want), 2 ** -22 * (Math.abs(0.2 * x) + 0.5))],
    ['(a * Math.max(0, Math.min(1, a / 6 + 0.5)))', (x: number) => x * Math.max(0, Math.min(1, x / 6 + 0.5)), (x: number, want: number) => Math.max(ulps(x, want), 2 ** -22 * Math.abs(x) * (Math.abs(x / 6) + 0.5))],
  ] as const)('%s: close to double precision, in a fused chain, NaN kept and infinities saturating', (js, exact, bound) => {
    // a chain: f(a) * b + a, b = 1, so f(a)'s error shows at every magnitude a takes
    const program: ElementwiseProgram = {
      inputDTypes: ['float32', 'float32'],
      statements: [
        { js, args: [{ input: 0 }], dtype: 'float32' },
        { js: 'a * b', args: [{ step: 0 }, { input: 1 }], dtype: 'float32' },
      ],
    };
    // [-40, 40], then e^x's edges: its overflow past 88.72, its subnormals below -87.34
    const grid = [...Array.from({ length: 20001 }, (_, i) => (i - 10000) / 250), 88.5, 88.7, -87.3, -87.4, -100, 100, ...SPECIAL];
    const xs = Float32Array.from({ length: Math.ceil(grid.length / 4) * 4 + 8192 }, (_, i) => grid[i % grid.length]);
    const ones = new Float32Array(xs.length).fill(1);
    const [simd, js0] = bothWays(program, [xs, ones], [[xs.length], [xs.length]], [xs.length], false, 'FF');
    xs.forEach((x, i) => {
      // a value past float32's range is float32's infinity (e^100)
      const want = Number.isFinite(Math.fround(exact(x))) ? exact(x) : Math.fround(exact(x));
      const got = simd.out[i];
      if (Number.isNaN(want) || !Number.isFinite(want)) {
        // NaN stays NaN; an infinite value (gelu(+Infinity)) is the same infinity; gelu(-Infinity),
        // NaN in double precision (-Infinity * 0), is NaN or -0 here (erf saturates at -1 within an ulp)
        const geluOfMinusInfinity = js.startsWith('(0.5') && x === -Infinity;
        if (!(Object.is(got, want) || (Number.isNaN(want) && Number.isNaN(got)) || (geluOfMinusInfinity && (Number.isNaN(got) || got === 0)))) throw new Error(`${js} at ${x} gave ${got}, want ${want}`);
        return;
      }
      // below -87.3 e^x stops at float32's smallest normal (sigmoid 1.2e-38 where it is ~0)
      const allowed = Math.max(bound(x, want), 1.2e-38);
      if (!(Math.abs(got - want) <= allowed)) throw new Error(`${js} at ${x}: ${got}, want ${want}`);
      // the JavaScript loop: the double-precision value rounded to float32
      if (js0.out[i] !== Math.fround(want)) throw new Error(`${js} at ${x}: the loop gave ${js0.out[i]}`);
    });
    const negativeZero = xs.findIndex((v) => Object.is(v, -0));
    const atNegativeZero: Record<string, number> = { 'Math.tanh(a)': -0, 'H.sigmoid(a)': 0.5, 'Math.exp(a)': 1, 'H.erf(a)': -0 };
    if (js in atNegativeZero) expect(Object.is(simd.out[negativeZero], atNegativeZero[js])).toBe(true);
  });

  // the forms are found by the ops' expression text: an op whose expression is rewritten must keep its form
  test.each([
    ['leakyRelu', { alpha: 0.01 }],
    ['leakyRelu', { alpha: 1e-7 }],
    ['hardSigmoid', { alpha: 0.25, beta: -0.3 }],
    ['hardSwish', {}],
    ...(['relu', 'relu6', 'abs', 'neg', 'sqrt', 'square', 'exp', 'sigmoid', 'tanh', 'erf'] as const).map((op) => [op, {}] as const),
    ['gelu', { approximate: false }],
    ['gelu', { approximate: true }],
    ...(['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'reluGrad', 'clip'] as const).map((op) => [op, {}] as const),
  ] as const)("the %s op's own expression (%o) has its SIMD form", (op, attrs) => {
    const def = getOpDef(op);
    const js = def.elementwise!.js(attrs, 'float32');
    const arity = def.numInputs as number;
    const program: ElementwiseProgram = {
      inputDTypes: new Array(arity).fill('float32'),
      statements: [{ js, args: Array.from({ length: arity }, (_, k) => ({ input: k })), dtype: 'float32' }],
    };
    const inputs = Array.from({ length: arity }, (_, k) => values(4096, 7 + k));
    expect(runElementwiseSimd(program, 'F'.repeat(arity), inputs, new Float32Array(4096))).toBe(true);
  });

  test('programs it has no form for, and small ones, keep the JavaScript loop (same results either way)', () => {
    const program: ElementwiseProgram = { inputDTypes: ['float32'], statements: [{ js: 'Math.sin(a)', args: [{ input: 0 }], dtype: 'float32' }] };
    const input = values(4096, 4);
    const [simd, js0] = bothWays(program, [input], [[4096]], [4096]);
    expect(bits(simd.out)).toEqual(bits(js0.out));
  });
});

describe('WebAssembly SIMD row sums (bias gradients)', () => {
  test.each([4, 16, 36])('rows of %i summed in float64 give the JavaScript loop bits, over chunks and special values', (inner) => {
    const rows = Math.ceil(70000 / inner);
    const x = values(rows * inner, 21 + inner);
    const start = Float64Array.from({ length: inner }, (_, j) => j * 0.25 - 1);
    const acc = start.slice();
    expect(sumRowsSimd(x, inner, acc)).toBe(true);
    // the kernel's JavaScript loop: each column's float64 sum, row after row
    const want = start.slice();
    for (let i = 0; i < x.length; i++) want[i % inner] += x[i];
    expect(Array.from(acc, (v) => (Number.isNaN(v) ? NaN : v))).toEqual(Array.from(want, (v) => (Number.isNaN(v) ? NaN : v)));
  });

  test('rows it does not take: a length not a multiple of 4, or too few values', () => {
    expect(sumRowsSimd(values(6000, 1), 6, new Float64Array(6))).toBe(false);
    expect(sumRowsSimd(values(64, 1), 16, new Float64Array(16))).toBe(false);
  });
});
