import { Graph, Session, WebGpuBackend, WebGpuVariableState, contentHash, creationCounts, deviceMemory, ops, tensor, train } from 'graphc';
import type { PipelineCache } from '../../packages/runtime/src/backends/webgpu/pipeline-cache';
import { describeGpu, expectClose, seeded } from './helpers';

/** Two float32 pairs with the same content hash and different values: the second word evens out the first's difference. */
function collidingPairs(): [Float32Array, Float32Array] {
  const a = new Float32Array([1, 3]);
  const fnv = (h: number, w: number): number => Math.imul(h ^ w, 0x01000193) >>> 0;
  const words = new Uint32Array(a.buffer);
  for (let k = 2; ; k++) {
    const b = new Float32Array([k, 0]);
    const bw = new Uint32Array(b.buffer);
    bw[1] = (fnv(0x811c9dc5, words[0]) ^ fnv(0x811c9dc5, bw[0]) ^ words[1]) >>> 0;
    if (Number.isFinite(b[1]) && Math.abs(b[1]) < 1e6 && Math.abs(b[1]) > 1e-6) return [a, b];
  }
}

/**
 * A webgpu session fed many shapes: one plan per batch size, the most recent `maxPlans` kept, and
 * all of them in one pool of arena buffers (GpuArenaPool), each as large as the largest plan asked
 * for. A plan compiled before the pool grew makes new bind groups before its next run, once.
 */

function classifier() {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 12], 'x');
  const y = g.placeholder('int32', [null], 'y');
  const W1 = g.variable(tensor(seeded(12 * 24, 1, 0.3), [12, 24]), 'W1');
  const b1 = g.variable(tensor(seeded(24, 2, 0.1), [24]), 'b1');
  const W2 = g.variable(tensor(seeded(24 * 4, 3, 0.3), [24, 4]), 'W2');
  const h = ops.relu(ops.add(ops.matmul(x, W1), b1));
  const logits = ops.matmul(h, W2);
  const loss = ops.mean(ops.sparseSoftmaxCrossEntropyWithLogits(y, logits));
  const step = new train.Adam(0.02).minimize(loss);
  return { g, loss, step };
}

const batch = (n: number, seed: number) => ({
  x: tensor(seeded(n * 12, 50 + seed, 2), [n, 12]),
  y: tensor(Array.from({ length: n }, (_, k) => (k * 5 + seed) % 4), [n], 'int32'),
});

