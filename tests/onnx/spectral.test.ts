/**
 * ONNX DFT, STFT and MelWeightMatrix: transforms of known signals against hand-computed spectra,
 * the lengths known at import (constant matrices) and only at run time (matrices built by graph ops)
 * against each other, frame counts of STFT, gradients through the imported graph, and typed errors.
 */
import { FormatError, LoadedModel, Node, Session, SymbolicTensor, TensorValue, UnsupportedOpError, checkGradients, importOnnx, tensor } from 'graphc';
import { Dim, NodeSpec, buildModel } from './onnx-builder';

const FLOAT = 1;
const I32 = 6;
const I64 = 7;
const DOUBLE = 11;

type Attrs = NodeSpec['attrs'];

interface Input {
  name: string;
  value: TensorValue;
  /** Make it an initializer (known at import) instead of a graph input. */
  constant?: boolean;
  shape?: Dim[];
}

const ELEM: Record<string, number> = { float32: FLOAT, float64: DOUBLE, int32: I32, int64: I64 };

function model(op: string, inputs: (Input | null)[], attrs: Attrs = {}, outputElem = FLOAT): LoadedModel {
  const present = inputs.filter((i): i is Input => i !== null);
  return importOnnx(
    buildModel({
      inputs: present.filter((i) => !i.constant).map((i) => ({ name: i.name, elemType: ELEM[i.value.dtype], shape: i.shape ?? i.value.shape })),
      initializers: Object.fromEntries(present.filter((i) => i.constant).map((i) => [i.name, i.value])),
      outputs: [{ name: 'y', elemType: outputElem }],
      nodes: [{ op, inputs: inputs.map((i) => i?.name ?? ''), outputs: ['y'], attrs }],
    }),
    { file: `${op}.onnx` },
  );
}

async function run(m: LoadedModel, inputs: (Input | null)[]): Promise<TensorValue> {
  const feeds = Object.fromEntries(inputs.filter((i): i is Input => i !== null && !i.constant).map((i) => [i.name, i.value]));
  const s = new Session(m.graph);
  try {
    const [y] = await s.run(m.signature.outputs, feeds);
    return y;
  } finally {
    s.close();
  }
}

const runOp = async (op: string, inputs: (Input | null)[], attrs: Attrs = {}, outputElem = FLOAT) => run(model(op, inputs, attrs, outputElem), inputs);

function expectClose(actual: TensorValue, expected: number[], shape: number[], tol = 1e-5): void {
  expect(actual.shape).toEqual(shape);
  expect(actual.data.length).toBe(expected.length);
  const worst = Math.max(0, ...Array.from(actual.data, (v, i) => Math.abs(v - expected[i])));
  if (!(worst <= tol)) throw new Error(`max error ${worst} > ${tol}:\n actual   ${Array.from(actual.data).map((v) => v.toFixed(5))}\n expected ${expected.map((v) => v.toFixed(5))}`);
}

/** Reference DFT of complex rows (float64, the textbook sum), padded or truncated to `length`. */
function naiveDft(re: number[], im: number[], length: number, inverse: boolean): [number[], number[]] {
  const yr: number[] = [];
  const yi: number[] = [];
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < length; k++) {
    let sr = 0;
    let si = 0;
    for (let n = 0; n < Math.min(length, re.length); n++) {
      const a = (sign * 2 * Math.PI * k * n) / length;
      sr += re[n] * Math.cos(a) - im[n] * Math.sin(a);
      si += re[n] * Math.sin(a) + im[n] * Math.cos(a);
    }
    yr.push(inverse ? sr / length : sr);
    yi.push(inverse ? si / length : si);
  }
  return [yr, yi];
}

const interleave = (re: number[], im: number[]) => re.flatMap((r, i) => [r, im[i]]);

function seeded(count: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 4 - 2;
  });
}

