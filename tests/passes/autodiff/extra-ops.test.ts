import { SymbolicTensor, checkGradients, ops, tensor } from 'graphc';
import { values } from './helpers';

type Unary = (x: SymbolicTensor) => SymbolicTensor;

describe('gradients of the pointwise ops ONNX import added (float64, central differences)', () => {
  const cases: [string, Unary, number, number][] = [
    ['tan', ops.tan, -1.2, 1.2],
    ['asin', ops.asin, -0.9, 0.9],
    ['acos', ops.acos, -0.9, 0.9],
    ['atan', ops.atan, -3, 3],
    ['sinh', ops.sinh, -2, 2],
    ['cosh', ops.cosh, -2, 2],
    ['asinh', ops.asinh, -3, 3],
    ['acosh', ops.acosh, 1.1, 4],
    ['atanh', ops.atanh, -0.9, 0.9],
    ['softsign', ops.softsign, -3, 3],
    ['thresholdedRelu', (x) => ops.thresholdedRelu(x, 0.5), -2, 2],
    ['celu', (x) => ops.celu(x, 0.7), -2, 2],
    ['shrink', (x) => ops.shrink(x, 0.3, 0.5), -2, 2],
    ['hardSigmoid', (x) => ops.hardSigmoid(x, 0.3, 0.4), -4, 4],
    ['hardSwish', ops.hardSwish, -5, 5],
  ];
  test.each(cases)('%s', async (_name, fn, lo, hi) => {
    // keep away from the kinks of the piecewise ops
    const kinks = [0, 0.5, -0.5, 3, -3, (1 - 0.4) / 0.3, -0.4 / 0.3];
    const raw = values([3, 4], 17, lo, hi);
    const x = tensor(Array.from(raw.data, (v) => (kinks.some((k) => Math.abs(v - k) < 0.02) ? v + 0.05 : v)), [3, 4], 'float64');
    await checkGradients(fn, [x]);
  });

  test('clip: gradient to x inside the bounds, to the bounds outside, broadcast bounds summed back', async () => {
    const x = values([3, 4], 5, -2, 2);
    await checkGradients((t, lo, hi) => ops.clip(t, lo, hi), [x, tensor([-0.51, -1.03, 0.01, -0.77], [4], 'float64'), tensor([1.02], [1], 'float64')]);
  });

  test('fmod: gradient 1 to a, -trunc(a / b) to b', async () => {
    await checkGradients((a, b) => ops.fmod(a, b), [values([2, 3], 6, -5, 5), tensor([1.3, -2.1, 0.7], [3], 'float64')]);
  });

  test('atan2: x / r^2 to y, -y / r^2 to x, broadcast x summed back', async () => {
    // every quadrant, away from the origin and from the cut along the negative x axis
    const y = tensor([0.8, -1.3, 2.1, -0.4, 1.7, -2.2], [2, 3], 'float64');
    await checkGradients((a, b) => ops.atan2(a, b), [y, tensor([-1.1, 0.6, -0.3], [3], 'float64')]);
  });

  test('roundFloat passes the gradient as a cast does', async () => {
    const { Graph, Session, gradients } = await import('graphc');
    const g = new Graph();
    const x = g.placeholder('float32', [3], 'x');
    const [dx] = gradients(ops.mul(ops.roundFloat(x, 'float16'), 3), [x]);
    const out = await new Session(g).run(dx, { x: tensor([0.1, 1.7, -2.2], [3]) });
    expect(Array.from(out.data)).toEqual([3, 3, 3]);
  });
});

