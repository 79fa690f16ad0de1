import { DTypeError, Graph, GraphcError, Session, ShapeError, SymbolicTensor, TensorValue, evaluateNode, getOpDef, ops, tensor } from 'graphc';

type Feeds = Record<string, TensorValue>;

async function run(t: SymbolicTensor, feeds: Feeds = {}): Promise<TensorValue> {
  return new Session(t.graph).run(t, feeds);
}

async function runAll(ts: SymbolicTensor[], feeds: Feeds = {}): Promise<TensorValue[]> {
  return new Session(ts[0].graph).run(ts, feeds);
}

const values = (v: TensorValue): number[] => Array.from(v.data as ArrayLike<number>);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('reshape', () => {
  test('infers -1 from a known shape and keeps the values', async () => {
    const g = new Graph();
    const x = g.constant(tensor(range(12), [3, 4]));
    const y = ops.reshape(x, [2, -1, 3]);
    expect(y.shape).toEqual([2, 2, 3]);
    const out = await run(y);
    expect(out.shape).toEqual([2, 2, 3]);
    expect(values(out)).toEqual(range(12));
  });

  test('unknown dimensions: [?, 4] to [-1, 2] is [?, 2], resolved at run time', async () => {
    const g = new Graph();
    const x = g.placeholder('int32', [null, 4], 'x');
    const y = ops.reshape(x, [-1, 2]);
    expect(y.shape).toEqual([null, 2]);
    const out = await run(y, { x: tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], 'int32') });
    expect(out.dtype).toBe('int32');
    expect(out.shape).toEqual([4, 2]);
    expect(values(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test('build-time errors name the node', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3, 4], 'x');
    expect(() => ops.reshape(x, [5, 2], 'bad')).toThrow(ShapeError);
    expect(() => ops.reshape(x, [5, 2], 'bad2')).toThrow(/node 'bad2'.*12 elements vs 10/);
    expect(() => ops.reshape(x, [-1, 5])).toThrow(/not a multiple of 5/);
    expect(() => ops.reshape(x, [-1, -1])).toThrow(/at most one -1/);
    const u = g.placeholder('float32', [null, 4], 'u');
    expect(() => ops.reshape(u, [6], 'r3')).toThrow(/node 'r3'.*6 elements is not a multiple of 4/);
  });

  test('an unknown dimension that does not fit fails when the plan is compiled, naming the node', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 3], 'x');
    const y = ops.reshape(x, [-1, 2], 'pairs');
    await expect(run(y, { x: tensor(range(9), [3, 3]) })).rejects.toThrow(/node 'pairs'/);
  });

  test('empty tensors reshape; -1 next to a 0 is ambiguous', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [0, 3], 'x');
    const y = ops.reshape(x, [3, 0]);
    const out = await run(y, { x: tensor([], [0, 3]) });
    expect(out.shape).toEqual([3, 0]);
    expect(() => ops.reshape(x, [0, -1])).toThrow(/ambiguous/);
  });
});

describe('expandDims and squeeze', () => {
  test('expandDims at the front, the end, and a negative axis', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 3], 'x');
    expect(ops.expandDims(x).shape).toEqual([1, null, 3]);
    expect(ops.expandDims(x, -1).shape).toEqual([null, 3, 1]);
    const y = ops.expandDims(x, 1);
    expect(y.shape).toEqual([null, 1, 3]);
    const out = await run(y, { x: tensor([1, 2, 3, 4, 5, 6], [2, 3]) });
    expect(out.shape).toEqual([2, 1, 3]);
    expect(values(out)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => ops.expandDims(x, 3, 'e')).toThrow(/node 'e'.*axis 3 is out of range/);
  });

  test('squeeze all known 1s, or named axes (unknown ones checked at run time)', async () => {
    const g = new Graph();
    const a = g.constant(tensor([7, 8, 9], [1, 3, 1]));
    expect(ops.squeeze(a).shape).toEqual([3]);
    expect(values(await run(ops.squeeze(a, [-1])))).toEqual([7, 8, 9]);
    expect(ops.squeeze(a, -1).shape).toEqual([1, 3]);
    const x = g.placeholder('float32', [null, 1, null], 'x');
    expect(ops.squeeze(x).shape).toEqual([null, null]);
    const y = ops.squeeze(x, [0, 1], 'sq');
    expect(y.shape).toEqual([null]);
    const out = await run(y, { x: tensor([4, 5], [1, 1, 2]) });
    expect(out.shape).toEqual([2]);
    expect(values(out)).toEqual([4, 5]);
    await expect(run(y, { x: tensor([4, 5, 6, 7], [2, 1, 2]) })).rejects.toThrow(/node 'sq'.*cannot squeeze axis 0/);
    expect(() => ops.squeeze(a, [1], 'sq2')).toThrow(/node 'sq2'.*size is 3, not 1/);
  });

  test('reshape-like ops are marked as aliasing and their kernels return a view of the input buffer', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 2], 'x');
    const value = tensor([1, 2, 3, 4], [2, 2]);
    for (const y of [ops.reshape(x, [4]), ops.expandDims(x, 0), ops.squeeze(ops.expandDims(x, 1), [1])]) {
      expect(getOpDef(y.node.op).aliasesInput).toBe(true);
    }
    const r = evaluateNode(ops.reshape(x, [4, 1]).node, [value])[0];
    expect(r.shape).toEqual([4, 1]);
    expect(r.data).toBe(value.data);
    const e = evaluateNode(ops.expandDims(x, -1).node, [value])[0];
    expect(e.shape).toEqual([2, 2, 1]);
    expect(e.data).toBe(value.data);
    const s = evaluateNode(ops.squeeze(ops.expandDims(x, 2), [2]).node, [e])[0];
    expect(s.shape).toEqual([2, 2]);
    expect(s.data).toBe(value.data);
  });
});

