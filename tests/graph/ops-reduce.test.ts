import { DTypeError, Graph, Session, ShapeError, SymbolicTensor, TensorValue, ops, tensor } from 'graphc';

type Feeds = Record<string, TensorValue>;

async function run(t: SymbolicTensor, feeds: Feeds = {}): Promise<TensorValue> {
  return new Session(t.graph).run(t, feeds);
}

const values = (v: TensorValue): number[] => Array.from(v.data as ArrayLike<number>);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

// x[i, j, k] = 12 i + 4 j + k, shape [2, 3, 4]
const cube = (): TensorValue => tensor(range(24), [2, 3, 4], 'float64');

describe('reduceSum', () => {
  test('all axes, one axis, negative axes, keepDims', async () => {
    const g = new Graph();
    const x = g.constant(tensor([[1, 2], [3, 4]]));
    expect(ops.reduceSum(x).shape).toEqual([]);
    expect(values(await run(ops.reduceSum(x)))).toEqual([10]);
    expect(values(await run(ops.reduceSum(x, 1)))).toEqual([3, 7]);
    expect(values(await run(ops.reduceSum(x, -2)))).toEqual([4, 6]);
    const k = ops.reduceSum(x, 0, true);
    expect(k.shape).toEqual([1, 2]);
    const kv = await run(k);
    expect(kv.shape).toEqual([1, 2]);
    expect(values(kv)).toEqual([4, 6]);
    const all = await run(ops.reduceSum(x, undefined, true));
    expect(all.shape).toEqual([1, 1]);
    expect(values(all)).toEqual([10]);
  });

  test('every axis pattern of a rank-3 tensor (inner, outer, alternating runs)', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [2, 3, 4], 'x');
    const f = { x: cube() };
    // sum over i of 12i + 4j + k = 12 + 8j + 2k
    expect(values(await run(ops.reduceSum(x, 0), f))).toEqual([0, 1, 2].flatMap((j) => [0, 1, 2, 3].map((k) => 12 + 8 * j + 2 * k)));
    // over j: 36 i + 12 + 3k
    expect(values(await run(ops.reduceSum(x, 1), f))).toEqual([0, 1].flatMap((i) => [0, 1, 2, 3].map((k) => 36 * i + 12 + 3 * k)));
    // over k: 48 i + 16 j + 6
    expect(values(await run(ops.reduceSum(x, 2), f))).toEqual([0, 1].flatMap((i) => [0, 1, 2].map((j) => 48 * i + 16 * j + 6)));
    // over i and k: 2 * (4 * (4j) + 6) + 4 * 12 = 32 j + 60
    const ik = await run(ops.reduceSum(x, [0, -1], true), f);
    expect(ik.shape).toEqual([1, 3, 1]);
    expect(values(ik)).toEqual([60, 92, 124]);
    // over i and j: 6 * k + (3 * 12 + 2 * 12) = 6k + 60
    expect(values(await run(ops.reduceSum(x, [1, 0]), f))).toEqual([60, 66, 72, 78]);
    expect(values(await run(ops.reduceSum(x, []), f))).toEqual(range(24));
  });

  test('axes are stored normalized (sorted, non-negative) so equal reductions have equal attrs', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 4], 'x');
    expect(ops.reduceSum(x, [-1, 0, 2]).node.attrs).toEqual({ axes: [0, 2], keepDims: false });
    expect(ops.reduceMean(x).node.attrs).toEqual({ axes: [0, 1, 2], keepDims: false });
  });

  test('unknown dimensions at build time; size-1 dimensions', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 1, 3], 'x');
    const y = ops.reduceSum(x, [0]);
    expect(y.shape).toEqual([1, 3]);
    const z = ops.reduceSum(x, -1, true);
    expect(z.shape).toEqual([null, 1, 1]);
    const feeds = { x: tensor([1, 2, 3, 10, 20, 30], [2, 1, 3]) };
    expect(values(await run(y, feeds))).toEqual([11, 22, 33]);
    const zv = await run(z, feeds);
    expect(zv.shape).toEqual([2, 1, 1]);
    expect(values(zv)).toEqual([6, 60]);
  });

  test('float32 sums accumulate in double precision', async () => {
    const g = new Graph();
    const n = 100000;
    const x = g.constant(tensor(new Float32Array(2 * n).fill(0.1), [n, 2]));
    const out = await run(ops.reduceSum(x, 0));
    const exact = n * Math.fround(0.1);
    expect(Math.abs(out.data[0] - exact)).toBeLessThan(1e-3);
    expect(Math.abs(out.data[1] - exact)).toBeLessThan(1e-3);
  });

  test('int dtypes keep their dtype; int32 wraps as int32', async () => {
    const g = new Graph();
    const x = g.constant(tensor([2147483647, 1, 5, -7], [2, 2], 'int32'));
    const y = ops.reduceSum(x, 1);
    expect(y.dtype).toBe('int32');
    expect(values(await run(y))).toEqual([-2147483648, -2]);
    const big = g.constant(tensor([2 ** 40, 3], [2], 'int64'));
    expect(values(await run(ops.reduceSum(big)))).toEqual([2 ** 40 + 3]);
  });

  test('errors name the node; bool is refused', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3], 'x');
    expect(() => ops.reduceSum(x, 2, false, 'r')).toThrow(ShapeError);
    expect(() => ops.reduceSum(x, -3, false, 'r2')).toThrow(/node 'r2'.*axis -3 is out of range for rank 2/);
    expect(() => ops.reduceMax(x, [0, 2], true, 'r3')).toThrow(/node 'r3'.*axis 2 is out of range/);
    const b = g.placeholder('bool', [2], 'b');
    expect(() => ops.reduceSum(b, undefined, false, 'rb')).toThrow(DTypeError);
    expect(() => ops.reduceSum(b, undefined, false, 'rb2')).toThrow(/node 'rb2'/);
  });
});