describe('DFT', () => {
  const real = (xs: number[]): Input => ({ name: 'x', value: tensor(xs, [1, xs.length, 1]) });

  test('of an impulse is flat, of a shifted impulse a rotation by -2 pi k / N', async () => {
    expectClose(await runOp('DFT', [real([1, 0, 0, 0, 0, 0, 0, 0])]), [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0], [1, 8, 2], 0);
    // x = delta(n - 1), N = 4: y_k = exp(-i pi k / 2) = 1, -i, -1, i
    expectClose(await runOp('DFT', [real([0, 1, 0, 0])]), [1, 0, 0, -1, -1, 0, 0, 1], [1, 4, 2], 0);
    // exactly so with the length known only at run time too (matrices built by graph ops)
    const fed: Input = { name: 'len', value: tensor([4], [], 'int64') };
    expectClose(await runOp('DFT', [real([0, 1, 0, 0]), fed]), [1, 0, 0, -1, -1, 0, 0, 1], [1, 4, 2], 0);
  });

  test('of a constant is N at bin 0 and zero elsewhere', async () => {
    expectClose(await runOp('DFT', [real([2, 2, 2, 2, 2, 2])]), [12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 6, 2], 1e-5);
  });

  test('of a cosine at bin 2 is N/2 at bins 2 and N - 2; onesided keeps bins 0..N/2', async () => {
    const x = real(Array.from({ length: 8 }, (_, n) => Math.cos((2 * Math.PI * 2 * n) / 8)));
    const full = [0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0];
    expectClose(await runOp('DFT', [x]), full, [1, 8, 2], 1e-5);
    expectClose(await runOp('DFT', [x], { onesided: 1 }), full.slice(0, 10), [1, 5, 2], 1e-5);
    // a sine at bin 1: -i N/2 at bin 1, +i N/2 at bin N - 1
    const sine = real(Array.from({ length: 8 }, (_, n) => Math.sin((2 * Math.PI * n) / 8)));
    expectClose(await runOp('DFT', [sine]), [0, 0, 0, -4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4], [1, 8, 2], 1e-5);
  });

  test('inverse of N at bin 0 is all ones; inverse of the cosine spectrum is the cosine', async () => {
    const spike: Input = { name: 'x', value: tensor([5, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 5, 2]) };
    expectClose(await runOp('DFT', [spike], { inverse: 1 }), [1, 0, 1, 0, 1, 0, 1, 0, 1, 0], [1, 5, 2], 1e-6);
    const spectrum: Input = { name: 'x', value: tensor([0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0], [1, 8, 2]) };
    const cosine = Array.from({ length: 8 }, (_, n) => [Math.cos((2 * Math.PI * 2 * n) / 8), 0]).flat();
    expectClose(await runOp('DFT', [spectrum], { inverse: 1 }), cosine, [1, 8, 2], 1e-6);
  });

  test('along every axis of a complex batch matches the textbook sum', async () => {
    const shape = [2, 3, 5, 2];
    const data = seeded(60, 7);
    const x: Input = { name: 'x', value: tensor(data, shape, 'float64') };
    for (const axis of [0, 1, 2, -2, -3]) {
      const y = await runOp('DFT', [x], { axis }, DOUBLE);
      const a = axis < 0 ? axis + 4 : axis;
      const expected = new Array(60).fill(0);
      const strides = [30, 10, 2, 1];
      // every line along `a`: transform and scatter back
      for (let base = 0; base < 60; base += 2) {
        const idx = [Math.floor(base / 30), Math.floor(base / 10) % 3, Math.floor(base / 2) % 5];
        if (idx[a] !== 0) continue;
        const at = (m: number) => base + m * strides[a];
        const [yr, yi] = naiveDft(
          Array.from({ length: shape[a] }, (_, m) => data[at(m)]),
          Array.from({ length: shape[a] }, (_, m) => data[at(m) + 1]),
          shape[a],
          false,
        );
        yr.forEach((v, m) => {
          expected[at(m)] = v;
          expected[at(m) + 1] = yi[m];
        });
      }
      expectClose(y, expected, shape, 1e-12);
    }
  });

  test('inverse(DFT(x)) == x, for real and complex x, along an inner axis', async () => {
    for (const [shape, elem] of [
      [[3, 7, 4, 2], DOUBLE],
      [[2, 6, 3, 1], FLOAT],
    ] as [number[], number][]) {
      const dtype = elem === DOUBLE ? 'float64' : 'float32';
      const data = seeded(shape.reduce((a, b) => a * b), 3);
      const x = tensor(data, shape, dtype);
      const m = importOnnx(
        buildModel({
          inputs: [{ name: 'x', elemType: elem, shape }],
          outputs: [{ name: 'z', elemType: elem }],
          nodes: [
            { op: 'DFT', inputs: ['x'], outputs: ['y'], attrs: { axis: 1 } },
            { op: 'DFT', inputs: ['y'], outputs: ['z'], attrs: { axis: 1, inverse: 1 } },
          ],
        }),
      );
      const z = await run(m, [{ name: 'x', value: x }]);
      const expected = shape[3] === 2 ? data : data.flatMap((v) => [v, 0]);
      expectClose(z, expected, [...shape.slice(0, 3), 2], elem === DOUBLE ? 1e-12 : 1e-5);
    }
  });

  test('dft_length pads with zeros or truncates, the same known at import or only at run time', async () => {
    const xs = seeded(5, 11);
    const zeros = new Array(5).fill(0);
    for (const length of [8, 3, 5]) {
      const [yr, yi] = naiveDft(xs, zeros, length, false);
      for (const constant of [true, false]) {
        const inputs: Input[] = [
          { name: 'x', value: tensor(xs, [1, 5, 1], 'float64') },
          { name: 'len', value: tensor([length], [], 'int64'), constant },
        ];
        const m = model('DFT', inputs, {}, DOUBLE);
        expect(m.graph.nodes.some((n) => n.op === 'dynamicAttrs')).toBe(!constant);
        expectClose(await run(m, inputs), interleave(yr, yi), [1, length, 2], 1e-12);
      }
      const [hr, hi] = naiveDft(xs, zeros, length, false);
      const half = Math.floor(length / 2) + 1;
      const onesided = await runOp('DFT', [{ name: 'x', value: tensor(xs, [1, 5, 1], 'float64') }, { name: 'len', value: tensor([length], [], 'int64') }], { onesided: 1 }, DOUBLE);
      expectClose(onesided, interleave(hr.slice(0, half), hi.slice(0, half)), [1, half, 2], 1e-12);
    }
  });

  test('imports as constant matrices and matmuls: no new kernel, no run-time work on the lengths', () => {
    const m = model('DFT', [{ name: 'x', value: tensor(seeded(20, 1), [2, 5, 2]) }], { axis: 1 });
    const ops = new Set(m.graph.nodes.map((n) => n.op));
    expect(ops.has('matmul')).toBe(true);
    expect([...ops].every((op) => ['placeholder', 'const', 'gather', 'squeeze', 'matmul', 'sub', 'add', 'expandDims', 'concat', 'transpose'].includes(op))).toBe(true);
  });
});