describe('transpose', () => {
  test('matrix transpose by default', async () => {
    const g = new Graph();
    const x = g.constant(tensor([[1, 2, 3], [4, 5, 6]]));
    const out = await run(ops.transpose(x));
    expect(out.shape).toEqual([3, 2]);
    expect(values(out)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  test('rank-3 permutation with an unknown dimension and negative perm entries', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [null, 2, 3], 'x');
    const y = ops.transpose(x, [-1, 0, 1]);
    expect(y.shape).toEqual([3, null, 2]);
    const out = await run(y, { x: tensor(range(12), [2, 2, 3], 'float64') });
    expect(out.shape).toEqual([3, 2, 2]);
    // out[k, i, j] = x[i, j, k] = 6i + 3j + k
    expect(values(out)).toEqual([0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]);
  });

  test('large batched transpose (tiled path) matches the definition', async () => {
    const g = new Graph();
    const [B, M, N] = [3, 37, 70];
    const x = g.placeholder('int32', [B, M, N], 'x');
    const out = await run(ops.transpose(x, [0, 2, 1]), { x: tensor(range(B * M * N), [B, M, N], 'int32') });
    expect(out.shape).toEqual([B, N, M]);
    let bad = 0;
    for (let b = 0; b < B; b++)
      for (let n = 0; n < N; n++)
        for (let m = 0; m < M; m++) if (out.data[(b * N + n) * M + m] !== (b * M + m) * N + n) bad++;
    expect(bad).toBe(0);
  });

  test('bad perm names the node; empty tensors transpose', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [0, 2], 'x');
    expect(() => ops.transpose(x, [0, 0], 't')).toThrow(/node 't'.*not a permutation/);
    const out = await run(ops.transpose(x), { x: tensor([], [0, 2]) });
    expect(out.shape).toEqual([2, 0]);
  });
});

describe('cast', () => {
  test('float to int truncates toward zero; NaN gives 0 in both int dtypes', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [5], 'x');
    const [i32, i64] = await runAll([ops.cast(x, 'int32'), ops.cast(x, 'int64')], { x: tensor([1.7, -1.7, 2.5, NaN, -0.2], [5]) });
    expect(i32.dtype).toBe('int32');
    expect(i64.dtype).toBe('int64');
    expect(values(i32)).toEqual([1, -1, 2, 0, 0]);
    expect(values(i64).map((v) => v + 0)).toEqual([1, -1, 2, 0, 0]);
  });

  test('to bool is x != 0; bool to float is 0/1; float64 to float32 rounds', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [4], 'x');
    const b = ops.cast(x, 'bool');
    const back = ops.cast(b, 'float32');
    const f32 = ops.cast(x, 'float32');
    const [bv, fv, f32v] = await runAll([b, back, f32], { x: tensor([0, -3, 0.1, NaN], [4], 'float64') });
    expect(bv.dtype).toBe('bool');
    expect(values(bv)).toEqual([0, 1, 1, 1]);
    expect(values(fv)).toEqual([0, 1, 1, 1]);
    expect(f32v.data[2]).toBe(Math.fround(0.1));
  });

  test('int64 to int32 and int to float keep values; cast is elementwise', async () => {
    const g = new Graph();
    const x = g.placeholder('int64', [null], 'x');
    const y = ops.cast(x, 'float32');
    expect(y.shape).toEqual([null]);
    expect(values(await run(y, { x: tensor([3, -4], [2], 'int64') }))).toEqual([3, -4]);
    expect(getOpDef('cast').elementwise).toBeDefined();
    expect(() => ops.cast(x, 'float16' as never, 'c')).toThrow(DTypeError);
  });
});

