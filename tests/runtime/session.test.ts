import { FeedError, GpujsBackend, Graph, GraphcError, Session, ops, tensor } from 'graphc';

const values = (t: { data: ArrayLike<number> }): number[] => Array.from(t.data);

describe('Session', () => {
  test('runs only the subgraph the fetches need (an unfed placeholder elsewhere is fine)', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [2], 'a');
    const unused = g.placeholder('float32', [2], 'unused');
    const y = ops.mul(a, 3);
    ops.add(unused, 1); // would need 'unused' fed if it ran
    const sess = new Session(g);
    expect(values(await sess.run(y, { a: tensor([1, 2]) }))).toEqual([3, 6]);
    expect(sess.plans()[0].schedule.some((n) => n.name === 'unused')).toBe(false);
  });

  test('fetches as one tensor, an array, an object, an op (null) and by name', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [], 'x');
    const y = ops.add(x, 1, 'y');
    const z = ops.mul(x, 2, 'z');
    const noop = ops.group([y], 'g');
    const sess = new Session(g);
    const feeds = { x: tensor([5], []) };
    const out = await sess.run({ y, both: [y, z], nested: { deep: [z, y] }, op: noop, byName: 'z' }, feeds);
    expect(out.y.data[0]).toBe(6);
    expect(out.both.map((t) => t.data[0])).toEqual([6, 10]);
    expect(out.nested.deep[0].data[0]).toBe(10);
    expect(out.nested.deep[1].data[0]).toBe(6);
    expect(out.op).toBeNull();
    expect(out.byName.data[0]).toBe(10);
    const both = await sess.run([y, z], feeds);
    expect(both.map((t) => t.data[0])).toEqual([6, 10]);
    expect(values(await sess.run(z, feeds))).toEqual([10]);
  });

  test('feeds by a Map keyed by tensor, numbers coerced to the placeholder dtype', async () => {
    const g = new Graph();
    const x = g.placeholder('int32', [3], 'x');
    const y = ops.mul(x, 2);
    const out = await new Session(g).run(y, new Map([[x, [1, 2, 3]]]));
    expect(out.dtype).toBe('int32');
    expect(values(out)).toEqual([2, 4, 6]);
  });

  test('variables persist across runs and assignAdd updates in place', async () => {
    const g = new Graph();
    const v = g.variable(tensor([1, 2], [2]), 'v');
    const inc = ops.assignAdd(v, tensor([10, 20], [2]));
    const sess = new Session(g);
    await sess.run(g.globalVariablesInitializer());
    await sess.run(inc);
    await sess.run(inc);
    expect(values(await sess.run(v))).toEqual([21, 42]);
  });

  test('controlDependencies orders an assign before a read', async () => {
    const g = new Graph();
    const v = g.variable(tensor([1], [1]), 'v');
    const set = ops.assign(v, tensor([7], [1]));
    const read = g.controlDependencies([set], () => ops.identity(v, 'read'));
    const sess = new Session(g);
    await sess.run(g.globalVariablesInitializer());
    expect(values(await sess.run(read))).toEqual([7]);
  });

  test('reading an uninitialized variable is a clear error naming it', async () => {
    const g = new Graph();
    const v = g.variable(tensor([1], [1]), 'weights');
    const y = ops.mul(v, 2);
    await expect(new Session(g).run(y)).rejects.toThrow(/variable 'weights' is not initialized/);
  });

  test('plans are cached per signature: a repeated run compiles nothing', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 2], 'x');
    const y = ops.relu(x);
    const sess = new Session(g);
    await sess.run(y, { x: tensor([1, -1], [1, 2]) });
    await sess.run(y, { x: tensor([2, -2], [1, 2]) });
    expect(sess.compileCount).toBe(1);
    await sess.run(y, { x: tensor([1, -1, 3, 4], [2, 2]) }); // new feed shape: new plan
    expect(sess.compileCount).toBe(2);
    await sess.run([y], { x: tensor([1, -1], [1, 2]) }); // same tensors, other structure: same plan
    expect(sess.compileCount).toBe(2);
  });

  test('broadcasting edge cases: scalar, rank-extending, both sides, and empty tensors', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [null, 1], 'a');
    const b = g.placeholder('float32', [3], 'b');
    const sum = ops.add(a, b);
    expect(sum.shape).toEqual([null, 3]);
    const sess = new Session(g);
    const out = await sess.run(sum, { a: tensor([1, 2], [2, 1]), b: tensor([10, 20, 30]) });
    expect(out.shape).toEqual([2, 3]);
    expect(values(out)).toEqual([11, 21, 31, 12, 22, 32]);
    const empty = await sess.run(sum, { a: tensor([], [0, 1]), b: tensor([1, 2, 3]) });
    expect(empty.shape).toEqual([0, 3]);
    expect(empty.data.length).toBe(0);
  });

  describe('feed errors are typed and name the feed', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 2], 'x');
    const y = ops.neg(x);
    const sess = new Session(g);
    test.each([
      ['wrong shape', { x: tensor([1, 2, 3], [1, 3]) }, /feed 'x' has shape \[1, 3\], expected \[\?, 2\]/],
      ['wrong dtype', { x: tensor([1, 2], [1, 2], 'int32') }, /feed 'x' has dtype int32, expected float32/],
      ['unknown name', { nope: tensor([1, 2], [1, 2]) }, /feed 'nope' does not name a tensor/],
      ['bad data length', { x: { dtype: 'float32', shape: [1, 2], data: new Float32Array(3) } }, /feed 'x' has 3 values/],
    ])('%s', async (_label, feeds, message) => {
      const err = await sess.run(y, feeds as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FeedError);
      expect((err as Error).message).toMatch(message);
    });
    test('missing feed', async () => {
      const err = await sess.run(y).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FeedError);
      expect((err as Error).message).toMatch(/placeholder 'x'.*must be fed/);
    });
  });

  test('build-time errors name the node, op and shapes', () => {
    const g = new Graph();
    const a = g.placeholder('float32', [2, 3], 'a');
    const b = g.placeholder('float32', [4, 5], 'b');
    expect(() => ops.matmul(a, b, {}, 'mm')).toThrow(/op 'matmul' \(node 'mm'\): inner dimensions differ: \[2, 3\] x \[4, 5\]/);
    expect(() => ops.add(a, b, 'sum')).toThrow(/node 'sum'.*cannot be broadcast/);
    expect(() => ops.add(a, g.placeholder('int32', [2, 3]))).toThrow(GraphcError);
  });

  describe('profile', () => {
    function graph() {
      const g = new Graph();
      const x = g.placeholder('float32', [null, 3], 'x');
      const w = g.variable(tensor([1, 2, 3, 4, 5, 6], [3, 2]), 'w');
      const h = ops.relu(ops.matmul(x, w, {}, 'mm'), 'act');
      const y = ops.reduceSum(ops.exp(h, 'e'), undefined, false, 'total');
      return { g, y, feeds: { x: tensor([1, -1, 2, 0, 3, -2], [2, 3]) } };
    }

    test('times each node of the optimized plans over the runs, slowest first, and starts afresh on clearProfile()', async () => {
      const { g, y, feeds } = graph();
      const sess = new Session(g, { profile: true });
      await sess.run(g.globalVariablesInitializer());
      for (let i = 0; i < 3; i++) await sess.run(y, feeds);
      const profile = sess.profile();
      // fusion runs matmul, relu and exp as one kernel named after the last; the initializer's
      // assign ran once; the variable read ran in both plans
      const byNode = new Map(profile.map((t) => [t.node, t]));
      expect(byNode.get('e')).toMatchObject({ op: 'fusedMatmul', calls: 3 });
      expect(byNode.get('total')).toMatchObject({ op: 'reduceSum', calls: 3 });
      expect(byNode.get('w/Assign')).toMatchObject({ op: 'assign', calls: 1 });
      expect(byNode.get('w')).toMatchObject({ op: 'variable', calls: 4 });
      for (const t of profile) expect(t.ms).toBeGreaterThanOrEqual(0);
      expect(profile.map((t) => t.ms)).toEqual([...profile.map((t) => t.ms)].sort((a, b) => b - a));
      sess.clearProfile();
      expect(sess.profile()).toEqual([]);
      await sess.run(y, feeds);
      expect(new Map(sess.profile().map((t) => [t.node, t.calls])).get('e')).toBe(1);
      sess.close();
    });

    test('needs the option, and a backend that can time its kernels', async () => {
      const { g, y, feeds } = graph();
      const plain = new Session(g);
      expect(() => plain.profile()).toThrow(/create the session with \{ profile: true \}/);
      const gpu = new Session(g, { backend: new GpujsBackend({ mode: 'cpu', onFallback: () => undefined }), profile: true });
      await expect(gpu.run(y, feeds)).rejects.toThrow(/the gpujs backend cannot time its kernels/);
      gpu.close();
    });
  });
});
