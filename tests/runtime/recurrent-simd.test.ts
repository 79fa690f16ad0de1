import { Graph, Session, TensorValue, ops, setSimdKernels, tensor } from 'graphc';
import { unrollRecurrent } from '../../packages/graph/src/gradients/recurrent';
import type { RecurrentOp } from '../../packages/graph/src/gradients/recurrent';
import { packMatrixB } from '../../packages/runtime/src/backends/cpu/gemm';
import { simdCell } from '../../packages/runtime/src/backends/cpu/kernels/nn/recurrent-simd';
import { recurrentShapes, values } from '../passes/autodiff/helpers';

/**
 * float32 lstm, gru and rnn cells on WebAssembly SIMD (recurrent-simd.ts, wasm-vector-math.ts):
 * the activations' polynomials against double-precision Math, and whole ops against the unrolled
 * graph in float64, with the JavaScript cells alongside.
 */

afterEach(() => setSimdKernels(true));

/** act(x) for every x through an rnn with input 1, hidden 4, W all ones, R = 0, no bias: one step, an entry per x (its four outputs alike). */
async function throughRnn(xs: number[], activation: string, alpha: number, beta: number, clip?: number): Promise<number[]> {
  const batch = xs.length;
  const g = new Graph();
  const x = g.placeholder('float32', [1, batch, 1], 'x');
  const w = g.constant(tensor(new Float32Array(4).fill(1), [1, 4, 1]));
  const r = g.constant(tensor(new Float32Array(16), [1, 4, 4]));
  const attrs = { inputs: ['x', 'w', 'r'], hiddenSize: 4, activations: [activation], activationAlpha: [alpha], activationBeta: [beta], ...(clip ? { clip } : {}) };
  const y = g.addNode('rnn', [x, w, r], attrs).output(0);
  const [out] = await new Session(g).run([y], { x: tensor(Float32Array.from(xs), [1, batch, 1]) });
  const got = xs.map((_, i) => out.data[4 * i]);
  // the four hidden units computed the same value
  expect(Array.from(out.data).every((v, i) => Object.is(v, got[i >> 2]))).toBe(true);
  return got;
}

/** The activations in double precision. */
const REFERENCE: Record<string, (x: number, alpha: number, beta: number) => number> = {
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Tanh: (x) => Math.tanh(x),
  Relu: (x) => (x > 0 ? x : 0),
  Affine: (x, a, b) => a * x + b,
  LeakyRelu: (x, a) => (x >= 0 ? x : a * x),
  ThresholdedRelu: (x, a) => (x > a ? x : 0),
  ScaledTanh: (x, a, b) => a * Math.tanh(b * x),
  HardSigmoid: (x, a, b) => Math.max(0, Math.min(1, a * x + b)),
  Elu: (x, a) => (x >= 0 ? x : a * (Math.exp(x) - 1)),
  Softsign: (x) => x / (1 + Math.abs(x)),
};

/** A grid over [-30, 30], denser near 0 and around tanh's switch at 0.625, as float32 values. */
function grid(): number[] {
  const xs: number[] = [];
  for (let i = -3000; i <= 3000; i++) xs.push(i / 100);
  for (let i = -200; i <= 200; i++) xs.push(0.625 + i * 1e-5, -0.625 + i * 1e-5, i * 1e-7);
  xs.push(1e-30, -1e-30, 1e-38, 0, -0, 80, -80, 87, -87, 88.5, -88.5, 100, -100);
  return Array.from(Float32Array.from(xs));
}