describe('fill, zeros, ones, zerosLike, onesLike, range', () => {
  test('fill and zeros/ones in the default graph or a given one', async () => {
    const g = new Graph();
    const f = ops.fill([2, 2], 7, 'int32');
    expect(f.graph).toBe(g);
    expect(f.dtype).toBe('int32');
    expect(values(await run(f))).toEqual([7, 7, 7, 7]);
    const other = new Graph();
    const z = ops.zeros([3], 'float64', { graph: g });
    expect(z.graph).toBe(g);
    const o = ops.ones([2], 'bool', { graph: other, name: 'yes' });
    expect(o.graph).toBe(other);
    expect(o.name).toBe('yes');
    expect(values(await run(z))).toEqual([0, 0, 0]);
    expect(values(await run(o))).toEqual([1, 1]);
    expect(() => ops.fill([2], 1.5, 'int32', { graph: g, name: 'fi' })).toThrow(/node 'fi'.*not an integer/);
    expect(() => ops.fill([-1], 0, 'float32', { graph: g })).toThrow(ShapeError);
  });

  test('zerosLike/onesLike take the run-time shape of an unknown input', async () => {
    const g = new Graph();
    const x = g.placeholder('int64', [null, 2], 'x');
    const z = ops.zerosLike(x);
    const o = ops.onesLike(x);
    expect(o.shape).toEqual([null, 2]);
    expect(o.dtype).toBe('int64');
    const [zv, ov] = await runAll([z, o], { x: tensor([5, 6, 7, 8, 9, 10], [3, 2], 'int64') });
    expect(zv.shape).toEqual([3, 2]);
    expect(values(zv)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(values(ov)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  test('range as tf.range: one argument, fractional and negative deltas, empty', async () => {
    const g = new Graph();
    const r5 = ops.range(5);
    expect(r5.dtype).toBe('int32');
    expect(values(await run(r5))).toEqual([0, 1, 2, 3, 4]);
    const rf = ops.range(1, 2, 0.25);
    expect(rf.dtype).toBe('float32');
    expect(values(await run(rf))).toEqual([1, 1.25, 1.5, 1.75]);
    expect(values(await run(ops.range(5, 0, -2)))).toEqual([5, 3, 1]);
    const e = ops.range(3, 3, 1, 'int64');
    expect(e.shape).toEqual([0]);
    expect(values(await run(e))).toEqual([]);
    expect(ops.range(0, 1, 0.1, 'float64').shape).toEqual([10]);
    expect(() => ops.range(0, 3, 0, undefined, { graph: g, name: 'rz' })).toThrow(/node 'rz'.*delta must not be 0/);
  });
});

describe('concat and split', () => {
  test('concat along axis 1 and a negative axis, with unknown batch', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [null, 2], 'a');
    const b = g.placeholder('float32', [null, 1], 'b');
    const c = ops.concat([a, b], -1);
    expect(c.shape).toEqual([null, 3]);
    const out = await run(c, { a: tensor([1, 2, 3, 4], [2, 2]), b: tensor([9, 8], [2, 1]) });
    expect(out.shape).toEqual([2, 3]);
    expect(values(out)).toEqual([1, 2, 9, 3, 4, 8]);
  });

  test('concat along axis 0 of int values, constants taking the dtype of the first tensor, and empty parts', async () => {
    const g = new Graph();
    const a = g.placeholder('int32', [2], 'a');
    const e = g.placeholder('int32', [0], 'e');
    const c = ops.concat([a, e, [7, 8, 9]], 0);
    expect(c.shape).toEqual([5]);
    expect(c.dtype).toBe('int32');
    expect(values(await run(c, { a: tensor([1, 2], [2], 'int32'), e: tensor([], [0], 'int32') }))).toEqual([1, 2, 7, 8, 9]);
  });

  test('concat of long rows (block copy path)', async () => {
    const g = new Graph();
    const a = g.constant(tensor(range(200), [2, 100]));
    const b = g.constant(tensor(range(200).map((v) => -v), [2, 100]));
    const out = await run(ops.concat([a, b], 1));
    expect(out.shape).toEqual([2, 200]);
    expect(out.data[0]).toBe(0);
    expect(out.data[99]).toBe(99);
    expect(out.data[100]).toBe(-0);
    expect(out.data[199]).toBe(-99);
    expect(out.data[200]).toBe(100);
    expect(out.data[399]).toBe(-199);
  });

  test('concat errors name the node', () => {
    const g = new Graph();
    const a = g.placeholder('float32', [2, 2], 'a');
    const b = g.placeholder('float32', [3, 2], 'b');
    const i = g.placeholder('int32', [2, 2], 'i');
    expect(() => ops.concat([a, b], 1, 'cc')).toThrow(/node 'cc'.*differs .* in dimension 0/);
    expect(() => ops.concat([a, i], 0, 'cd')).toThrow(DTypeError);
    expect(() => ops.concat([a, b], 2, 'ce')).toThrow(/node 'ce'.*axis 2 is out of range/);
  });

  test('split into equal parts and into sizes with -1', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 6], 'x');
    const parts = ops.split(x, 3, 1);
    expect(parts.map((p) => p.shape)).toEqual([[2, 2], [2, 2], [2, 2]]);
    const feeds = { x: tensor(range(12), [2, 6]) };
    const outs = await runAll(parts, feeds);
    expect(outs.map(values)).toEqual([[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10, 11]]);
    const [head, tail] = ops.split(x, [1, -1], -1);
    expect(tail.shape).toEqual([2, 5]);
    const [h, t] = await runAll([head, tail], feeds);
    expect(values(h)).toEqual([0, 6]);
    expect(values(t)).toEqual([1, 2, 3, 4, 5, 7, 8, 9, 10, 11]);
    expect(() => ops.split(x, 4, 1, 'sp')).toThrow(/node 'sp'.*does not split into 4/);
    expect(() => ops.split(x, [2, 2], 1, 'sq')).toThrow(/node 'sq'.*do not add up/);
  });

  test('split of an unknown dimension is checked at run time', async () => {
    const g = new Graph();
    const x = g.placeholder('int32', [null], 'x');
    const [a, b] = ops.split(x, 2, 0, 'halves');
    expect(a.shape).toEqual([null]);
    const [av, bv] = await runAll([a, b], { x: tensor([1, 2, 3, 4], [4], 'int32') });
    expect(values(av)).toEqual([1, 2]);
    expect(values(bv)).toEqual([3, 4]);
    await expect(runAll([a, b], { x: tensor([1, 2, 3], [3], 'int32') })).rejects.toThrow(/node 'halves'/);
  });
});

