import { Graph, Session, TensorValue, checkGradients, ops, tensor } from 'graphc';

/** TensorFlow helpers built from graphc ops: values against hand computations, gradients against central differences. */

const f64 = (data: number[], shape = [data.length]): TensorValue => tensor(data, shape, 'float64');
const values = (t: TensorValue): number[] => Array.from(t.data as ArrayLike<number>);

async function run(build: (g: Graph) => Parameters<Session['run']>[0]): Promise<TensorValue[]> {
  const g = new Graph();
  const out = await new Session(g).run(build(g) as never);
  return (Array.isArray(out) ? out : [out]) as TensorValue[];
}

test('stack and unstack along every axis, negative axes included', async () => {
  const a = f64([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = f64([7, 8, 9, 10, 11, 12], [2, 3]);
  const [s0, s1, sLast] = await run((g) => [ops.stack([g.constant(a), g.constant(b)]), ops.stack([g.constant(a), g.constant(b)], 1), ops.stack([g.constant(a), g.constant(b)], -1)]);
  expect(s0.shape).toEqual([2, 2, 3]);
  expect(values(s0)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  expect(s1.shape).toEqual([2, 2, 3]);
  expect(values(s1)).toEqual([1, 2, 3, 7, 8, 9, 4, 5, 6, 10, 11, 12]);
  expect(sLast.shape).toEqual([2, 3, 2]);
  expect(values(sLast)).toEqual([1, 7, 2, 8, 3, 9, 4, 10, 5, 11, 6, 12]);
  const parts = await run((g) => ops.unstack(g.constant(a), 1));
  expect(parts.map((p) => p.shape)).toEqual([[2], [2], [2]]);
  expect(parts.map(values)).toEqual([[1, 4], [2, 5], [3, 6]]);
  expect(() => ops.stack([new Graph().placeholder('float32', [2])], 3)).toThrow(/axis 3 is out of range/);
  expect(() => ops.unstack(new Graph().placeholder('float32', [null, 2]), 0)).toThrow(/must be known/);
});

test('moments, reduceVariance, reduceStd, reduceLogSumExp and norm', async () => {
  const x = f64([1, 2, 3, 4, 10, 1000], [2, 3]);
  const [mean, variance, v1, std, lse, lseAll, l1, l2, linf] = await run((g) => {
    const t = g.constant(x);
    const [m, v] = ops.moments(t, 1);
    return [m, v, ops.reduceVariance(t, 0), ops.reduceStd(t, 1, true), ops.reduceLogSumExp(t, 1), ops.reduceLogSumExp(t), ops.norm(t, 1), ops.norm(t), ops.norm(t, Infinity, 1)];
  });
  expect(values(mean)).toEqual([2, 338]);
  expect(values(variance)[0]).toBeCloseTo(2 / 3, 12);
  expect(values(variance)[1]).toBeCloseTo(((4 - 338) ** 2 + (10 - 338) ** 2 + (1000 - 338) ** 2) / 3, 6);
  expect(values(v1)).toEqual([2.25, 16, 498.5 ** 2]);
  expect(std.shape).toEqual([2, 1]);
  expect(values(std)[0]).toBeCloseTo(Math.sqrt(2 / 3), 12);
  // e^1000 overflows a double: the shifted form does not
  expect(values(lse)[0]).toBeCloseTo(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), 12);
  expect(values(lse)[1]).toBeCloseTo(1000 + Math.log(1 + Math.exp(-990) + Math.exp(-996)), 9);
  expect(lseAll.shape).toEqual([]);
  expect(values(lseAll)[0]).toBeCloseTo(1000, 9);
  expect(values(l1)).toEqual([1020]);
  expect(values(l2)[0]).toBeCloseTo(Math.sqrt(1 + 4 + 9 + 16 + 100 + 1e6), 9);
  expect(values(linf)).toEqual([3, 1000]);
});

test('losses: mean squared error, absolute difference, Huber, log loss, hinge', async () => {
  const y = f64([0, 1, 1, 0]);
  const p = f64([0.1, 0.8, 3, -2]);
  const [mse, mae, huber, logLoss, hinge] = await run((g) => {
    const [yt, pt] = [g.constant(y), g.constant(p)];
    const probs = g.constant(f64([0.1, 0.8, 0.6, 0.3]));
    return [ops.losses.meanSquaredError(yt, pt), ops.losses.absoluteDifference(yt, pt), ops.losses.huber(yt, pt, 1), ops.losses.logLoss(yt, probs), ops.losses.hinge(yt, pt)];
  });
  const e = [0.1, -0.2, 2, -2];
  expect(values(mse)[0]).toBeCloseTo(e.reduce((s, v) => s + v * v, 0) / 4, 12);
  expect(values(mae)[0]).toBeCloseTo(e.reduce((s, v) => s + Math.abs(v), 0) / 4, 12);
  expect(values(huber)[0]).toBeCloseTo((0.5 * 0.01 + 0.5 * 0.04 + 1.5 + 1.5) / 4, 12);
  const ll = -[Math.log(1 - 0.1 + 1e-7), Math.log(0.8 + 1e-7), Math.log(0.6 + 1e-7), Math.log(1 - 0.3 + 1e-7)].reduce((s, v) => s + v, 0) / 4;
  expect(values(logLoss)[0]).toBeCloseTo(ll, 9);
  // y' = [-1, 1, 1, -1]: max(0, 1 - y'p) = [1.1, 0.2, 0, 0]
  expect(values(hinge)[0]).toBeCloseTo(1.3 / 4, 12);
});

test('sort, argsort, reverse, eye, linspace and silu', async () => {
  const x = f64([3, -1, 2, 0.5, 7, -4], [2, 3]);
  const [asc, desc, order, down, rev0, rev01, identity, wide, line, one, swish] = await run((g) => {
    const t = g.constant(x);
    return [
      ops.sort(t),
      ops.sort(t, 0, true),
      ops.argsort(t),
      ops.argsort(t, 1, true),
      ops.reverse(t, 0),
      ops.reverse(t, [0, -1]),
      ops.eye(3, 3, 'float32', { graph: g }),
      ops.eye(2, 3, 'int32', { graph: g }),
      ops.linspace(-1, 1, 5, { graph: g }),
      ops.linspace(4, 9, 1, { graph: g }),
      ops.silu(g.constant(f64([-2, 0, 2]))),
    ];
  });
  expect(values(asc)).toEqual([-1, 2, 3, -4, 0.5, 7]);
  expect(values(desc)).toEqual([3, 7, 2, 0.5, -1, -4]);
  expect(values(order)).toEqual([1, 2, 0, 2, 0, 1]);
  expect(values(down)).toEqual([0, 2, 1, 1, 0, 2]);
  expect(values(rev0)).toEqual([0.5, 7, -4, 3, -1, 2]);
  expect(values(rev01)).toEqual([-4, 7, 0.5, 2, -1, 3]);
  expect(values(identity)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  expect(wide.dtype).toBe('int32');
  expect(values(wide)).toEqual([1, 0, 0, 0, 1, 0]);
  expect(values(line)).toEqual([-1, -0.5, 0, 0.5, 1]);
  expect(values(one)).toEqual([4]);
  [-2, 0, 2].forEach((v, i) => expect(values(swish)[i]).toBeCloseTo(v / (1 + Math.exp(-v)), 12));
});

test('gradients of the helpers against central differences (float64)', async () => {
  const x = f64([0.3, -1.2, 2.5, 0.7, -0.4, 1.9], [2, 3]);
  const y = f64([0.5, -0.5, 1.5, 0.1, 0.2, 2.5], [2, 3]);
  await checkGradients((a, b) => ops.stack([a, b], 1), [x, y]);
  await checkGradients((a) => ops.mul(ops.unstack(a, 0)[1], 2), [x]);
  await checkGradients((a) => ops.moments(a, 1)[1], [x]);
  await checkGradients((a) => ops.reduceStd(a, 0), [x]);
  await checkGradients((a) => ops.reduceLogSumExp(a, 1), [x]);
  await checkGradients((a) => ops.norm(a, 2, 1), [x]);
  await checkGradients((a, b) => ops.losses.huber(b, a, 1), [x, y]);
  await checkGradients((a) => ops.reverse(ops.sort(a, 1), [0, 1]), [x]);
  await checkGradients((a) => ops.silu(a), [x]);
});

/** The direct 1-D convolution: x [N, W, C], w [K, C, O], stride, dilation, padding left; output width `ow`. */
function conv1dReference(x: TensorValue, w: TensorValue, stride: number, dilation: number, left: number, ow: number): number[] {
  const [n, width, c] = x.shape;
  const [k, , o] = w.shape;
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < ow; p++) {
      for (let f = 0; f < o; f++) {
        let sum = 0;
        for (let t = 0; t < k; t++) {
          const at = p * stride + t * dilation - left;
          if (at < 0 || at >= width) continue;
          for (let ch = 0; ch < c; ch++) sum += x.data[(b * width + at) * c + ch] * w.data[(t * c + ch) * o + f];
        }
        out.push(sum);
      }
    }
  }
  return out;
}

test('conv1d: SAME, VALID with stride and dilation, explicit padding; against the direct sum, with gradients', async () => {
  const seq = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * k + 1));
  const x = f64(seq(2 * 9 * 3, 0.7), [2, 9, 3]);
  const w = f64(seq(3 * 3 * 4, 1.3), [3, 3, 4]);
  const [same, valid, explicit] = await run((g) => {
    const [xs, ws] = [g.constant(x), g.constant(w)];
    return [ops.conv1d(xs, ws, 1, 'SAME'), ops.conv1d(xs, ws, 2, 'VALID', { dilation: 2 }), ops.conv1d(xs, ws, 1, [2, 1])];
  });
  const cases: [TensorValue, number[], number[]][] = [
    [same, [2, 9, 4], conv1dReference(x, w, 1, 1, 1, 9)],
    [valid, [2, 3, 4], conv1dReference(x, w, 2, 2, 0, 3)],
    [explicit, [2, 10, 4], conv1dReference(x, w, 1, 1, 2, 10)],
  ];
  for (const [out, shape, expected] of cases) {
    expect(out.shape).toEqual(shape);
    expected.forEach((e, i) => expect(out.data[i]).toBeCloseTo(e, 10));
  }
  await checkGradients((a, b) => ops.conv1d(a, b, 2, 'SAME', { dilation: 1 }), [x, w]);
  expect(() => ops.conv1d(new Graph().placeholder('float32', [2, 9]), w, 1, 'SAME')).toThrow(/rank 3/);
});