describe('the SIMD activations', () => {
  const xs = grid();
  test.each([
    ['Sigmoid', 0, 0],
    ['Tanh', 0, 0],
    ['Relu', 0, 0],
    ['Affine', 0.7, -0.2],
    ['LeakyRelu', 0.03, 0],
    ['ThresholdedRelu', 0.4, 0],
    ['ScaledTanh', 1.3, 0.8],
    ['HardSigmoid', 0.3, 0.45],
    ['Elu', 0.6, 0],
    ['Softsign', 0, 0],
  ] as const)('%s: within 4 float32 ulps of double precision', async (name, alpha, beta) => {
    const got = await throughRnn(xs, name, alpha, beta);
    const [a, b] = [Math.fround(alpha), Math.fround(beta)];
    xs.forEach((x, i) => {
      const want = REFERENCE[name](x, a, b);
      // the scale an ulp is taken of: the value, or what a float32 sum rounds it against where the
      // terms cancel (a * x + b; e^x - 1 near 0), and no finer than float32's smallest normal
      let scale = Math.abs(want);
      if (name === 'Affine' || name === 'HardSigmoid') scale = Math.max(scale, Math.abs(a * x), Math.abs(b));
      if (name === 'Elu' && x < 0) scale = Math.max(scale, a);
      // below -87.3 e^x stops at 2^-126 (1.2e-38) instead of going subnormal
      const allowed = Math.max(4 * scale * 2 ** -23, 1.2e-38);
      if (!(Math.abs(got[i] - want) <= allowed)) throw new Error(`${name}(${x}) = ${got[i]}, want ${want} (allowed error ${allowed})`);
    });
  });

  test('NaN stays NaN (relu and thresholdedRelu give 0, as their JavaScript forms do); infinities saturate', async () => {
    const specials = [NaN, Infinity, -Infinity, NaN];
    const sig = await throughRnn(specials, 'Sigmoid', 0, 0);
    expect(sig).toEqual([NaN, 1, expect.any(Number), NaN]);
    expect(sig[2]).toBeLessThan(1e-37);
    expect(await throughRnn(specials, 'Tanh', 0, 0)).toEqual([NaN, 1, -1, NaN]);
    expect(await throughRnn(specials, 'Relu', 0, 0)).toEqual([0, Infinity, 0, 0]);
    expect(await throughRnn(specials, 'ThresholdedRelu', 1, 0)).toEqual([0, Infinity, 0, 0]);
    expect(await throughRnn(specials, 'HardSigmoid', 0.2, 0.5)).toEqual([NaN, 1, 0, NaN]);
  });

  test('clip bounds the argument, NaN kept', async () => {
    expect(await throughRnn([-5, 5, 0.25, NaN], 'Affine', 1, 0, 2)).toEqual([-2, 2, 0.25, NaN]);
  });
});

/** One whole-op case: float32 inputs, run with the SIMD cells and without, against the unrolled float64 graph. */
interface OpCase {
  op: RecurrentOp;
  attrs: Record<string, unknown>;
  names: string[];
  hidden: number;
}

const [SEQ, BATCH, INPUT] = [5, 4, 6];

async function runOp(c: OpCase, simd: boolean): Promise<{ got: TensorValue[]; want: TensorValue[] }> {
  expect(setSimdKernels(simd)).toBe(simd);
  const shapes = recurrentShapes(c.op, c.attrs, SEQ, BATCH, INPUT, c.hidden);
  const g = new Graph({ makeDefault: false });
  const feeds: Record<string, TensorValue> = {};
  const inputs = c.names.map((n, i) => {
    if (n === 'sequenceLens') {
      feeds[n] = tensor([5, 2, 0, 4], [BATCH], 'int32');
      return g.placeholder('int32', [BATCH], n);
    }
    feeds[n] = values(shapes[n], 60 + i, n === 'x' ? -2 : -0.6, n === 'x' ? 2 : 0.6);
    return ops.cast(g.placeholder('float64', shapes[n], n), 'float32');
  });
  const attrs = { hiddenSize: c.hidden, ...c.attrs, inputs: c.names };
  const kernel = g.addNode(c.op, inputs, attrs).outputTensors;
  const unrolled = unrollRecurrent(c.op, inputs.map((t) => (t.dtype === 'float32' ? ops.cast(t, 'float64') : t)), attrs);
  const session = new Session(g);
  const [got, want] = [await session.run(kernel, feeds), await session.run(unrolled, feeds)];
  session.close();
  return { got, want };
}