describe('slice', () => {
  test('TensorFlow semantics: size -1 runs to the end', async () => {
    const g = new Graph();
    const x = g.constant(tensor(range(12), [3, 4]));
    const y = ops.slice(x, [1, 1], [2, -1]);
    expect(y.shape).toEqual([2, 3]);
    expect(values(await run(y))).toEqual([5, 6, 7, 9, 10, 11]);
    expect(values(await run(ops.slice(x, [0, 2], [-1, 1])))).toEqual([2, 6, 10]);
  });

  test('rank 3 with an unknown dimension; an empty slice', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 2, 3], 'x');
    const y = ops.slice(x, [1, 0, 1], [-1, 1, 2]);
    expect(y.shape).toEqual([null, 1, 2]);
    const feeds = { x: tensor(range(18), [3, 2, 3]) };
    const out = await run(y, feeds);
    expect(out.shape).toEqual([2, 1, 2]);
    expect(values(out)).toEqual([7, 8, 13, 14]);
    const e = await run(ops.slice(x, [0, 2, 0], [-1, -1, -1]), feeds);
    expect(e.shape).toEqual([3, 0, 3]);
  });

  test('out-of-range slices fail at build time, or at run time for unknown dimensions', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 4], 'x');
    expect(() => ops.slice(x, [0, 2], [1, 3], 's1')).toThrow(/node 's1'.*runs past/);
    expect(() => ops.slice(x, [0, -1], [1, 1], 's2')).toThrow(/node 's2'.*begin must be >= 0/);
    const y = ops.slice(x, [2, 0], [1, -1], 's3');
    await expect(run(y, { x: tensor(range(8), [2, 4]) })).rejects.toThrow(/node 's3'/);
  });
});