describe('STFT', () => {
  const ramp = (length: number) => tensor(Array.from({ length }, (_, i) => Math.sin(i * 0.7) + i * 0.1), [1, length, 1], 'float64');

  /** Frames of x [length] at `step`, each times `window`, transformed (float64 reference). */
  function naiveStft(x: number[], step: number, frameLength: number, window: number[] | undefined, onesided: boolean): { data: number[]; frames: number } {
    const frames = Math.floor((x.length - frameLength) / step) + 1;
    const bins = onesided ? Math.floor(frameLength / 2) + 1 : frameLength;
    const data: number[] = [];
    for (let f = 0; f < frames; f++) {
      const frame = Array.from({ length: frameLength }, (_, t) => x[f * step + t] * (window ? window[t] : 1));
      const [yr, yi] = naiveDft(frame, new Array(frameLength).fill(0), frameLength, false);
      data.push(...interleave(yr.slice(0, bins), yi.slice(0, bins)));
    }
    return { data, frames };
  }

  test.each([
    // length, frame_length, step, frames
    [10, 4, 3, 3],
    [10, 4, 4, 2],
    [10, 10, 3, 1],
    [9, 1, 1, 9],
    [16, 6, 10, 2],
  ])('a signal of %i samples, frames of %i every %i: %i frames, known at import or at run time', async (length, frameLength, step, frames) => {
    const signal = ramp(length);
    const expected = naiveStft(Array.from(signal.data), step, frameLength, undefined, true);
    expect(expected.frames).toBe(frames);
    const bins = Math.floor(frameLength / 2) + 1;
    for (const constant of [true, false]) {
      const inputs: (Input | null)[] = [
        { name: 'signal', value: signal },
        { name: 'step', value: tensor([step], [], 'int64'), constant },
        null,
        { name: 'frame_length', value: tensor([frameLength], [], 'int64'), constant },
      ];
      const m = model('STFT', inputs, {}, DOUBLE);
      expect(m.graph.nodes.some((n) => n.op === 'dynamicAttrs')).toBe(!constant);
      expectClose(await run(m, inputs), expected.data, [1, frames, bins, 2], 1e-12);
    }
  });

  test('with a window (constant or fed), two-sided, and a complex batch', async () => {
    const window = [0.1, 0.5, 1, 0.5, 0.2];
    for (const constant of [true, false]) {
      const signal = ramp(12);
      const inputs: Input[] = [
        { name: 'signal', value: signal },
        { name: 'step', value: tensor([2], [], 'int64'), constant: true },
        { name: 'window', value: tensor(window, [5], 'float64'), constant },
      ];
      const expected = naiveStft(Array.from(signal.data), 2, 5, window, false);
      expectClose(await runOp('STFT', inputs, { onesided: 0 }, DOUBLE), expected.data, [1, 4, 5, 2], 1e-12);
    }
    // complex signal [2, 8, 2]: check against the real and imaginary parts transformed apart
    const re = seeded(16, 5);
    const im = seeded(16, 6);
    const complex = tensor(re.flatMap((r, i) => [r, im[i]]), [2, 8, 2], 'float64');
    const y = await runOp('STFT', [{ name: 'signal', value: complex }, { name: 'step', value: tensor([4], [], 'int64'), constant: true }, null, { name: 'fl', value: tensor([4], [], 'int64'), constant: true }], { onesided: 0 }, DOUBLE);
    const expected: number[] = [];
    for (let b = 0; b < 2; b++) {
      for (let f = 0; f < 2; f++) {
        const at = (t: number) => b * 8 + f * 4 + t;
        const [yr, yi] = naiveDft([0, 1, 2, 3].map((t) => re[at(t)]), [0, 1, 2, 3].map((t) => im[at(t)]), 4, false);
        expected.push(...interleave(yr, yi));
      }
    }
    expectClose(y, expected, [2, 2, 4, 2], 1e-12);
  });

  test('frames longer than the signal, a window of another length, a zero step: typed errors naming the node', () => {
    const signal: Input = { name: 'signal', value: ramp(6) };
    const step = (v: number): Input => ({ name: 'step', value: tensor([v], [], 'int64'), constant: true });
    const fl = (v: number): Input => ({ name: 'fl', value: tensor([v], [], 'int64'), constant: true });
    expect(() => model('STFT', [signal, step(1), null, fl(7)])).toThrow(FormatError);
    expect(() => model('STFT', [signal, step(1), null, fl(7)])).toThrow(/n0.*no frame of 7/);
    expect(() => model('STFT', [signal, step(0), null, fl(3)])).toThrow(/frame_step must be at least 1/);
    expect(() => model('STFT', [signal, step(1), { name: 'w', value: tensor([1, 1, 1, 1], [4], 'float64'), constant: true }, fl(3)])).toThrow(UnsupportedOpError);
  });
});