describe('gradients of the array ops ONNX import added', () => {
  test('expand sums back over the expanded dimensions', async () => {
    await checkGradients((x) => ops.mul(ops.expand(x, [2, 3, 4]), values([2, 3, 4], 1)), [values([3, 1], 2)]);
  });

  test('trilu masks the gradient like the values', async () => {
    await checkGradients((x) => ops.square(ops.triu(x, 1)), [values([2, 4, 4], 3)]);
    await checkGradients((x) => ops.square(ops.tril(x, -1)), [values([3, 5], 4)]);
  });

  test('stridedSlice, negative strides included', async () => {
    await checkGradients((x) => ops.square(ops.stridedSlice(x, [1, 4], [2, -2], [2, 3])), [values([5, 6], 5)]);
  });

  test('reverseSequence', async () => {
    await checkGradients((x, l) => ops.mul(ops.reverseSequence(x, l, 0, 1), values([4, 3, 2], 6)), [values([4, 3, 2], 7), tensor([4, 1, 3], [3], 'int64')]);
  });

  test('topK: values take the gradient at the positions they came from', async () => {
    const { distinct } = await import('./helpers');
    await checkGradients((x) => ops.mul(ops.topK(x, 2, -1)[0], values([3, 2], 8)), [distinct([3, 5], 9)]);
  });

  test('gatherElements and scatterElements (none, add, max and min)', async () => {
    const idx = tensor([0, 2, 1, 1, 0, 2], [2, 3], 'int64');
    await checkGradients((d, i) => ops.mul(ops.gatherElements(d, i, 1), values([2, 3], 1)), [values([2, 4], 2), idx]);
    const unique = tensor([0, 2, 3, 1], [2, 2], 'int64');
    for (const reduction of ['none', 'add', 'max', 'min'] as const) {
      await checkGradients((d, i, u) => ops.mul(ops.scatterElements(d, i, u, 1, reduction), values([2, 4], 3)), [values([2, 4], 4), unique, values([2, 2], 5)], {
        wrt: [0, 2],
      });
    }
  });

  test('gatherNd and scatterNd (none, add, max and min; max and min with repeated rows)', async () => {
    const idx = tensor([1, 0, 0, 2, 1, 1], [3, 2], 'int64');
    await checkGradients((d, i) => ops.mul(ops.gatherNd(d, i), values([3], 1)), [values([2, 3], 2), idx]);
    const rows = tensor([2, 0], [2, 1], 'int64');
    for (const reduction of ['none', 'add', 'max', 'min'] as const) {
      await checkGradients((d, i, u) => ops.mul(ops.scatterNd(d, i, u, reduction), values([3, 2], 3)), [values([3, 2], 4), rows, values([2, 2], 5)], { wrt: [0, 2] });
    }
    const repeated = tensor([1, 2, 1, 1], [4, 1], 'int64');
    for (const reduction of ['max', 'min'] as const) {
      await checkGradients((d, i, u) => ops.mul(ops.scatterNd(d, i, u, reduction), values([3, 2], 6)), [values([3, 2], 7), repeated, values([4, 2], 8, -3, 3)], { wrt: [0, 2] });
    }
  });

  test('scatter max: tied winners share the gradient equally, the losers take none', async () => {
    const { Graph, Session, gradients } = await import('graphc');
    const g = new Graph();
    const data = g.placeholder('float32', [2], 'data');
    const updates = g.placeholder('float32', [3], 'updates');
    const out = ops.scatterNd(data, g.constant(tensor([0, 0, 1], [3, 1], 'int32')), updates, 'max');
    const [dData, dUpdates] = gradients(ops.reduceSum(ops.mul(out, tensor([6, 10], [2]))), [data, updates]);
    const [d, u] = await new Session(g).run([dData, dUpdates], { data: tensor([5, 1], [2]), updates: tensor([5, 5, 0], [3]) });
    // position 0: data and both updates tie at 5, a third of 6 each; position 1: data's 1 beats 0
    expect(Array.from(d.data)).toEqual([2, 10]);
    expect(Array.from(u.data)).toEqual([2, 2, 0]);
  });
});