describe('gather', () => {
  test('rows by int32 indices, negative ones counting from the end', async () => {
    const g = new Graph();
    const params = g.constant(tensor([[1, 2], [3, 4], [5, 6]]));
    const ids = g.placeholder('int32', [null], 'ids');
    const y = ops.gather(params, ids);
    expect(y.shape).toEqual([null, 2]);
    const out = await run(y, { ids: tensor([2, 0, -1, -3], [4], 'int32') });
    expect(out.shape).toEqual([4, 2]);
    expect(values(out)).toEqual([5, 6, 1, 2, 5, 6, 1, 2]);
  });

  test('along axis 1 with rank-2 int64 indices', async () => {
    const g = new Graph();
    const params = g.placeholder('int32', [2, 3, 2], 'p');
    const ids = g.constant(tensor([[2, 0], [1, 1]], [2, 2], 'int64'));
    const y = ops.gather(params, ids, 1);
    expect(y.shape).toEqual([2, 2, 2, 2]);
    const out = await run(y, { p: tensor(range(12), [2, 3, 2], 'int32') });
    // out[a, i, j, c] = p[a, ids[i, j], c] = 6a + 2 ids[i, j] + c
    expect(values(out)).toEqual([4, 5, 0, 1, 2, 3, 2, 3, 10, 11, 6, 7, 8, 9, 8, 9]);
  });

  test('runs of consecutive indices (negative ones too), repeats and descending ones, along an inner axis', async () => {
    const g = new Graph();
    const params = g.placeholder('float32', [2, 6, 3], 'p');
    const ids = g.placeholder('int64', [2, 5], 'ids');
    const y = ops.gather(params, ids, 1);
    const p = tensor(range(36), [2, 6, 3]);
    // 3, 4, -1 (5) run on; 0, 0 repeat; 2, 1 descend; -6 (0), 1, 2 run on
    const indices = [3, 4, -1, 0, 0, 2, 1, -6, 1, 2];
    const out = await run(y, { p, ids: tensor(indices, [2, 5], 'int64') });
    expect(out.shape).toEqual([2, 2, 5, 3]);
    const expected: number[] = [];
    for (let a = 0; a < 2; a++) for (const i of indices) for (let c = 0; c < 3; c++) expected.push(18 * a + 3 * (i < 0 ? i + 6 : i) + c);
    expect(values(out)).toEqual(expected);
  });

  test('a row repeated many times along the first axis (padding read from one row), after a run and alone', async () => {
    const g = new Graph();
    const params = g.placeholder('float32', [5, 3], 'p');
    const ids = g.placeholder('int32', [null], 'ids');
    const y = ops.gather(params, ids);
    const p = tensor(range(15), [5, 3]);
    // 1, 2 run on and 2 repeats 6 times (1 + 6: an odd count past a doubling); -1 (4) alone 4 times; 0 twice; 3 once
    const indices = [1, 2, 2, 2, 2, 2, 2, 2, -1, 4, -1, 4, 0, 0, 3];
    const out = await run(y, { p, ids: tensor(indices, [indices.length], 'int32') });
    expect(values(out)).toEqual(indices.flatMap((i) => [0, 1, 2].map((c) => 3 * (i < 0 ? i + 5 : i) + c)));
  });

  test('constant index arrays become int32; float indices are refused', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3], 'x');
    const y = ops.gather(x, [1, 1, 0]);
    expect(values(await run(y, { x: tensor([10, 20, 30], [3]) }))).toEqual([20, 20, 10]);
    const f = g.placeholder('float32', [2], 'f');
    expect(() => ops.gather(x, f, 0, 'gf')).toThrow(DTypeError);
  });

  test('an out-of-range index is a typed error naming the node and the index', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3], 'x');
    const ids = g.placeholder('int64', [2], 'ids');
    const y = ops.gather(x, ids, 0, 'lookup');
    const err = await run(y, { x: tensor([1, 2, 3], [3]), ids: tensor([0, 3], [2], 'int64') }).catch((e) => e);
    expect(err).toBeInstanceOf(GraphcError);
    expect(String(err.message)).toMatch(/node 'lookup'.*index 3 .*out of range \[-3, 3\)/);
    await expect(run(y, { x: tensor([1, 2, 3], [3]), ids: tensor([-4, 0], [2], 'int64') })).rejects.toThrow(/index -4/);
  });
});