describe('empty reductions give the identity', () => {
  test('sum 0, prod 1, max -Inf, min +Inf, mean NaN over an empty axis', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, null], 'x');
    const feeds = { x: tensor([], [2, 0]) };
    const outs = await new Session(g).run(
      [ops.reduceSum(x, 1), ops.reduceProd(x, 1), ops.reduceMax(x, 1), ops.reduceMin(x, 1), ops.reduceMean(x, 1)],
      feeds,
    );
    expect(outs.map((o) => o.shape)).toEqual([[2], [2], [2], [2], [2]]);
    expect(values(outs[0])).toEqual([0, 0]);
    expect(values(outs[1])).toEqual([1, 1]);
    expect(values(outs[2])).toEqual([-Infinity, -Infinity]);
    expect(values(outs[3])).toEqual([Infinity, Infinity]);
    expect(values(outs[4])).toEqual([NaN, NaN]);
    const whole = await run(ops.reduceSum(x), feeds);
    expect(values(whole)).toEqual([0]);
    const kept = await run(ops.reduceSum(x, 0), feeds);
    expect(kept.shape).toEqual([0]);
  });

  test('integer max/min of nothing are the extreme integers; integer mean of nothing is 0', async () => {
    const g = new Graph();
    const a = g.placeholder('int32', [0], 'a');
    const b = g.placeholder('int64', [0], 'b');
    const feeds = { a: tensor([], [0], 'int32'), b: tensor([], [0], 'int64') };
    const [mx, mn, m64, mean] = await new Session(g).run([ops.reduceMax(a), ops.reduceMin(a), ops.reduceMax(b), ops.reduceMean(a)], feeds);
    expect(values(mx)).toEqual([-2147483648]);
    expect(values(mn)).toEqual([2147483647]);
    expect(values(m64)).toEqual([-(2 ** 63)]);
    expect(values(mean)).toEqual([0]);
  });
});