const ALL = ['x', 'w', 'r', 'b', 'sequenceLens', 'initialH'];
const OP_CASES: [string, OpCase][] = [
  ['lstm forward', { op: 'lstm', attrs: {}, names: ['x', 'w', 'r', 'b'], hidden: 8 }],
  ['lstm bidirectional, lengths, initial states, peepholes', { op: 'lstm', attrs: { direction: 'bidirectional' }, names: [...ALL, 'initialC', 'p'], hidden: 12 }],
  ['lstm reverse, layout 1, clip, inputForget', { op: 'lstm', attrs: { direction: 'reverse', layout: 1, clip: 0.8, inputForget: true }, names: [...ALL, 'initialC', 'p'], hidden: 8 }],
  ['lstm, activations per direction', { op: 'lstm', attrs: { direction: 'bidirectional', activations: ['HardSigmoid', 'Elu', 'Softsign', 'Sigmoid', 'ScaledTanh', 'LeakyRelu'], activationAlpha: [0.3, 0.7, 1.1, 0.05], activationBeta: [0.45, 0.9] }, names: ['x', 'w', 'r', 'b'], hidden: 4 }],
  ['gru forward', { op: 'gru', attrs: {}, names: ['x', 'w', 'r', 'b'], hidden: 8 }],
  ['gru bidirectional, lengths, initial state, no bias', { op: 'gru', attrs: { direction: 'bidirectional' }, names: ALL.filter((n) => n !== 'b'), hidden: 12 }],
  ['gru layout 1, clip', { op: 'gru', attrs: { layout: 1, clip: 0.9 }, names: ALL, hidden: 8 }],
  ['gru linearBeforeReset, reverse, lengths', { op: 'gru', attrs: { linearBeforeReset: true, direction: 'reverse' }, names: ALL, hidden: 8 }],
  ['gru linearBeforeReset, bidirectional, layout 1, no bias', { op: 'gru', attrs: { linearBeforeReset: true, direction: 'bidirectional', layout: 1 }, names: ALL.filter((n) => n !== 'b'), hidden: 12 }],
  ['rnn forward', { op: 'rnn', attrs: {}, names: ['x', 'w', 'r', 'b'], hidden: 8 }],
  ['rnn bidirectional, relu and affine, lengths', { op: 'rnn', attrs: { direction: 'bidirectional', activations: ['Relu', 'Affine'], activationAlpha: [0.7], activationBeta: [0.2] }, names: ALL, hidden: 16 }],
];

describe('lstm, gru and rnn with SIMD cells', () => {
  test.each(OP_CASES)('%s: the SIMD and JavaScript cells both match float64 within 2e-6', async (_label, c) => {
    const simd = await runOp(c, true);
    const js = await runOp(c, false);
    for (const run of [simd, js]) {
      run.got.forEach((t, k) => {
        expect(t.dtype).toBe('float32');
        const diff = Math.max(...Array.from(t.data, (v, j) => Math.abs(v - run.want[k].data[j])));
        expect(diff).toBeLessThan(2e-6);
      });
    }
    // the SIMD cells ran: float32 states and polynomials leave other last bits than float64 states and Math
    expect(simd.got.some((t, k) => t.data.some((v, j) => v !== js.got[k].data[j]))).toBe(true);
    // every output carries state (nothing stayed zero by mistake)
    for (const t of simd.got) expect(Array.from(t.data).some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  test.each([
    ['hidden 6 (not whole vectors)', { op: 'lstm', attrs: {}, names: ['x', 'w', 'r', 'b'], hidden: 6 }],
    ['a Softplus activation', { op: 'rnn', attrs: { activations: ['Softplus'] }, names: ['x', 'w', 'r', 'b'], hidden: 8 }],
  ] as [string, OpCase][])('%s keeps the JavaScript cell: the same bits with SIMD on or off', async (_label, c) => {
    const simd = await runOp(c, true);
    const js = await runOp(c, false);
    simd.got.forEach((t, k) => expect(Array.from(t.data)).toEqual(Array.from(js.got[k].data)));
  });

  test('simdCell applies to whole vectors and activations with SIMD forms only', () => {
    const packed = packMatrixB(4, 16, { data: new Float32Array(64), offset: 0, rowStride: 16, colStride: 1 });
    const slots = (names: string[]) => [names.map((name) => ({ name: name.toLowerCase(), alpha: 0, beta: 0 }))];
    expect(simdCell({ kind: 'lstm', activations: slots(['Sigmoid', 'Tanh', 'Tanh']), clip: Infinity }, 0, 3, 4, packed)).not.toBeNull();
    expect(simdCell({ kind: 'rnn', activations: slots(['Softplus']), clip: Infinity }, 0, 3, 4, packed)).toBeNull();
    expect(simdCell({ kind: 'rnn', activations: slots(['Tanh']), clip: Infinity }, 0, 3, 6, packed)).toBeNull();
  });
});