describe('pad', () => {
  test('constant padding with a value, per side', async () => {
    const g = new Graph();
    const x = g.constant(tensor([[1, 2], [3, 4]]));
    const y = ops.pad(x, [[1, 0], [0, 2]], 9);
    expect(y.shape).toEqual([3, 4]);
    expect(values(await run(y))).toEqual([9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9]);
  });

  test('reflect and symmetric modes', async () => {
    const g = new Graph();
    const v = g.constant(tensor([1, 2, 3]));
    expect(values(await run(ops.pad(v, [[2, 2]], 0, 'reflect')))).toEqual([3, 2, 1, 2, 3, 2, 1]);
    expect(values(await run(ops.pad(v, [[2, 3]], 0, 'symmetric')))).toEqual([2, 1, 1, 2, 3, 3, 2, 1]);
    const m = g.constant(tensor([[1, 2, 3], [4, 5, 6]]));
    const r = await run(ops.pad(m, [[1, 1], [2, 0]], 0, 'reflect'));
    expect(r.shape).toEqual([4, 5]);
    expect(values(r)).toEqual([6, 5, 4, 5, 6, 3, 2, 1, 2, 3, 6, 5, 4, 5, 6, 3, 2, 1, 2, 3]);
  });

  test('edge mode repeats the edge element, as often as asked', async () => {
    const g = new Graph();
    const v = g.constant(tensor([1, 2, 3]));
    expect(values(await run(ops.pad(v, [[2, 1]], 0, 'edge')))).toEqual([1, 1, 1, 2, 3, 3]);
    // wider than the dimension, which reflect and symmetric refuse
    expect(values(await run(ops.pad(g.constant(tensor([7])), [[3, 2]], 0, 'edge')))).toEqual([7, 7, 7, 7, 7, 7]);
    const m = g.constant(tensor([[1, 2, 3], [4, 5, 6]]));
    const r = await run(ops.pad(m, [[1, 2], [0, 4]], 0, 'edge'));
    expect(r.shape).toEqual([5, 7]);
    const top = [1, 2, 3, 3, 3, 3, 3];
    const bottom = [4, 5, 6, 6, 6, 6, 6];
    expect(values(r)).toEqual([...top, ...top, ...bottom, ...bottom, ...bottom]);
  });

  test('wrap mode continues x periodically, past its length too', async () => {
    const g = new Graph();
    const v = g.constant(tensor([1, 2, 3]));
    expect(values(await run(ops.pad(v, [[2, 1]], 0, 'wrap')))).toEqual([2, 3, 1, 2, 3, 1]);
    expect(values(await run(ops.pad(v, [[4, 5]], 0, 'wrap')))).toEqual([3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2]);
    const m = g.constant(tensor([[1, 2, 3], [4, 5, 6]]));
    const r = await run(ops.pad(m, [[1, 2], [0, 2]], 0, 'wrap'));
    expect(r.shape).toEqual([5, 5]);
    expect(values(r)).toEqual([4, 5, 6, 4, 5, 1, 2, 3, 1, 2, 4, 5, 6, 4, 5, 1, 2, 3, 1, 2, 4, 5, 6, 4, 5]);
    expect(() => ops.pad(g.constant(tensor(new Float32Array(0), [0])), [[1, 0]], 0, 'wrap')).toThrow(/wrap padding of \[1, 0\] needs elements to repeat/);
  });

  test('edge padding of an empty dimension is a ShapeError naming it; no padding of it is fine', async () => {
    const g = new Graph();
    const empty = g.constant(tensor(new Float32Array(0), [2, 0]));
    expect(() => ops.pad(empty, [[0, 0], [1, 0]], 0, 'edge')).toThrow(/edge padding of \[1, 0\] needs elements to repeat: dimension 1 of \[2, 0\] is empty/);
    expect((await run(ops.pad(empty, [[1, 1], [0, 0]], 0, 'edge'))).shape).toEqual([4, 0]);
    const fed = g.placeholder('float32', [null, null], 'fed');
    const s = new Session(g);
    await expect(s.run(ops.pad(fed, [[0, 0], [0, 2]], 0, 'edge'), { fed: tensor(new Float32Array(0), [3, 0]) })).rejects.toThrow(
      /edge padding of \[0, 2\] needs elements to repeat: dimension 1 of \[3, 0\] is empty/,
    );
  });

  test('NHWC border around H and W (whole channel vectors copied)', async () => {
    const g = new Graph();
    const C = 40;
    const x = g.placeholder('float32', [null, 2, 2, C], 'x');
    const y = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], -1);
    expect(y.shape).toEqual([null, 4, 4, C]);
    const out = await run(y, { x: tensor(range(2 * 2 * 2 * C), [2, 2, 2, C]) });
    expect(out.shape).toEqual([2, 4, 4, C]);
    let bad = 0;
    for (let n = 0; n < 2; n++)
      for (let h = 0; h < 4; h++)
        for (let w = 0; w < 4; w++)
          for (let c = 0; c < C; c++) {
            const inside = h >= 1 && h <= 2 && w >= 1 && w <= 2;
            const want = inside ? ((n * 2 + h - 1) * 2 + w - 1) * C + c : -1;
            if (out.data[((n * 4 + h) * 4 + w) * C + c] !== want) bad++;
          }
    expect(bad).toBe(0);
  });

  test('int dtype, unknown dimension, empty input', async () => {
    const g = new Graph();
    const x = g.placeholder('int32', [null, 2], 'x');
    const y = ops.pad(x, [[0, 1], [1, 0]], -1);
    expect(y.shape).toEqual([null, 3]);
    expect(y.dtype).toBe('int32');
    expect(values(await run(y, { x: tensor([5, 6], [1, 2], 'int32') }))).toEqual([-1, 5, 6, -1, -1, -1]);
    const e = await run(y, { x: tensor([], [0, 2], 'int32') });
    expect(e.shape).toEqual([1, 3]);
    expect(values(e)).toEqual([-1, -1, -1]);
  });

  test('errors name the node', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 3], 'x');
    expect(() => ops.pad(x, [[0, 0], [3, 0]], 0, 'reflect', 'p1')).toThrow(/node 'p1'.*too large .* \(at most 2\)/);
    expect(() => ops.pad(x, [[0, 0]], 0, 'constant', 'p2')).toThrow(/node 'p2'.*pair per dimension/);
    expect(() => ops.pad(x, [[0, 0], [-1, 0]], 0, 'constant', 'p3')).toThrow(ShapeError);
    const i = g.placeholder('int32', [2], 'i');
    expect(() => ops.pad(i, [[1, 1]], 0.5, 'constant', 'p4')).toThrow(DTypeError);
    const y = ops.pad(x, [[2, 0], [0, 0]], 0, 'symmetric', 'p5');
    await expect(run(y, { x: tensor([1, 2, 3], [1, 3]) })).rejects.toThrow(/node 'p5'/);
  });
});

