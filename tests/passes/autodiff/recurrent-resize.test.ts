import { Graph, Session, SymbolicTensor, TensorValue, checkGradients, gradients, ops, tensor } from 'graphc';
import { unrollRecurrent } from '../../../packages/graph/src/gradients/recurrent';
import type { RecurrentOp } from '../../../packages/graph/src/gradients/recurrent';
import { recurrentShapes, values } from './helpers';

/** One recurrent case: the op, its attrs (besides `inputs`), and its inputs by name. */
interface RecurrentCase {
  label: string;
  op: RecurrentOp;
  attrs: Record<string, string | number | boolean | number[] | string[]>;
  inputs: [string, TensorValue][];
}

const SEQ = 3;
const BATCH = 2;
const IN = 3;
const H = 2;

function recurrentCase(label: string, op: RecurrentOp, attrs: RecurrentCase['attrs'], names: string[], seed: number): RecurrentCase {
  const shapes = recurrentShapes(op, attrs, SEQ, BATCH, IN, H);
  const inputs = names.map((n, i): [string, TensorValue] =>
    n === 'sequenceLens' ? [n, tensor([2, 3], [BATCH], 'int32')] : [n, values(shapes[n], seed + i, n === 'x' ? -1.5 : -0.8, n === 'x' ? 1.5 : 0.8)],
  );
  return { label, op, attrs: { hiddenSize: H, ...attrs }, inputs };
}

const RECURRENT: RecurrentCase[] = [
  recurrentCase('rnn forward', 'rnn', {}, ['x', 'w', 'r'], 1),
  recurrentCase('rnn reverse, bias and initial state', 'rnn', { direction: 'reverse' }, ['x', 'w', 'r', 'b', 'initialH'], 2),
  recurrentCase('rnn bidirectional, sequence lengths, relu and affine', 'rnn', { direction: 'bidirectional', activations: ['Relu', 'Affine'], activationAlpha: [0.7], activationBeta: [0.2] }, ['x', 'w', 'r', 'b', 'sequenceLens', 'initialH'], 3),
  recurrentCase('rnn layout 1, clip, scaledTanh', 'rnn', { layout: 1, clip: 0.9, activations: ['ScaledTanh'], activationAlpha: [1.3], activationBeta: [0.8] }, ['x', 'w', 'r', 'b'], 4),
  recurrentCase('gru forward with bias', 'gru', {}, ['x', 'w', 'r', 'b'], 5),
  recurrentCase('gru reverse, initial state, linearBeforeReset', 'gru', { direction: 'reverse', linearBeforeReset: true }, ['x', 'w', 'r', 'b', 'sequenceLens', 'initialH'], 6),
  recurrentCase('gru bidirectional, no bias, sequence lengths, clip', 'gru', { direction: 'bidirectional', clip: 1.1 }, ['x', 'w', 'r', 'sequenceLens'], 7),
  recurrentCase('gru layout 1, softsign and elu', 'gru', { layout: 1, activations: ['Softsign', 'Elu'], activationAlpha: [0.6] }, ['x', 'w', 'r', 'b', 'sequenceLens', 'initialH'], 8),
  recurrentCase('lstm forward', 'lstm', {}, ['x', 'w', 'r'], 9),
  recurrentCase('lstm forward, bias and peepholes', 'lstm', {}, ['x', 'w', 'r', 'b', 'sequenceLens', 'initialH', 'initialC', 'p'], 10),
  recurrentCase('lstm reverse, initial states', 'lstm', { direction: 'reverse' }, ['x', 'w', 'r', 'b', 'sequenceLens', 'initialH', 'initialC'], 11),
  recurrentCase('lstm reverse, no sequence lengths', 'lstm', { direction: 'reverse' }, ['x', 'w', 'r', 'b', 'sequenceLens'].filter((n) => n !== 'sequenceLens'), 12),
  recurrentCase('lstm bidirectional, lengths, peepholes, clip, inputForget', 'lstm', { direction: 'bidirectional', clip: 1.2, inputForget: true }, ['x', 'w', 'r', 'b', 'sequenceLens', 'initialH', 'initialC', 'p'], 13),
  recurrentCase('lstm layout 1, hardSigmoid / softplus / tanh', 'lstm', { layout: 1, activations: ['HardSigmoid', 'Softplus', 'Tanh'], activationAlpha: [0.3], activationBeta: [0.45] }, ['x', 'w', 'r', 'b', 'initialH', 'initialC'], 14),
];