describe('MelWeightMatrix', () => {
  const params = (mel: number, dft: number, rate: number, lo: number, hi: number, constant: boolean): Input[] => [
    { name: 'mel', value: tensor([mel], [], 'int32'), constant },
    { name: 'dft', value: tensor([dft], [], 'int32'), constant },
    { name: 'rate', value: tensor([rate], [], 'int32'), constant },
    { name: 'lo', value: tensor([lo], [], 'float32'), constant },
    { name: 'hi', value: tensor([hi], [], 'float32'), constant },
  ];

  test('hand-computed: 2 bands over 8 bins at 8 kHz, 0..4 kHz', async () => {
    // mels 0 .. 2146.06 in 4 steps of 536.5: edges 0, 426.7, 1113.6, 2219.3 Hz; times (8 + 1) / 8000,
    // floored: bins 0, 0, 1, 2. Band 0 is [0, 0, 1] (a spike at bin 0), band 1 is [0, 1, 2] (peak at 1)
    for (const constant of [true, false]) {
      const y = await runOp('MelWeightMatrix', params(2, 8, 8000, 0, 4000, constant));
      expectClose(y, [1, 0, 0, 1, 0, 0, 0, 0, 0, 0], [5, 2], 0);
    }
  });

  test('constant inputs fold to one constant; fed inputs give the same matrix', async () => {
    const sets: [number, number, number, number, number][] = [
      [8, 16, 8192, 0, 4096],
      [10, 64, 16000, 20, 7600],
      [5, 33, 22050, 300, 11025],
    ];
    for (const p of sets) {
      const folded = model('MelWeightMatrix', params(...p, true));
      expect(folded.graph.nodes.map((n) => n.op)).toEqual(['const']);
      const a = await run(folded, params(...p, true));
      const b = await runOp('MelWeightMatrix', params(...p, false));
      expect(b.shape).toEqual(a.shape);
      expect(Array.from(b.data)).toEqual(Array.from(a.data));
      // triangular filters: every band reaches 1 and no weight leaves [0, 1]
      expect(Array.from(a.data).every((v) => v >= 0 && v <= 1)).toBe(true);
      for (let i = 0; i < p[0]; i++) expect(Math.max(...Array.from({ length: a.shape[0] }, (_, j) => a.data[j * p[0] + i]))).toBe(1);
    }
  });

  test('output_datatype picks the dtype', async () => {
    const y = await runOp('MelWeightMatrix', params(4, 16, 8000, 0, 4000, true), { output_datatype: DOUBLE }, DOUBLE);
    expect(y.dtype).toBe('float64');
  });
});