describe('tile', () => {
  test('repeats along each dimension', async () => {
    const g = new Graph();
    const x = g.constant(tensor([[1, 2]]));
    const y = ops.tile(x, [2, 3]);
    expect(y.shape).toEqual([2, 6]);
    expect(values(await run(y))).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    const col = g.constant(tensor([[1], [2]], [2, 1], 'int32'));
    expect(values(await run(ops.tile(col, [1, 2])))).toEqual([1, 1, 2, 2]);
    expect(values(await run(ops.tile(col, [2, 1])))).toEqual([1, 2, 1, 2]);
  });

  test('long rows repeated whole, and a rank-3 tile mixing both', async () => {
    const g = new Graph();
    const x = g.constant(tensor(range(80), [2, 40], 'int32'));
    const out = await run(ops.tile(x, [2, 1]));
    expect(out.shape).toEqual([4, 40]);
    expect(values(out)).toEqual([...range(80), ...range(80)]);
    const c = g.constant(tensor([1, 2, 3, 4], [2, 1, 2]));
    const t = await run(ops.tile(c, [2, 2, 1]));
    expect(t.shape).toEqual([4, 2, 2]);
    expect(values(t)).toEqual([1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4]);
  });

  test('unknown dimensions, a zero multiple, errors', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 2], 'x');
    const y = ops.tile(x, [2, 1]);
    expect(y.shape).toEqual([null, 2]);
    const out = await run(y, { x: tensor([1, 2, 3, 4], [2, 2]) });
    expect(out.shape).toEqual([4, 2]);
    expect(values(out)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    const z = ops.tile(x, [0, 1]);
    expect(z.shape).toEqual([0, 2]);
    expect((await run(z, { x: tensor([1, 2], [1, 2]) })).shape).toEqual([0, 2]);
    expect(() => ops.tile(x, [2], 'tl')).toThrow(/node 'tl'.*one non-negative integer per dimension/);
  });
});

