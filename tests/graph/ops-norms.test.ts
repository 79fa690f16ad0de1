import { Graph, Session, TensorValue, checkGradients, gradients, ops, tensor, train } from 'graphc';

/** tf.linalg.global_norm, tf.clip_by_norm, tf.clip_by_global_norm and tf.math.l2_normalize, in graphc. */

const f64 = (data: number[], shape = [data.length]): TensorValue => tensor(data, shape, 'float64');
const values = (t: TensorValue): number[] => Array.from(t.data as ArrayLike<number>);

function close(got: number[], want: number[], tol = 1e-12): void {
  expect(got).toHaveLength(want.length);
  want.forEach((w, i) => (Number.isNaN(w) ? expect(got[i]).toBeNaN() : expect(Math.abs(got[i] - w)).toBeLessThanOrEqual(tol)));
}

test('globalNorm and clipByGlobalNorm: scaled only past the clip norm, NaN when the norm is infinite', async () => {
  const g = new Graph();
  const a = g.placeholder('float64', [2], 'a');
  const b = g.placeholder('float64', [1], 'b');
  const s = new Session(g);
  const feeds = { a: f64([3, 4]), b: f64([12]) };
  expect(values(await s.run(ops.globalNorm([a, b]), feeds))).toEqual([13]);
  const [[ca, cb], norm] = ops.clipByGlobalNorm([a, b], 6.5);
  const [outA, outB, outNorm] = await s.run([ca, cb, norm], feeds);
  close(values(outA), [1.5, 2]);
  close(values(outB), [6]);
  expect(values(outNorm)).toEqual([13]);
  const [[ua, ub]] = ops.clipByGlobalNorm([a, b], 20);
  const [keptA, keptB] = await s.run([ua, ub], feeds);
  expect([...values(keptA), ...values(keptB)]).toEqual([3, 4, 12]);
  const [inf] = await s.run([ca], { a: f64([Infinity, 1]), b: f64([0]) });
  expect(values(inf).every(Number.isNaN)).toBe(true);
});

test('clipByNorm over all axes and per row; a zero vector stays zero with a finite gradient', async () => {
  const g = new Graph();
  const x = g.placeholder('float64', [2, 2], 'x');
  const s = new Session(g);
  const feeds = { x: f64([3, 4, 0.3, 0.4], [2, 2]) };
  // the whole tensor's norm is sqrt(25.25): scaled to 2.5
  const k = 2.5 / Math.sqrt(25.25);
  close(values(await s.run(ops.clipByNorm(x, 2.5), feeds)), [3 * k, 4 * k, 0.3 * k, 0.4 * k]);
  close(values(await s.run(ops.clipByNorm(x, 1, 1), feeds)), [0.6, 0.8, 0.3, 0.4]);
  const zero = ops.clipByNorm(x, 1, 1);
  const [dx] = gradients(ops.reduceSum(zero), [x]);
  const [out, grad] = await s.run([zero, dx], { x: f64([0, 0, 0.3, 0.4], [2, 2]) });
  close(values(out), [0, 0, 0.3, 0.4]);
  expect(values(grad).every(Number.isFinite)).toBe(true);
  close(values(grad).slice(0, 2), [1, 1]);
});

test('l2Normalize gives unit rows; epsilon guards a zero row', async () => {
  const g = new Graph();
  const x = g.placeholder('float64', [2, 2], 'x');
  const out = await new Session(g).run(ops.l2Normalize(x, 1), { x: f64([3, 4, 0, 0], [2, 2]) });
  close(values(out), [0.6, 0.8, 0, 0]);
});

test('gradients of the clips against central differences (float64), in the scaling branch', async () => {
  const a = f64([0.9, -1.7, 2.2, 0.4], [2, 2]);
  const b = f64([1.1, -0.3, 0.8]);
  await checkGradients((x) => ops.clipByNorm(x, 1.5, 1), [a]);
  await checkGradients((x, y) => {
    const [[cx, cy]] = ops.clipByGlobalNorm([x, y], 2);
    return ops.add(ops.reduceSum(ops.mul(cx, cx)), ops.reduceSum(ops.sin(cy)));
  }, [a, b]);
  await checkGradients((x) => ops.l2Normalize(x, 0), [a]);
});

test('a training step with gradients clipped by their global norm (computeGradients, clip, applyGradients)', async () => {
  const g = new Graph();
  const x = g.placeholder('float64', [1, 2], 'x');
  const w = g.variable(tensor([1, 1], [2, 1], 'float64'), 'w');
  const loss = ops.reduceSum(ops.square(ops.matmul(x, w)));
  const sgd = new train.SGD(0.1);
  const gradsAndVars = sgd.computeGradients(loss, [w]);
  const [clipped] = ops.clipByGlobalNorm(gradsAndVars.map(([grad]) => grad), 1);
  const step = sgd.applyGradients(clipped.map((c, i) => [c, gradsAndVars[i][1]]));
  const s = new Session(g);
  await s.run(g.globalVariablesInitializer());
  // x = [3, 4]: xw = 7, dloss/dw = 2 * 7 * x = [42, 56], norm 70 -> clipped to [0.6, 0.8]
  await s.run(step, { x: f64([3, 4], [1, 2]) });
  close(values(await s.run(w)), [1 - 0.06, 1 - 0.08]);
});