describeGpu('webgpu: a session fed many shapes', () => {
  test('Adam steps at batch sizes that grow and shrink match the cpu; the arena is shared, old plans rebind once', async () => {
    const { g, loss, step } = classifier();
    const cpu = new Session(g);
    const gpu = new Session(g, { backend: 'webgpu', maxPlans: 3 });
    for (const s of [cpu, gpu]) await s.run(g.globalVariablesInitializer());
    // with the initializer's plan, three held: batch 4 runs again after 128 grew the pool (it rebinds)
    const sizes = [4, 16, 8, 64, 4, 128, 8, 4, 16];
    const arenas = new Map<number, number>();
    for (const [i, n] of sizes.entries()) {
      const c = await cpu.run({ loss, step }, batch(n, i));
      const w = await gpu.run({ loss, step }, batch(n, i));
      arenas.set(n, gpu.lastStats()!.arenaBytes);
      expectClose(w.loss, c.loss, 1e-4, 1e-2, `loss at step ${i} (batch ${n})`);
      expect((gpu.backend as WebGpuBackend).compiled.length).toBeLessThanOrEqual(3);
    }
    for (const name of cpu.variables.names()) expectClose(await gpu.variables.read(name), await cpu.variables.read(name), 1e-3, 1e-2, name);

    // one pool for the plans: as large as the largest plan's arena, not the sum of them
    const largest = Math.max(...arenas.values());
    const pool = (gpu.variables as WebGpuVariableState).arena.bytes;
    expect(pool).toBeGreaterThanOrEqual(largest);
    expect(pool).toBeLessThan(1.25 * largest);

    // batch 256 grows the pool again; batch 4, compiled before, makes its bind groups again on its next run, once
    await gpu.run({ loss, step }, batch(256, 20));
    const groups = creationCounts.bindGroups;
    await gpu.run({ loss, step }, batch(4, 21));
    const rebound = creationCounts.bindGroups - groups;
    expect(rebound).toBeGreaterThan(0);
    await gpu.run({ loss, step }, batch(4, 22));
    expect(creationCounts.bindGroups - groups).toBe(rebound);
    cpu.close();
    gpu.close();
  });

  test('device memory stays bounded over 8 batch sizes and is all given back on close', async () => {
    const { g, loss } = classifier();
    const before = deviceMemory.liveBytes;
    const gpu = new Session(g, { backend: 'webgpu' });
    await gpu.run(g.globalVariablesInitializer());
    let afterFirst = 0;
    let largestArena = 0;
    for (let n = 1; n <= 8; n++) {
      const w = await gpu.run(loss, batch(n * 16, n));
      expect(Number.isFinite(w.data[0])).toBe(true);
      largestArena = Math.max(largestArena, gpu.lastStats()!.arenaBytes);
      if (n === 1) afterFirst = deviceMemory.liveBytes - before;
    }
    // variables and per-plan staging, plus one arena pool; separate arenas would hold the sum over sizes
    const grown = deviceMemory.liveBytes - before - afterFirst;
    expect(grown).toBeLessThan(2 * largestArena + 16 * 4096);
    gpu.close();
    expect(deviceMemory.liveBytes).toBe(before);
  });

  test('plans for two batch sizes share the constants they fold alike; equal-sized constants of other values stay apart', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 64], 'x');
    // two weights of one size and different values, and a folded product of constants (refolded per plan)
    const a = g.constant(tensor(seeded(64 * 64, 7, 0.2), [64, 64]), 'a');
    const b = g.constant(tensor(seeded(64 * 64, 8, 0.2), [64, 64]), 'b');
    const scaled = ops.mul(b, g.constant(0.5, 'half'));
    const y = ops.matmul(ops.tanh(ops.matmul(x, a)), scaled);
    const cpu = new Session(g);
    const gpu = new Session(g, { backend: 'webgpu' });
    const feed = (n: number) => ({ x: tensor(seeded(n * 64, 30 + n, 1), [n, 64]) });
    const before = deviceMemory.liveBytes;
    expectClose(await gpu.run(y, feed(2)), await cpu.run(y, feed(2)), 1e-4, 1e-2, 'batch 2');
    const first = deviceMemory.liveBytes - before;
    expect(first).toBeGreaterThanOrEqual(2 * 64 * 64 * 4);
    expectClose(await gpu.run(y, feed(3)), await cpu.run(y, feed(3)), 1e-4, 1e-2, 'batch 3');
    // the second plan adds its arena and staging, not the 32 KiB of weights again
    expect(deviceMemory.liveBytes - before - first).toBeLessThan(64 * 64 * 4);
    expectClose(await gpu.run(y, feed(2)), await cpu.run(y, feed(2)), 1e-4, 1e-2, 'batch 2 again');
    gpu.close();
    cpu.close();
    expect(deviceMemory.liveBytes).toBe(before);
  });

  test('constants whose contents hash alike but differ keep buffers of their own', async () => {
    const [p, q] = collidingPairs();
    expect(contentHash(p)).toBe(contentHash(q));
    const g = new Graph();
    const x = g.placeholder('float32', [2], 'x');
    const y = ops.add(ops.mul(x, g.constant(tensor(p, [2]), 'p')), ops.mul(x, g.constant(tensor(q, [2]), 'q')));
    const feeds = { x: tensor([0.5, -2], [2]) };
    const gpu = new Session(g, { backend: 'webgpu', optimize: 0 });
    expectClose(await gpu.run(y, feeds), await new Session(g).run(y, feeds), 1e-6, 1e-6, 'p x + q x');
    gpu.close();
  });

  test("the device keeps the pipelines of live plans and a bounded few of freed ones", async () => {
    const { g, loss } = classifier();
    const gpu = new Session(g, { backend: 'webgpu', maxPlans: 1 });
    await gpu.run(g.globalVariablesInitializer());
    const pipelines = (gpu.backend as unknown as { ctx: { pipelines: PipelineCache } }).ctx.pipelines;
    const limit = pipelines.idleLimit;
    pipelines.idleLimit = 3;
    try {
      for (let n = 1; n <= 5; n++) {
        await gpu.run(loss, batch(n * 16, n));
        // each batch size bakes its shapes into new kernels: the live plan's, and at most three idle ones, are held
        const live = (gpu.backend as WebGpuBackend).compiled;
        expect(live.length).toBe(1);
        expect(pipelines.size).toBeLessThanOrEqual(live[0].stats.pipelines + 3);
      }
      // a freed plan's shape comes back: it compiles and runs again
      const again = await gpu.run(loss, batch(16, 1));
      expect(Number.isFinite(again.data[0])).toBe(true);
    } finally {
      pipelines.idleLimit = limit;
      gpu.close();
    }
  });

  test('runs of three batch sizes in flight at once, one plan kept: each equals the cpu', async () => {
    const { g, loss } = classifier();
    const cpu = new Session(g);
    const gpu = new Session(g, { backend: 'webgpu', maxPlans: 1 });
    for (const s of [cpu, gpu]) await s.run(g.globalVariablesInitializer());
    // not awaited one by one: each new size compiles (evicting a plan whose run is queued, growing
    // the arena pool under it) while the earlier runs wait for the device
    const sizes = [8, 64, 8, 128, 16, 64];
    const runs = await Promise.all(sizes.map((n, i) => gpu.run(loss, batch(n, i))));
    for (const [i, n] of sizes.entries()) expectClose(runs[i], await cpu.run(loss, batch(n, i)), 1e-4, 1e-2, `batch ${n} (run ${i})`);
    cpu.close();
    gpu.close();
  });
});
