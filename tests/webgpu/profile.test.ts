import { Graph, Session, applyOp, ops, tensor } from 'graphc';
import { describeGpu, seeded } from './helpers';

/**
 * Profiling on webgpu: each GPU step's compute pass is stamped by the GPU ('timestamp-query'),
 * each CPU step timed on the host clock, and a staged plan's frontier nodes too. Profiling must not
 * change what a run computes.
 */
describeGpu('webgpu profile', () => {
  test('times the GPU kernels and the CPU steps of every run, and the results stay those of a plain session', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [64, 256], 'x');
    const w = g.constant(tensor(seeded(256 * 128, 2, 0.1), [256, 128]), 'w');
    const h = ops.relu(ops.matmul(x, w), 'h');
    // a seeded random source runs as a CPU step on webgpu
    const y = ops.add(ops.reduceSum(h, [1]), ops.randomUniform([64], 0, 1, 'float32', 5), 'y');
    const feeds = { x: tensor(seeded(64 * 256, 1), [64, 256]) };
    const profiled = new Session(g, { backend: 'webgpu', profile: true });
    const plain = new Session(g, { backend: 'webgpu' });
    for (let i = 0; i < 3; i++) {
      const [a, b] = [await profiled.run(y, feeds), await plain.run(y, feeds)];
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
    }
    const byNode = new Map(profiled.profile().map((t) => [t.node, t]));
    expect(byNode.get('h')).toMatchObject({ op: 'fusedMatmul', calls: 3 });
    expect(byNode.get('h')!.ms).toBeGreaterThan(0);
    const random = [...byNode.values()].find((t) => t.op === 'randomUniform')!;
    expect(random.calls).toBe(3);
    profiled.clearProfile();
    await profiled.run(y, feeds);
    expect(new Map(profiled.profile().map((t) => [t.node, t.calls])).get('h')).toBe(1);
    profiled.close();
    plain.close();
  });

  test('a staged plan (a shape that depends on values) times both stages and its frontier on the host', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [6], 'x');
    const nz = applyOp('nonZero', [ops.greater(x, 0)], {}, 'nz', g).output(0);
    const y = ops.reduceSum(ops.gather(x, ops.cast(ops.reshape(nz, [-1]), 'int32')), undefined, false, 'y');
    const session = new Session(g, { backend: 'webgpu', profile: true });
    for (let i = 0; i < 2; i++) {
      const out = await session.run(y, { x: tensor([1, -2, 3, -4, 5, 0], [6]) });
      expect(Array.from(out.data)).toEqual([9]);
    }
    const byNode = new Map(session.profile().map((t) => [t.node, t]));
    expect(byNode.get('nz')).toMatchObject({ op: 'nonZero', calls: 2 });
    expect(byNode.get('y')?.calls).toBe(2);
    session.close();
  });
});
