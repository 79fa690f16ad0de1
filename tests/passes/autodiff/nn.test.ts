import { Graph, Padding, Session, checkGradients, gradients, ops, tensor } from 'graphc';
import { distinct, values } from './helpers';

describe('nn gradients (float64, central differences)', () => {
  const convCases: [string, number[], number[], number | number[], Padding, number][] = [
    // label, x, filter, strides, padding, dilation
    ['3x3 SAME', [2, 5, 5, 3], [3, 3, 3, 4], 1, 'SAME', 1],
    ['3x3 VALID stride 2', [1, 7, 6, 2], [3, 3, 2, 3], 2, 'VALID', 1],
    ['2x3 SAME stride [2, 1]', [2, 5, 4, 2], [2, 3, 2, 2], [2, 1], 'SAME', 1],
    ['1x1 pointwise', [2, 3, 3, 4], [1, 1, 4, 3], 1, 'VALID', 1],
    ['dilated 3x3', [1, 7, 7, 2], [3, 3, 2, 2], 1, 'SAME', 2],
    ['explicit padding', [1, 5, 5, 1], [3, 2, 1, 2], 2, [[1, 0], [2, 1]], 1],
  ];
  test.each(convCases)('conv2d %s', async (_l, xs, fs, strides, padding, dilations) => {
    const r = await checkGradients((x, f) => ops.conv2d(x, f, strides, padding, { dilations }), [values(xs, 1), values(fs, 2)]);
    expect(r.symbolic[1].shape).toEqual(fs);
  });

  test.each([
    ['mult 1 SAME', [2, 5, 5, 3], [3, 3, 3, 1], 1, 'SAME'],
    ['mult 2 VALID stride 2', [1, 6, 7, 2], [3, 2, 2, 2], 2, 'VALID'],
  ] as [string, number[], number[], number, 'SAME' | 'VALID'][])('depthwiseConv2d %s', async (_l, xs, fs, strides, padding) => {
    await checkGradients((x, f) => ops.depthwiseConv2d(x, f, strides, padding), [values(xs, 3), values(fs, 4)]);
  });

  test.each([
    ['2x2 stride 2 VALID', 2, 2, 'VALID'],
    ['3x3 stride 2 SAME', 3, 2, 'SAME'],
    ['3x3 stride 1 SAME (overlapping)', 3, 1, 'SAME'],
  ] as [string, number, number, 'SAME' | 'VALID'][])('maxPool and avgPool %s', async (_l, k, s, padding) => {
    const x = distinct([2, 5, 6, 3], 9, 0.01);
    await checkGradients((t) => ops.maxPool(t, k, s, padding), [x]);
    await checkGradients((t) => ops.avgPool(t, k, s, padding), [values([2, 5, 6, 3], 10)]);
  });

  test('softmax and logSoftmax, along the last and the first axis', async () => {
    await checkGradients((x) => ops.softmax(x), [values([3, 5], 1)]);
    await checkGradients((x) => ops.softmax(x, 0), [values([3, 5], 2)]);
    await checkGradients((x) => ops.logSoftmax(x), [values([3, 5], 3)]);
    await checkGradients((x) => ops.logSoftmax(x, 0), [values([4, 2], 4)]);
  });

  test('cross-entropy losses', async () => {
    const labels = tensor([2, 0, 4], [3], 'int32');
    await checkGradients((l, x) => ops.sparseSoftmaxCrossEntropyWithLogits(l, x), [labels, values([3, 5], 1)]);
    const dist = ops.softmax; // labels as a distribution: any non-negative rows
    void dist;
    const soft = tensor([0.2, 0.3, 0.5, 0, 1, 0], [2, 3], 'float64');
    await checkGradients((z, x) => ops.softmaxCrossEntropyWithLogits(z, x), [soft, values([2, 3], 2)]);
    await checkGradients((z, x) => ops.sigmoidCrossEntropyWithLogits(z, x), [values([2, 3], 3, 0, 1), values([2, 3], 4)]);
  });

  test("the sparse cross entropy's gradient op is differentiable again (logits and dy)", async () => {
    const labels = tensor([2, 0, 4], [3], 'int32');
    await checkGradients((l, x, dy) => ops.sparseSoftmaxCrossEntropyWithLogitsGrad(l, x, dy), [labels, values([3, 5], 11), values([3], 12)]);
  });

  test('sparse softmax cross entropy: the gradient is softmax - onehot', async () => {
    const g = new Graph();
    const logits = g.placeholder('float64', [null, 3], 'logits');
    const labels = g.placeholder('int32', [null], 'labels');
    const [d] = gradients(ops.reduceSum(ops.sparseSoftmaxCrossEntropyWithLogits(labels, logits)), [logits]);
    const out = await new Session(g).run(d, { logits: tensor([0, 0, Math.log(2)], [1, 3], 'float64'), labels: tensor([2], [1], 'int32') });
    expect(out.data[0]).toBeCloseTo(0.25, 12);
    expect(out.data[1]).toBeCloseTo(0.25, 12);
    expect(out.data[2]).toBeCloseTo(-0.5, 12);
  });

  test('batchNorm with given statistics, and with the batch moments', async () => {
    const x = values([4, 3], 5);
    await checkGradients(
      (t, m, v, o, s) => ops.batchNorm(t, m, v, o, s, 1e-3),
      [x, values([3], 6), values([3], 7, 0.5, 2), values([3], 8), values([3], 9)],
    );
    await checkGradients(
      (t, o, s) => {
        const m = ops.reduceMean(t, 0);
        const v = ops.reduceMean(ops.square(ops.sub(t, m)), 0);
        return ops.batchNorm(t, m, v, o, s, 1e-3);
      },
      [x, values([3], 8), values([3], 9)],
    );
  });

  test('dropout: the gradient is the mask the forward run drew', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [1000], 'x');
    const y = ops.dropout(x, 0.25, 7);
    const [dx] = gradients(y, [x]);
    const sess = new Session(g);
    const xv = tensor(Array.from({ length: 1000 }, (_, i) => 1 + (i % 7)), [1000], 'float64');
    const [yv, dv] = await sess.run([y, dx], { x: xv });
    let kept = 0;
    for (let i = 0; i < 1000; i++) {
      const factor = yv.data[i] / xv.data[i];
      expect(dv.data[i]).toBeCloseTo(factor, 12);
      if (factor !== 0) {
        kept++;
        expect(factor).toBeCloseTo(1 / 0.75, 12);
      }
    }
    expect(kept).toBeGreaterThan(650);
    expect(kept).toBeLessThan(850);
  });

  test('second order: gradient penalty through conv2d, maxPool and avgPool', async () => {
    await checkGradients(
      (x, f) => {
        const y = ops.reduceSum(ops.square(ops.maxPool(ops.relu(ops.conv2d(x, f, 1, 'SAME')), 2, 2, 'VALID')));
        const [dx, df] = gradients(y, [x, f]);
        return ops.add(ops.reduceSum(ops.square(dx)), ops.reduceSum(ops.square(df)));
      },
      [values([1, 4, 4, 2], 11, -2, 2, 0.1), values([3, 3, 2, 2], 12)],
      { atol: 1e-5, rtol: 1e-4 },
    );
    await checkGradients(
      (x, f) => {
        const y = ops.reduceSum(ops.square(ops.avgPool(ops.depthwiseConv2d(x, f, 1, 'SAME'), 2, 1, 'SAME')));
        const [dx, df] = gradients(y, [x, f]);
        return ops.add(ops.reduceSum(ops.square(dx)), ops.reduceSum(ops.square(df)));
      },
      [values([1, 4, 4, 2], 13), values([2, 2, 2, 2], 14)],
      { atol: 1e-5, rtol: 1e-4 },
    );
  });
});