test('sequenceMask: j < length along a new last axis, bool or a numeric dtype', async () => {
  const [mask, floats] = await run((g) => {
    const lengths = g.constant(tensor([0, 2, 4, 1, 3, 5], [2, 3], 'int32'));
    return [ops.sequenceMask(lengths, 4), ops.sequenceMask(lengths, 4, 'float32')];
  });
  expect(mask.dtype).toBe('bool');
  expect(mask.shape).toEqual([2, 3, 4]);
  const expected = [0, 2, 4, 1, 3, 5].flatMap((n) => [0, 1, 2, 3].map((j) => (j < n ? 1 : 0)));
  expect(values(mask)).toEqual(expected);
  expect(floats.dtype).toBe('float32');
  expect(values(floats)).toEqual(expected);
  expect(() => ops.sequenceMask([1, 2], -1)).toThrow(/maxlen/);
});

test('booleanMask: rows where the mask is true, a mask over two dimensions, another axis; gradients scatter back', async () => {
  const x = f64(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
  const g = new Graph();
  const xs = g.placeholder('float64', [2, 3, 4], 'x');
  const rows = g.placeholder('bool', [2], 'rows');
  const grid = g.placeholder('bool', [2, 3], 'grid');
  const columns = g.placeholder('bool', [4], 'columns');
  const [byRow, byGrid, byColumn] = await new Session(g).run([ops.booleanMask(xs, rows), ops.booleanMask(xs, grid), ops.booleanMask(xs, columns, -1)], {
    x,
    rows: tensor([0, 1], [2], 'bool'),
    grid: tensor([1, 0, 1, 0, 0, 1], [2, 3], 'bool'),
    columns: tensor([1, 0, 0, 1], [4], 'bool'),
  });
  expect(byRow.shape).toEqual([1, 3, 4]);
  expect(values(byRow)).toEqual(values(x).slice(12));
  expect(byGrid.shape).toEqual([3, 4]);
  expect(values(byGrid)).toEqual([...values(x).slice(0, 4), ...values(x).slice(8, 12), ...values(x).slice(20, 24)]);
  expect(byColumn.shape).toEqual([2, 3, 2]);
  expect(values(byColumn)).toEqual([0, 3, 4, 7, 8, 11, 12, 15, 16, 19, 20, 23]);
  await checkGradients((a, m) => ops.mul(ops.booleanMask(a, m), 3), [f64([1, 2, 3, 4, 5, 6], [3, 2]), tensor([1, 0, 1], [3], 'bool')]);
  expect(() => ops.booleanMask(xs, g.placeholder('bool', [3], 'wrong'))).toThrow(/does not match/);
  expect(() => ops.booleanMask(xs, g.placeholder('float32', [2], 'numbers'))).toThrow(/must be bool/);
});

test('logSigmoid stays finite where sigmoid underflows; divNoNan gives 0, and a gradient of 0, where the divisor is 0', async () => {
  const [ls, dn] = await run((g) => [ops.logSigmoid(g.constant(f64([-800, -2, 0, 3, 800]))), ops.divNoNan(g.constant(f64([1, -6, 0, 5])), g.constant(f64([0, 3, 0, -2])))]);
  expect(values(ls)[0]).toBe(-800);
  [Math.log(1 / (1 + Math.exp(2))), Math.log(0.5), Math.log(1 / (1 + Math.exp(-3))), 0].forEach((e, i) => expect(values(ls)[i + 1]).toBeCloseTo(e, 12));
  expect(values(dn)).toEqual([0, -2, 0, -2.5]);
  await checkGradients((x) => ops.logSigmoid(x), [f64([-3, -0.5, 0.2, 4])]);
  await checkGradients((a, b) => ops.divNoNan(a, b), [f64([1.5, -2, 0.7]), f64([0.8, -1.3, 2.2])]);
  const g = new Graph();
  const [a, b] = [g.placeholder('float64', [2], 'a'), g.placeholder('float64', [2], 'b')];
  const { gradients } = await import('graphc');
  const [da, db] = await new Session(g).run(gradients(ops.reduceSum(ops.divNoNan(a, b)), [a, b]), { a: f64([3, 4]), b: f64([0, 2]) });
  expect(values(da)).toEqual([0, 0.5]);
  expect(values(db)).toEqual([0, -1]);
});