describe('reduceMean, reduceMax, reduceMin, reduceProd', () => {
  test('mean over axes (and the `mean` alias)', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [2, 3, 4], 'x');
    const f = { x: cube() };
    expect(ops.mean).toBe(ops.reduceMean);
    expect(values(await run(ops.mean(x), f))).toEqual([11.5]);
    // over j: 12 i + 4 + k
    expect(values(await run(ops.reduceMean(x, 1), f))).toEqual([4, 5, 6, 7, 16, 17, 18, 19]);
    const k = await run(ops.reduceMean(x, [0, 2], true), f);
    expect(k.shape).toEqual([1, 3, 1]);
    // 6 + 4 j + 1.5
    expect(values(k)).toEqual([7.5, 11.5, 15.5]);
  });

  test('integer mean truncates toward zero', async () => {
    const g = new Graph();
    const x = g.constant(tensor([1, 2, -1, -2, 7, 0], [3, 2], 'int32'));
    const y = ops.reduceMean(x, 1);
    expect(y.dtype).toBe('int32');
    expect(values(await run(y))).toEqual([1, -1, 3]);
  });

  test('max and min over inner and outer axes; NaN propagates', async () => {
    const g = new Graph();
    const x = g.constant(tensor([[3, -1, 2], [0, 5, -4]]));
    expect(values(await run(ops.reduceMax(x, 1)))).toEqual([3, 5]);
    expect(values(await run(ops.reduceMax(x, 0)))).toEqual([3, 5, 2]);
    expect(values(await run(ops.reduceMin(x, 1)))).toEqual([-1, -4]);
    expect(values(await run(ops.reduceMin(x, 0)))).toEqual([0, -1, -4]);
    expect(values(await run(ops.reduceMax(x)))).toEqual([5]);
    const n = g.constant(tensor([[1, NaN], [2, 3]]));
    expect(values(await run(ops.reduceMax(n, 1)))).toEqual([NaN, 3]);
    expect(values(await run(ops.reduceMin(n, 0)))).toEqual([1, NaN]);
    const i = g.constant(tensor([-5, -9, -2], [3], 'int64'));
    expect(values(await run(ops.reduceMax(i)))).toEqual([-2]);
    expect(values(await run(ops.reduceMin(i)))).toEqual([-9]);
  });

  test('prod over an axis', async () => {
    const g = new Graph();
    const x = g.placeholder('int32', [null, 3], 'x');
    const y = ops.reduceProd(x, 0);
    expect(y.shape).toEqual([3]);
    expect(values(await run(y, { x: tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32') }))).toEqual([4, 10, 18]);
    expect(values(await run(ops.reduceProd(x, -1), { x: tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32') }))).toEqual([6, 120]);
  });

  test('a scalar reduces to itself', async () => {
    const g = new Graph();
    const s = g.constant(tensor([4], [], 'float32'));
    const y = ops.reduceMax(s);
    expect(y.shape).toEqual([]);
    expect(values(await run(y))).toEqual([4]);
  });
});

describe('argMax and argMin', () => {
  test('int64 by default; over the last axis, first index on ties', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 4], 'x');
    const y = ops.argMax(x, -1);
    expect(y.dtype).toBe('int64');
    expect(y.shape).toEqual([null]);
    const feeds = { x: tensor([1, 7, 7, 0, -3, -1, -8, -1], [2, 4]) };
    const out = await run(y, feeds);
    expect(out.dtype).toBe('int64');
    expect(values(out)).toEqual([1, 1]);
    const mn = await run(ops.argMin(x, 1, 'int32'), feeds);
    expect(mn.dtype).toBe('int32');
    expect(values(mn)).toEqual([3, 2]);
  });

  test('over a leading axis (row-wise scan) and a middle axis', async () => {
    const g = new Graph();
    const x = g.constant(tensor([[3, 1, 4], [1, 5, 9], [2, 6, 5]]));
    expect(values(await run(ops.argMax(x)))).toEqual([0, 2, 1]);
    expect(values(await run(ops.argMin(x, 0)))).toEqual([1, 0, 0]);
    const c = g.constant(cube());
    // along j of 12i + 4j + k: max at j = 2, min at j = 0
    const am = ops.argMax(c, 1, 'int32');
    expect(am.shape).toEqual([2, 4]);
    expect(values(await run(am))).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
    expect(values(await run(ops.argMin(c, -2)))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('NaN wins, as max propagates it; int inputs', async () => {
    const g = new Graph();
    const x = g.constant(tensor([[1, NaN, 5, NaN], [NaN, 0, 1, 2]]));
    expect(values(await run(ops.argMax(x, 1)))).toEqual([1, 0]);
    expect(values(await run(ops.argMin(x, 1)))).toEqual([1, 0]);
    expect(values(await run(ops.argMax(x, 0)))).toEqual([1, 0, 0, 0]);
    const i = g.constant(tensor([4, -2, 9, 9], [4], 'int32'));
    expect(values(await run(ops.argMax(i)))).toEqual([2]);
    expect(values(await run(ops.argMin(i)))).toEqual([1]);
  });

  test('errors: an empty axis, a scalar, a bad output type, all naming the node', async () => {
    const g = new Graph();
    const e = g.placeholder('float32', [2, 0], 'e');
    expect(() => ops.argMax(e, 1, 'int64', 'am')).toThrow(/node 'am'.*axis 1 of \[2, 0\] is empty/);
    const s = g.constant(tensor([1], []));
    expect(() => ops.argMax(s, 0, 'int64', 'as')).toThrow(/node 'as'.*rank >= 1/);
    expect(() => ops.argMin(e, 0, 'float32' as never, 'at')).toThrow(DTypeError);
    const u = g.placeholder('float32', [null], 'u');
    const y = ops.argMax(u, 0, 'int32', 'au');
    await expect(run(y, { u: tensor([], [0]) })).rejects.toThrow(/node 'au'.*empty/);
    // an empty outer dimension is fine: there is nothing to index
    const r = await run(ops.argMax(e, 0), { e: tensor([], [2, 0]) });
    expect(r.shape).toEqual([0]);
  });
});