function recurrentNode(c: RecurrentCase, tensors: SymbolicTensor[]): SymbolicTensor[] {
  return tensors[0].graph.addNode(c.op, tensors, { ...c.attrs, inputs: c.inputs.map(([n]) => n) }).outputTensors;
}

describe('lstm, gru and rnn: the unrolled forward is the op', () => {
  test.each(RECURRENT.map((c) => [c.label, c] as const))('%s', async (_label, c) => {
    const g = new Graph({ makeDefault: false });
    const placeholders = c.inputs.map(([n, v]) => g.placeholder(v.dtype, [...v.shape], n));
    const node = recurrentNode(c, placeholders);
    const unrolled = unrollRecurrent(c.op, placeholders, { ...c.attrs, inputs: c.inputs.map(([n]) => n) });
    const session = new Session(g);
    const feeds = new Map(placeholders.map((p, i) => [p, c.inputs[i][1]]));
    const [a, b] = [await session.run(node, feeds), await session.run(unrolled, feeds)];
    session.close();
    expect(b.map((t) => t.shape)).toEqual(a.map((t) => t.shape));
    a.forEach((t, k) => {
      const diff = Math.max(...Array.from(t.data, (v, j) => Math.abs(v - b[k].data[j])));
      expect(diff).toBeLessThan(1e-12);
    });
    // the cases exercise the state: no output is all zeros
    for (const t of a) expect(Array.from(t.data).some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  // float32 runs the cpu kernels' GEMMs on the SIMD kernel: sizes past its 4x8 tiles and blocks, odd
  // hidden sizes, and entries of different lengths, against the unrolled graph in float64
  test.each([
    ['lstm', { direction: 'bidirectional' }],
    ['gru', { direction: 'reverse' }],
    ['gru', { linearBeforeReset: true, layout: 1 }],
    ['rnn', {}],
  ] as const)('float32 %s %j, hidden 37, batch 5', async (op, extra) => {
    const [seq, batch, input, hidden] = [6, 5, 19, 37];
    const gates = { lstm: 4, gru: 3, rnn: 1 }[op];
    const dirs = 'direction' in extra && extra.direction === 'bidirectional' ? 2 : 1;
    const layout = 'layout' in extra ? extra.layout : 0;
    const attrs = { hiddenSize: hidden, inputs: ['x', 'w', 'r', 'b', 'sequenceLens'], ...extra };
    const inputs64 = [
      values(layout === 1 ? [batch, seq, input] : [seq, batch, input], 41, -1, 1),
      values([dirs, gates * hidden, input], 42, -0.3, 0.3),
      values([dirs, gates * hidden, hidden], 43, -0.3, 0.3),
      values([dirs, 2 * gates * hidden], 44, -0.3, 0.3),
    ];
    const lens = tensor([6, 1, 4, 0, 6], [batch], 'int32');
    const g = new Graph({ makeDefault: false });
    const [x, w, r, b] = inputs64.map((v, i) => ops.cast(g.placeholder('float64', [...v.shape], `in${i}`), 'float32'));
    const l = g.placeholder('int32', [batch], 'lens');
    const kernel = g.addNode(op, [x, w, r, b, l], attrs).outputTensors;
    const unrolled = unrollRecurrent(op, [x, w, r, b, l].map((t) => (t === l ? t : ops.cast(t, 'float64'))), attrs);
    const session = new Session(g);
    const feeds = { in0: inputs64[0], in1: inputs64[1], in2: inputs64[2], in3: inputs64[3], lens };
    const [got, want] = [await session.run(kernel, feeds), await session.run(unrolled, feeds)];
    session.close();
    got.forEach((t, k) => {
      expect(t.dtype).toBe('float32');
      const diff = Math.max(...Array.from(t.data, (v, j) => Math.abs(v - want[k].data[j])));
      expect(diff).toBeLessThan(1e-5);
    });
  });
});

describe('lstm, gru and rnn gradients (float64, central differences)', () => {
  test.each(RECURRENT.map((c) => [c.label, c] as const))('%s', async (_label, c) => {
    const r = await checkGradients((...t) => recurrentNode(c, t), c.inputs.map(([, v]) => v));
    // every float input takes a gradient
    for (const s of r.symbolic) expect(Array.from(s.data).some((v) => v !== 0)).toBe(true);
  });

  test('only Y_h weighted: the gradient flows back through every step', async () => {
    const c = RECURRENT.find((k) => k.label === 'lstm forward')!;
    await checkGradients((...t) => recurrentNode(c, t)[1], c.inputs.map(([, v]) => v));
  });

  // R's gradient is one product over every step's rows; fed as W too (input size = hidden), the
  // tensor keeps the step-by-step sum, which also carries its W gradient
  test.each([
    ['lstm', 4, { direction: 'bidirectional' }],
    ['gru', 3, {}],
    ['rnn', 1, { direction: 'reverse' }],
  ] as const)('%s with one tensor as both W and R', async (op, gates, attrs) => {
    const dirs = 'direction' in attrs && attrs.direction === 'bidirectional' ? 2 : 1;
    const inputs = [values([SEQ, BATCH, H], 30, -1.5, 1.5), values([dirs, gates * H, H], 31, -0.8, 0.8), values([dirs, 2 * gates * H], 32, -0.8, 0.8)];
    const r = await checkGradients((x, wr, b) => x.graph.addNode(op, [x, wr, wr, b], { hiddenSize: H, ...attrs, inputs: ['x', 'w', 'r', 'b'] }).outputTensors, inputs);
    expect(Array.from(r.symbolic[1].data).some((v) => v !== 0)).toBe(true);
  });

  test("R's gradient is one product over all the steps, not one per step", () => {
    const g = new Graph({ makeDefault: false });
    const [x, w, r] = [g.placeholder('float32', [6, 5, 3], 'x'), g.placeholder('float32', [1, 16, 3], 'w'), g.placeholder('float32', [1, 16, 4], 'r')];
    const [y] = g.addNode('lstm', [x, w, r], { hiddenSize: 4, inputs: ['x', 'w', 'r'] }).outputTensors;
    const [dr] = gradients(ops.reduceSum(y), [r]);
    const seen = new Set<SymbolicTensor>();
    const products: SymbolicTensor[] = [];
    const walk = (t: SymbolicTensor): void => {
      if (seen.has(t)) return;
      seen.add(t);
      if (t.node.op === 'matmul' && t.shape[0] === 16 && t.shape[1] === 4) products.push(t);
      t.node.inputs.forEach(walk);
    };
    walk(dr);
    expect(products.length).toBe(1);
    expect(products[0].node.inputs.map((t) => [t.node.op, t.shape])).toEqual([
      ['concat', [1 + 5 * 5, 16]],
      ['concat', [1 + 5 * 5, 4]],
    ]);
  });

  test.each(['lstm forward, bias and peepholes', 'gru bidirectional, no bias, sequence lengths, clip', 'gru reverse, initial state, linearBeforeReset'])(
    'second derivative through R (%s): the gradient of dR is the gradient of the unrolled one',
    async (label) => {
      const c = RECURRENT.find((k) => k.label === label)!;
      const rAt = c.inputs.findIndex(([n]) => n === 'r');
      const float = c.inputs.map((_, i) => i).filter((i) => c.inputs[i][1].dtype === 'float64');
      await checkGradients(
        (...t) => {
          const all = c.inputs.map(([, v], i) => (float.includes(i) ? t[float.indexOf(i)] : t[0].graph.constant(v)));
          const [y] = recurrentNode(c, all);
          const [dr] = gradients(ops.reduceSum(ops.square(y)), [all[rAt]]);
          return ops.mul(dr, dr);
        },
        float.map((i) => c.inputs[i][1]),
      );
    },
  );
});

describe('resize gradients: the adjoint of the resampling (float64, central differences)', () => {
  const cases: [string, number[], number[], Record<string, unknown>][] = [
    ['nearest, asymmetric, floor, upsampling', [1, 2, 3, 4], [1, 2, 5, 7], { mode: 'nearest', coordinateTransformationMode: 'asymmetric', nearestMode: 'floor' }],
    ['nearest, half_pixel, round_prefer_ceil, downsampling', [2, 1, 6, 5], [2, 1, 4, 3], { mode: 'nearest', nearestMode: 'round_prefer_ceil' }],
    ['nearest, tf_half_pixel_for_nn, ceil', [1, 1, 4, 4], [1, 1, 7, 3], { mode: 'nearest', coordinateTransformationMode: 'tf_half_pixel_for_nn', nearestMode: 'ceil' }],
    ['linear, half_pixel, upsampling', [1, 2, 3, 4], [1, 2, 6, 9], { mode: 'linear' }],
    ['linear, align_corners', [2, 2, 4, 3], [2, 2, 7, 5], { mode: 'linear', coordinateTransformationMode: 'align_corners' }],
    ['linear, pytorch_half_pixel, downsampling', [1, 1, 7, 6], [1, 1, 3, 1], { mode: 'linear', coordinateTransformationMode: 'pytorch_half_pixel' }],
    ['linear, half_pixel_symmetric, given scales', [1, 2, 4, 5], [1, 2, 6, 7], { mode: 'linear', coordinateTransformationMode: 'half_pixel_symmetric', scales: [1, 1, 1.6, 1.5] }],
    ['linear over every dimension of a 3-D tensor', [3, 4, 2], [5, 2, 4], { mode: 'linear' }],
    ['cubic, half_pixel', [1, 1, 5, 4], [1, 1, 8, 9], { mode: 'cubic' }],
    ['cubic, excludeOutside, a = -0.5, downsampling', [1, 2, 8, 7], [1, 2, 5, 3], { mode: 'cubic', excludeOutside: true, cubicCoeffA: -0.5 }],
    ['cubic, asymmetric', [2, 1, 4, 4], [2, 1, 6, 5], { mode: 'cubic', coordinateTransformationMode: 'asymmetric' }],
    ['linear, tf_crop_and_resize with extrapolation', [1, 1, 5, 6], [1, 1, 4, 5], { mode: 'linear', coordinateTransformationMode: 'tf_crop_and_resize', roi: [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3], extrapolationValue: 2.5 }],
  ];
  test.each(cases)('%s', async (_label, xs, sizes, options) => {
    const r = await checkGradients((x) => ops.resize(x, sizes, options as never), [values(xs, 21)]);
    expect(r.symbolic[0].shape).toEqual(xs);
    expect(Array.from(r.symbolic[0].data).some((v) => v !== 0)).toBe(true);
  });

  test('second derivative: the gradient of the adjoint is the resize again', async () => {
    const { gradients } = await import('graphc');
    await checkGradients(
      (x, v) => {
        const y = ops.resize(x, [1, 1, 5, 7], { mode: 'linear' });
        const [dx] = gradients(ops.reduceSum(ops.mul(ops.square(y), v)), [x]);
        return dx;
      },
      [values([1, 1, 3, 4], 22), values([1, 1, 5, 7], 23)],
    );
  });
});

describe('convNchw with groups other than 1 and the channel count (float64, central differences)', () => {
  const cases: [string, number[], number[], Record<string, unknown>][] = [
    ['group 2, stride 2, padded, with bias', [2, 4, 5, 6], [6, 2, 3, 2], { group: 2, strides: [2, 1], pads: [1, 0, 1, 1] }],
    ['group 2, dilation 2, SAME_UPPER', [1, 6, 6, 5], [4, 3, 2, 3], { group: 2, dilations: [2, 2], autoPad: 'SAME_UPPER' }],
    ['group 3, stride 2 and dilation [1, 2]', [2, 6, 7, 7], [6, 2, 3, 3], { group: 3, strides: [2, 2], dilations: [1, 2], pads: [1, 1, 0, 2] }],
    ['group 3, channel multiplier 1 per group of 2', [1, 6, 5, 5], [3, 2, 2, 2], { group: 3, strides: [1, 2] }],
  ];
  test.each(cases)('%s', async (_label, xs, ws, options) => {
    const withBias = _label.includes('bias');
    const inputs = [values(xs, 31), values(ws, 32), ...(withBias ? [values([ws[0]], 33)] : [])];
    const r = await checkGradients((x, w, b) => ops.convNchw(x, w, b ?? null, options as never), inputs);
    expect(r.symbolic[1].shape).toEqual(ws);
  });
});

describe('lrnNchw and lpPoolNchw gradients (float64, central differences)', () => {
  test.each([
    ['size 3, defaults', [2, 5, 3, 2], 3, 1e-4, 0.75, 1],
    ['size 4 (uneven window), strong normalization', [1, 6, 2, 3], 4, 0.8, 0.6, 1.5],
    ['size 5 over 3 channels, rank 3', [2, 3, 4], 5, 1.2, 1.1, 0.7],
    ['size 1, rank 2', [3, 4], 1, 0.5, 0.9, 2],
  ] as [string, number[], number, number, number, number][])('lrnNchw %s', async (_label, xs, size, alpha, beta, bias) => {
    await checkGradients((x) => ops.lrnNchw(x, size, alpha, beta, bias), [values(xs, 41)]);
  });

  // lpPoolNchw has no builder of its own (ONNX import makes it): add the node directly
  const lpPool = (x: SymbolicTensor, attrs: Record<string, number | boolean | number[] | string>) => x.graph.addNode('lpPoolNchw', [x], attrs).output(0);
  test.each([
    ['p 2, 2x2 stride 2', [2, 2, 4, 4], { kernel: [2, 2], strides: [2, 2], p: 2 }],
    ['p 2, 3x3 padded, overlapping', [1, 2, 5, 4], { kernel: [3, 3], pads: [1, 1, 1, 1], p: 2 }],
    ['p 1, 2x3 stride [1, 2]', [1, 3, 4, 5], { kernel: [2, 3], strides: [1, 2], p: 1 }],
    ['p 3, dilated, ceilMode adding a window', [1, 2, 6, 6], { kernel: [2, 2], strides: [2, 2], dilations: [2, 1], ceilMode: true, pads: [0, 0, 1, 1], p: 3 }],
    ['p 2, SAME_UPPER, 1-D', [2, 2, 7], { kernel: [3], strides: [2], autoPad: 'SAME_UPPER', p: 2 }],
    ['p 4, 3-D window', [1, 1, 3, 4, 3], { kernel: [2, 2, 2], pads: [0, 1, 0, 0, 0, 1], p: 4 }],
  ] as [string, number[], Record<string, number | boolean | number[] | string>][])('lpPoolNchw %s', async (_label, xs, attrs) => {
    await checkGradients((x) => lpPool(x, attrs), [values(xs, 42, -2, 2, 0.05)]);
  });

  test('lpPoolNchw: a window of zeros passes no gradient (not NaN)', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [1, 1, 2, 4], 'x');
    const { gradients } = await import('graphc');
    const [dx] = gradients(ops.reduceSum(lpPool(x, { kernel: [2, 2], strides: [2, 2], p: 2 })), [x]);
    const out = await new Session(g).run(dx, { x: tensor([0, 0, 3, 0, 0, 0, 0, 4], [1, 1, 2, 4], 'float64') });
    // the left window is all zeros; the right one holds 3 and 4 (y = 5, dy/dx = x / y)
    [0, 0, 0.6, 0, 0, 0, 0, 0.8].forEach((v, i) => expect(out.data[i]).toBeCloseTo(v, 14));
  });
});

describe('det gradient: the cofactor matrix (float64, central differences)', () => {
  test.each([
    ['1x1', [1, 1]],
    ['2x2', [2, 2]],
    ['3x3', [3, 3]],
    ['a batch of 4x4', [2, 4, 4]],
    ['a batch of batches of 3x3', [2, 1, 3, 3]],
  ])('%s', async (_label, shape) => {
    await checkGradients((a) => ops.det(a), [values(shape, 51)]);
  });

  test('a singular matrix still has its cofactors as gradient', async () => {
    // rank 2: det 0, inv undefined, but the cofactors are not all 0
    const a = tensor([1, 2, 3, 2, 4.5, 6, 3, 6.5, 9], [3, 3], 'float64');
    const r = await checkGradients((m) => ops.det(m), [a], { dys: [tensor([1], [], 'float64')] });
    expect(Array.from(r.symbolic[0].data).some((v) => Math.abs(v) > 0.1)).toBe(true);
  });

  test('second derivative (det of the minors, differentiated again)', async () => {
    const { gradients } = await import('graphc');
    await checkGradients(
      (a, v) => {
        const [da] = gradients(ops.det(a), [a]);
        return ops.reduceSum(ops.mul(da, v));
      },
      [values([3, 3], 52), values([3, 3], 53)],
    );
  });
});

describe('recurrent gradients with an unknown batch size', () => {
  test.each(['lstm bidirectional, lengths, peepholes, clip, inputForget', 'gru layout 1, softsign and elu', 'rnn forward'])('%s: the same gradient as with the batch known', async (label) => {
    const { gradients } = await import('graphc');
    const c = RECURRENT.find((k) => k.label === label)!;
    const batchAxis: Record<string, number> = c.attrs.layout === 1 ? { x: 0, initialH: 0, initialC: 0, sequenceLens: 0 } : { x: 1, initialH: 1, initialC: 1, sequenceLens: 0 };
    const run = async (unknownBatch: boolean) => {
      const g = new Graph({ makeDefault: false });
      const ps = c.inputs.map(([n, v]) => g.placeholder(v.dtype, v.shape.map((d, i) => (unknownBatch && batchAxis[n] === i ? null : d)), n));
      const outs = recurrentNode(c, ps);
      const loss = ops.add(ops.reduceSum(ops.square(outs[0])), ops.reduceSum(outs[1]));
      const floats = ps.filter((p) => p.dtype === 'float64');
      const grads = gradients(loss, floats);
      const session = new Session(g);
      const result = await session.run(grads, new Map(ps.map((p, i) => [p, c.inputs[i][1]])));
      session.close();
      return result;
    };
    const [known, unknown] = [await run(false), await run(true)];
    known.forEach((t, k) => {
      expect(unknown[k].shape).toEqual(t.shape);
      t.data.forEach((v, j) => expect(unknown[k].data[j]).toBeCloseTo(v, 12));
    });
  });
});

describe('the new gradients unoptimized (sessions default to O2; O0 runs the graphs as built)', () => {
  test('lstm, resize, lpPool and det at O0', async () => {
    const c = RECURRENT.find((k) => k.label === 'lstm bidirectional, lengths, peepholes, clip, inputForget')!;
    await checkGradients((...t) => recurrentNode(c, t), c.inputs.map(([, v]) => v), { optimize: 0 });
    await checkGradients((x) => ops.resize(x, [1, 2, 5, 7], { mode: 'cubic' }), [values([1, 2, 3, 4], 61)], { optimize: 0 });
    await checkGradients((x) => x.graph.addNode('lpPoolNchw', [x], { kernel: [2, 2], pads: [1, 1, 0, 0], p: 3 }).output(0), [values([1, 2, 4, 4], 62, -2, 2, 0.05)], { optimize: 0 });
    await checkGradients((a) => ops.det(a), [values([2, 3, 3], 63)], { optimize: 0 });
  });
});

test('float32: gru and resize gradients within float32 tolerance', async () => {
  const f32 = (v: TensorValue): TensorValue => tensor(Float32Array.from(v.data as ArrayLike<number>), [...v.shape], 'float32');
  const c = RECURRENT.find((k) => k.label === 'gru reverse, initial state, linearBeforeReset')!;
  await checkGradients((...t) => recurrentNode(c, t), c.inputs.map(([, v]) => (v.dtype === 'float64' ? f32(v) : v)));
  await checkGradients((x) => ops.resize(x, [1, 1, 6, 5], { mode: 'linear', coordinateTransformationMode: 'align_corners' }), [f32(values([1, 1, 3, 4], 64))]);
});