describe('gradients of layerNorm, rmsNorm, nllLoss and cumSum', () => {
  test('layerNorm over the last axis and over the last two, with its Mean and InvStdDev outputs used', async () => {
    await checkGradients((x, s, b) => ops.layerNorm(x, s, b, -1, 1e-5), [values([3, 4], 1), values([4], 2), values([4], 3)]);
    await checkGradients((x, s) => ops.layerNorm(x, s, null, 1, 1e-3), [values([2, 3, 2], 4), values([3, 2], 5)]);
    await checkGradients(
      (x, s) => {
        const node = x.graph.addNode('layerNorm', [x, s], { axis: -1, epsilon: 1e-5 });
        return [node.output(0), node.output(1), node.output(2)];
      },
      [values([3, 4], 6), values([4], 7)],
    );
  });

  test('rmsNorm over the last axis and over the last two, with its InvStdDev output used', async () => {
    await checkGradients((x, s) => ops.rmsNorm(x, s, -1, 1e-5), [values([3, 4], 1), values([4], 2)]);
    await checkGradients((x, s) => ops.rmsNorm(x, s, 1, 1e-3), [values([2, 3, 2], 4), values([2], 5)]);
    await checkGradients(
      (x, s) => {
        const node = x.graph.addNode('rmsNorm', [x, s], { axis: -1, epsilon: 1e-5 });
        return [node.output(0), node.output(1)];
      },
      [values([3, 4], 6), values([4], 7)],
    );
  });

  test('nllLoss with each reduction, class weights and an ignored index', async () => {
    const logProbs = values([4, 3], 1, -3, -0.1);
    const target = tensor([2, 0, 1, 2], [4], 'int64');
    for (const reduction of ['none', 'sum', 'mean'] as const) {
      await checkGradients((x, t) => ops.nllLoss(x, t, null, { reduction }), [logProbs, target]);
      await checkGradients((x, t, w) => ops.nllLoss(x, t, w, { reduction, ignoreIndex: 0 }), [logProbs, target, tensor([0.5, 2, 1.5], [3], 'float64')]);
    }
    // spatial: input [N, C, d]
    await checkGradients((x, t) => ops.nllLoss(x, t, null, { reduction: 'mean' }), [values([2, 3, 2], 2, -3, -0.1), tensor([0, 2, 1, 1], [2, 2], 'int64')]);
  });

  test('einsum: matmul, batched with broadcasting, outer product, a summed-away label, three operands', async () => {
    await checkGradients((a, b) => ops.einsum('ij,jk->ik', a, b), [values([2, 3], 1), values([3, 4], 2)]);
    await checkGradients((a, b) => ops.einsum('...ij,...jk->...ik', a, b), [values([2, 2, 3], 3), values([3, 2], 4)]);
    await checkGradients((a, b) => ops.einsum('i,j->ij', a, b), [values([3], 5), values([4], 6)]);
    await checkGradients((a, b) => ops.einsum('ij,k->i', a, b), [values([2, 3], 7), values([4], 8)]);
    await checkGradients((a, b, c) => ops.einsum('bi,ij,bj->b', a, b, c), [values([2, 3], 9), values([3, 4], 10), values([2, 4], 11)]);
  });

  test('cumSum: forward, reverse, exclusive', async () => {
    for (const options of [{}, { reverse: true }, { exclusive: true }, { exclusive: true, reverse: true }]) {
      await checkGradients((x) => ops.mul(ops.cumSum(x, 1, options), values([2, 5], 1)), [values([2, 5], 2)]);
    }
  });
});

describe('gradients of the channels-first (ONNX) convolution and pools', () => {
  test('convNchw: group 1 with bias, strided and padded; depthwise; SAME_UPPER', async () => {
    await checkGradients((x, w, b) => ops.convNchw(x, w, b, { pads: [1, 0, 1, 2], strides: [2, 1] }), [values([2, 3, 5, 4], 1), values([4, 3, 3, 2], 2), values([4], 3)]);
    await checkGradients((x, w) => ops.convNchw(x, w, null, { group: 3, pads: [1, 1, 1, 1] }), [values([1, 3, 4, 4], 4), values([6, 1, 3, 3], 5)]);
    await checkGradients((x, w) => ops.convNchw(x, w, null, { autoPad: 'SAME_UPPER', dilations: [2, 1] }), [values([1, 2, 5, 5], 6), values([2, 2, 2, 3], 7)]);
  });

  test('convTransposeNchw: strided, padded, with output padding and bias', async () => {
    await checkGradients((x, w, b) => ops.convTransposeNchw(x, w, b, { strides: [2, 2], pads: [1, 0, 1, 1], outputPadding: [1, 0] }), [values([2, 3, 3, 4], 11), values([3, 2, 3, 3], 12), values([2], 13)]);
    await checkGradients((x, w) => ops.convTransposeNchw(x, w, null, { dilations: [1, 2] }), [values([1, 2, 3, 3], 14), values([2, 3, 2, 2], 15)]);
  });

  test('maxPoolNchw and avgPoolNchw', async () => {
    const { distinct } = await import('./helpers');
    await checkGradients((x) => ops.maxPoolNchw(x, [2, 2], { strides: [2, 2] }), [distinct([2, 3, 4, 6], 8, 0.01)]);
    await checkGradients((x) => ops.maxPoolNchw(x, [3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }), [distinct([1, 2, 5, 5], 9, 0.01)]);
    await checkGradients((x) => ops.avgPoolNchw(x, [3, 2], { strides: [1, 2], pads: [1, 0, 1, 0] }), [values([2, 2, 4, 4], 10)]);
  });

  test('unsupported configurations fail clearly', async () => {
    const { Graph, gradients } = await import('graphc');
    const g = new Graph();
    const x = g.placeholder('float64', [1, 4, 5, 5, 5], 'x');
    const w = g.placeholder('float64', [4, 2, 3, 3, 3], 'w');
    expect(() => gradients(ops.reduceSum(ops.convNchw(x, w, null, { group: 2 })), [x])).toThrow(/a 3-D window is not supported/);
  });
});