/** The imported graph's nodes added to `inputs`' graph, its placeholders bound to `inputs` by name. */
function inline(m: LoadedModel, inputs: Record<string, SymbolicTensor>): SymbolicTensor {
  const g = Object.values(inputs)[0].graph;
  const map = new Map<Node, SymbolicTensor[]>();
  for (const node of m.graph.nodes) {
    if (node.op === 'placeholder') map.set(node, [inputs[node.name]]);
    else map.set(node, g.addNode(node.op, node.inputs.map((i) => map.get(i.node)![i.index]), node.attrs).outputTensors);
  }
  const y = m.graph.tensor(m.signature.outputs[0]);
  return map.get(y.node)![y.index];
}

describe('gradients through the imported graph (float64, central differences)', () => {
  test.each([
    ['real, axis 1, onesided', [2, 5, 3, 1], { axis: 1, onesided: 1 }],
    ['complex, last signal axis', [2, 4, 2], { axis: 1 }],
    ['complex inverse, axis 0', [3, 2, 2], { axis: 0, inverse: 1 }],
  ] as [string, number[], Attrs][])('DFT: %s', async (_label, shape, attrs) => {
    const m = model('DFT', [{ name: 'x', value: tensor(new Float64Array(shape.reduce((a, b) => a * b)), shape, 'float64') }], attrs, DOUBLE);
    const r = await checkGradients((x) => inline(m, { x }), [tensor(seeded(shape.reduce((a, b) => a * b), 9), shape, 'float64')]);
    expect(Array.from(r.symbolic[0].data).some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  test('STFT w.r.t. the signal and a fed window', async () => {
    const inputs: Input[] = [
      { name: 'signal', value: tensor(seeded(10, 2), [1, 10, 1], 'float64') },
      { name: 'step', value: tensor([3], [], 'int64'), constant: true },
      { name: 'window', value: tensor(seeded(4, 4), [4], 'float64') },
    ];
    const m = model('STFT', inputs, {}, DOUBLE);
    const r = await checkGradients((signal, window) => inline(m, { signal, window }), [inputs[0].value, inputs[2].value]);
    expect(r.symbolic.every((g) => Array.from(g.data).some((v) => Math.abs(v) > 1e-3))).toBe(true);
  });
});

describe('DFT errors name the node', () => {
  test('a trailing dimension other than 1 or 2, an axis out of range, a rank-1 input', () => {
    expect(() => model('DFT', [{ name: 'x', value: tensor(seeded(12, 1), [1, 4, 3]) }])).toThrow(UnsupportedOpError);
    expect(() => model('DFT', [{ name: 'x', value: tensor(seeded(12, 1), [1, 4, 3]) }])).toThrow(/n0.*1 \(real\) or 2 \(complex\)/);
    expect(() => model('DFT', [{ name: 'x', value: tensor(seeded(8, 1), [1, 4, 2]) }], { axis: 2 })).toThrow(FormatError);
    expect(() => model('DFT', [{ name: 'x', value: tensor(seeded(8, 1), [1, 4, 2]) }], { axis: -1 })).toThrow(/n0.*axis -1/);
    expect(() => model('DFT', [{ name: 'x', value: tensor([1], [1]) }])).toThrow(FormatError);
    expect(() => model('DFT', [{ name: 'x', value: tensor(seeded(8, 1), [1, 4, 2]) }, { name: 'len', value: tensor([0], [], 'int64'), constant: true }])).toThrow(/dft_length must be at least 1/);
  });
});