describe('oneHot', () => {
  test('last axis; out-of-range and negative indices give a row of offValue', async () => {
    const g = new Graph();
    const ids = g.placeholder('int32', [null], 'ids');
    const y = ops.oneHot(ids, 3);
    expect(y.shape).toEqual([null, 3]);
    expect(y.dtype).toBe('float32');
    const out = await run(y, { ids: tensor([0, 2, -1, 3], [4], 'int32') });
    expect(out.shape).toEqual([4, 3]);
    expect(values(out)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  });

  test('axis 0, custom values, int output and int64 indices', async () => {
    const g = new Graph();
    const y = ops.oneHot([0, 2], 3, 5, -1, 0, 'int32');
    expect(y.shape).toEqual([3, 2]);
    expect(y.dtype).toBe('int32');
    expect(values(await run(y))).toEqual([5, -1, -1, -1, -1, 5]);
    const ids = g.constant(tensor([[0, 1], [1, 1]], [2, 2], 'int64'));
    const z = ops.oneHot(ids, 2, 1, 0, 1);
    expect(z.shape).toEqual([2, 2, 2]);
    // out[o, d, i] = ids[o, i] == d
    expect(values(await run(z))).toEqual([1, 0, 0, 1, 0, 0, 1, 1]);
  });

  test('errors name the node', () => {
    const g = new Graph();
    const f = g.placeholder('float32', [2], 'f');
    expect(() => ops.oneHot(f, 3, 1, 0, -1, 'float32', 'oh')).toThrow(DTypeError);
    const i = g.placeholder('int32', [2], 'i');
    expect(() => ops.oneHot(i, -1, 1, 0, -1, 'float32', 'oh2')).toThrow(/node 'oh2'.*depth/);
    expect(() => ops.oneHot(i, 3, 0.5, 0, -1, 'int32', 'oh3')).toThrow(/node 'oh3'.*onValue 0.5/);
    expect(() => ops.oneHot(i, 3, 1, 0, 3, 'float32', 'oh4')).toThrow(/node 'oh4'.*axis 3/);
  });
});

describe('tfIdfVectorizer', () => {
  const int = (v: number[], shape: number[], dtype: 'int32' | 'int64' = 'int32') => tensor(v, shape, dtype);

  test("ONNX's example: skips of 2 pair items three apart", async () => {
    const g = new Graph();
    const x = g.constant(int([94, 17, 36, 12, 28], [5]));
    // with 2 skips the 2-grams are [94, 12] and [17, 28]; with 0, [94, 17] ... [12, 28]; skips up to 2 try all three
    const exact = ops.tfIdfVectorizer(x, { ngrams: [[94, 12], [17, 28], [94, 17], [36, 28]], minGramLength: 2, maxSkipCount: 2 });
    const adjacent = ops.tfIdfVectorizer(x, { ngrams: [[94, 12], [17, 28], [94, 17], [36, 28]] });
    const [a, b] = await runAll([exact, adjacent]);
    expect(a.dtype).toBe('float32');
    expect(values(a)).toEqual([1, 1, 1, 1]); // [36, 28]: one skip
    expect(values(b)).toEqual([0, 0, 1, 0]);
  });

  test('1-grams count once per position, longer n-grams once per start and skip; rows are independent', async () => {
    const g = new Graph();
    const x = g.constant(int([5, 6, 5, 6, 5, 6, 1, 1, 1, 1, 1, 6], [2, 6], 'int64'));
    const y = ops.tfIdfVectorizer(x, { ngrams: [[5], [6], [1], [5, 6], [1, 1], [5, 6, 5]], maxSkipCount: 1 });
    expect(y.shape).toEqual([2, 6]);
    // row 0: [5, 6] adjacent 3 times; one skip pairs items two apart (5-5, 6-6), so no more; [5, 6, 5]
    //   adjacent at starts 0 and 2. Row 1: [1, 1] adjacent 4 times and one skip apart 3 times.
    expect(values(await run(y))).toEqual([3, 3, 0, 3, 0, 2, 0, 1, 5, 0, 7, 0]);
  });

  test('minGramLength and maxGramLength bound what counts', async () => {
    const g = new Graph();
    const x = g.constant(int([1, 2, 3, 1, 2, 3], [6]));
    const ngrams = [[1], [2], [1, 2], [2, 3], [1, 2, 3]];
    const [only2, upTo2] = await runAll([
      ops.tfIdfVectorizer(x, { ngrams, minGramLength: 2, maxGramLength: 2 }),
      ops.tfIdfVectorizer(x, { ngrams, minGramLength: 1, maxGramLength: 2 }),
    ]);
    expect(values(only2)).toEqual([0, 0, 2, 2, 0]);
    expect(values(upTo2)).toEqual([2, 2, 2, 2, 0]);
  });

  test('IDF and TFIDF weight each n-gram (as onnxruntime does), at its output index; shared indexes add', async () => {
    const g = new Graph();
    const x = g.constant(int([7, 3, 5, 7, 7, 1], [6]));
    const ngrams = [[7], [3], [3, 5]];
    const weights = [0.5, 2, 3];
    const outs = await runAll([
      ops.tfIdfVectorizer(x, { ngrams, indexes: [2, 0, 1], mode: 'IDF', weights }),
      ops.tfIdfVectorizer(x, { ngrams, indexes: [2, 0, 1], mode: 'TFIDF', weights }),
      ops.tfIdfVectorizer(x, { ngrams, indexes: [1, 1, 0] }),
      ops.tfIdfVectorizer(x, { ngrams, indexes: [1, 1, 0], mode: 'TFIDF', weights }),
      ops.tfIdfVectorizer(x, { ngrams, indexes: [0, 4, 1] }),
    ]);
    // the first two and the TF and TFIDF sums are what onnxruntime 1.30 gives for the same model
    expect(outs.map(values)).toEqual([[2, 3, 0.5], [2, 3, 1.5], [1, 4], [3, 3.5], [3, 1, 0, 0, 1]]);
  });

  test('the op keeps ONNX attrs; bad attrs and inputs are errors naming the node', () => {
    const g = new Graph();
    const x = g.placeholder('int32', [null, 8], 'x');
    const y = ops.tfIdfVectorizer(x, { ngrams: [[4, 5], [1], [2, 3]], indexes: [0, 2, 1] }, 'tf');
    expect(y.shape).toEqual([null, 3]);
    expect(y.node.attrs).toMatchObject({ pool: [1, 4, 5, 2, 3], ngramCounts: [0, 1], ngramIndexes: [2, 0, 1], minGramLength: 1, maxGramLength: 2 });
    const add = (attrs: Record<string, unknown>, name: string) =>
      g.addNode('tfIdfVectorizer', [x], { mode: 'TF', minGramLength: 1, maxGramLength: 2, maxSkipCount: 0, pool: [1, 2, 3], ngramCounts: [0, 1], ngramIndexes: [0, 1], ...attrs } as never, { name });
    expect(() => add({}, 'ok')).not.toThrow();
    expect(() => add({ mode: 'BM25' }, 'm')).toThrow(/node 'm'.*mode must be TF, IDF, TFIDF/);
    expect(() => add({ ngramCounts: [0, 2] }, 'c')).toThrow(/node 'c'.*whole 2-grams/);
    expect(() => add({ ngramIndexes: [0] }, 'i')).toThrow(/node 'i'.*1 ngramIndexes for the pool's 2 n-grams/);
    expect(() => add({ pool: [1, 2, 3, 2, 3], ngramIndexes: [0, 1, 2] }, 'd')).toThrow(/node 'd'.*\[2, 3\] appears twice/);
    expect(() => add({ weights: [1] }, 'w')).toThrow(/node 'w'.*1 weights/);
    expect(() => add({ maxGramLength: 0 }, 'g')).toThrow(/node 'g'.*maxGramLength/);
    expect(() => ops.tfIdfVectorizer(g.placeholder('float32', [4]), { ngrams: [[1]] })).toThrow(DTypeError);
    expect(() => ops.tfIdfVectorizer(g.placeholder('int32', [2, 2, 2]), { ngrams: [[1]] })).toThrow(/\[C\] or \[N, C\]/);
    expect(() => ops.tfIdfVectorizer(x, { ngrams: [[1], []] })).toThrow(/non-empty/);
  });
});
