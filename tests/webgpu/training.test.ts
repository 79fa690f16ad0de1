import { Graph, Session, WebGpuBackend, creationCounts, ops, tensor, train } from 'graphc';
import { describeGpu, expectClose, seeded } from './helpers';

/** A 20-32-5 classifier MLP with Adam; returns the graph pieces. */
function mlp() {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 20], 'x');
  const y = g.placeholder('int32', [null], 'y');
  const W1 = g.variable(tensor(seeded(20 * 32, 1, 0.3), [20, 32]), 'W1');
  const b1 = g.variable(tensor(seeded(32, 2, 0.1), [32]), 'b1');
  const W2 = g.variable(tensor(seeded(32 * 5, 3, 0.3), [32, 5]), 'W2');
  const b2 = g.variable(tensor(seeded(5, 4, 0.1), [5]), 'b2');
  const h = ops.relu(ops.add(ops.matmul(x, W1), b1));
  const logits = ops.add(ops.matmul(h, W2), b2);
  const loss = ops.mean(ops.sparseSoftmaxCrossEntropyWithLogits(y, logits));
  const step = new train.Adam(0.01).minimize(loss);
  return { g, loss, step, vars: [W1, b1, W2, b2] };
}

const batch = (i: number, n = 16) => ({
  x: tensor(seeded(n * 20, 100 + i, 2), [n, 20]),
  y: tensor(Array.from({ length: n }, (_, k) => (k * 7 + i) % 5), [n], 'int32'),
});

describeGpu('webgpu training', () => {
  test('Adam steps on an MLP match the cpu: losses and every variable (weights and optimizer slots)', async () => {
    const { g, loss, step } = mlp();
    const cpu = new Session(g, { backend: 'cpu' });
    const gpu = new Session(g, { backend: 'webgpu' });
    for (const s of [cpu, gpu]) await s.run(g.globalVariablesInitializer());
    for (let i = 0; i < 5; i++) {
      const c = await cpu.run({ loss, step }, batch(i));
      const w = await gpu.run({ loss, step }, batch(i));
      expectClose(w.loss, c.loss, 1e-4, 1e-2, `loss at step ${i}`);
    }
    for (const name of cpu.variables.names()) {
      expectClose(await gpu.variables.read(name), await cpu.variables.read(name), 1e-3, 1e-2, name);
    }
    const exe = (gpu.backend as WebGpuBackend).compiled.at(-1)!;
    // only the global step's increment runs on the host: an int64 counter, exact there, moving nothing
    expect(exe.fallbacks.map((f) => [f.op, f.downloadBytes, f.uploadBytes, f.early])).toEqual([['assignAdd', 0, 0, true]]);
  });

  test("Adam's update of each variable is one kernel writing m, v and the weight in place; so is each beta power's", async () => {
    const { g, loss, step } = mlp();
    const sess = new Session(g, { backend: 'webgpu' });
    await sess.run(g.globalVariablesInitializer());
    await sess.run({ loss, step }, batch(0));
    const exe = (sess.backend as WebGpuBackend).compiled.at(-1)!;
    const gpu = exe.placement.filter((p) => p.where === 'gpu');
    // 4 variables (each with its m and v) + 2 beta powers, each one dispatch; no copy of a computed value into a variable
    expect(gpu.filter((p) => p.op === 'fusedAssign').map((p) => p.dispatches)).toEqual(Array(6).fill(1));
    expect(gpu.filter((p) => p.op === 'assign' || p.op === 'assignSub')).toEqual([]);
    // the hyperparameters are baked into the shader, so each kernel binds within WebGPU's default
    // 8 storage buffers per stage (W, m, v, the gradient and the two bias corrections)
    expect(Math.max(...gpu.filter((p) => p.op === 'fusedAssign').map((p) => p.bindings!))).toBeLessThanOrEqual(6);
  });

  test('a training step uploads only the batch, reads back only the loss, submits once, creates nothing', async () => {
    const { g, loss, step } = mlp();
    const sess = new Session(g, { backend: 'webgpu' });
    await sess.run(g.globalVariablesInitializer());
    await sess.run({ loss, step }, batch(0)); // compiles the plan
    const exe = (sess.backend as WebGpuBackend).compiled.at(-1)!;
    const before = { ...creationCounts };
    for (let i = 1; i <= 3; i++) {
      await sess.run({ loss, step }, batch(i));
      expect(exe.stats.lastRunBytesUploaded).toBe(16 * 20 * 4 + 16 * 4);
      expect(exe.stats.lastRunBytesDownloaded).toBe(4);
      expect(exe.stats.lastRunSubmits).toBe(1);
    }
    expect(creationCounts).toEqual(before);
    expect(exe.stats.runs).toBe(4);
    expect(exe.stats.dispatches).toBe(4 * exe.stats.dispatchesPerRun);
    // the arena is planned: buffers are reused across the step's intermediates
    expect(exe.stats.arenaBytes).toBeLessThan(exe.stats.naiveBytes);
    expect(exe.stats.arenaBytes).toBeGreaterThanOrEqual(exe.stats.lowerBoundBytes);
    // a step without fetches reads nothing back
    await sess.run(step, batch(5));
    const noFetch = (sess.backend as WebGpuBackend).compiled.at(-1)!;
    expect(noFetch.stats.lastRunBytesDownloaded).toBe(0);
    expect(noFetch.stats.lastRunBytesUploaded).toBe(16 * 20 * 4 + 16 * 4);
  });

  test('variables persist on the device across runs; read() and write() move them explicitly', async () => {
    const g = new Graph();
    const v = g.variable(tensor([1, 2, 3], [3]), 'v');
    const inc = ops.assignAdd(v, tensor([1, 1, 1], [3]));
    const sess = new Session(g, { backend: 'webgpu' });
    await expect(sess.run(ops.mul(v, 2))).rejects.toThrow(/variable 'v' is not initialized/);
    await sess.run(g.globalVariablesInitializer());
    await sess.run(inc);
    await sess.run(inc);
    expect(Array.from((await sess.variables.read('v')).data)).toEqual([3, 4, 5]);
    sess.variables.write('v', tensor([10, 20, 30], [3]));
    expect(Array.from((await sess.run(v)).data)).toEqual([10, 20, 30]);
    const exe = (sess.backend as WebGpuBackend).compiled.at(-1)!;
    expect(exe.stats.lastRunBytesUploaded).toBe(0);
    expect(exe.stats.lastRunBytesDownloaded).toBe(12);
  });

  test('int64 variables (step counters) live on the host, exactly; kernels that read one get a fresh device copy', async () => {
    const g = new Graph();
    const step = g.variable(tensor([2 ** 40], [], 'int64'), 'step');
    const inc = ops.assignAdd(step, tensor([1], [], 'int64'));
    const counter = g.variable(tensor([5], [], 'int64'), 'counter');
    const bump = ops.assignAdd(counter, tensor([1], [], 'int64'));
    const scaled = g.controlDependencies([bump], () => ops.mul(ops.cast(counter, 'float32'), 2));
    const cpu = new Session(g, { backend: 'cpu' });
    const gpu = new Session(g, { backend: 'webgpu' });
    for (const s of [cpu, gpu]) await s.run(g.globalVariablesInitializer());
    for (let i = 0; i < 3; i++) {
      const [a, b] = await Promise.all([cpu.run([step, scaled, inc]), gpu.run([step, scaled, inc])]);
      expect(b.map((t) => t && Array.from(t.data))).toEqual(a.map((t) => t && Array.from(t.data)));
    }
    expect(Array.from((await gpu.variables.read('step')).data)).toEqual([2 ** 40 + 3]);
    const exe = (gpu.backend as WebGpuBackend).compiled.at(-1)!;
    // the counter the cast reads is uploaded after its update (4 bytes); the 2^40 step never is
    expect(exe.stats.lastRunBytesUploaded).toBe(4);
    expect(exe.stats.lastRunBytesDownloaded).toBe(4);
  });

  test('dropout draws the cpu backend mask on the device, continuing across runs', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [8, 33], 'x');
    const y = ops.dropout(ops.relu(x), 0.4, 123);
    const feeds = { x: tensor(seeded(264, 1, 2).map((v) => Math.abs(v) + 0.1), [8, 33]) };
    const cpu = new Session(g, { backend: 'cpu' });
    const gpu = new Session(g, { backend: 'webgpu' });
    for (let run = 0; run < 3; run++) {
      const c = await cpu.run(y, feeds);
      const w = await gpu.run(y, feeds);
      expectClose(w, c, 1e-6, 0, `run ${run}`);
    }
    expect((gpu.backend as WebGpuBackend).compiled.at(-1)!.fallbacks).toEqual([]);
  });

  test('random initializers run on the host (the cpu generator, so the same values) and say so in the plan', async () => {
    const g = new Graph();
    const w = g.variable(ops.randomNormal([4, 3], 0, 1, 'float32', 5), 'w');
    const u = g.variable(ops.randomUniform([5], -1, 1, 'float32', 6), 'u');
    const cpu = new Session(g, { backend: 'cpu' });
    const gpu = new Session(g, { backend: 'webgpu' });
    const init = g.globalVariablesInitializer();
    await cpu.run(init);
    await gpu.run(init);
    const exe = (gpu.backend as WebGpuBackend).compiled.at(-1)!;
    expect(exe.fallbacks.map((f) => [f.op, f.early, f.downloadBytes])).toEqual([
      ['randomNormal', true, 0],
      ['randomUniform', true, 0],
    ]);
    expect(exe.stats.lastRunSubmits).toBe(1);
    for (const name of ['w', 'u']) expect(Array.from((await gpu.variables.read(name)).data)).toEqual(Array.from((await cpu.variables.read(name)).data));
    void w;
    void u;
  });

  test('multinomial sampling from logits a kernel computed reads them back, draws on the host and uploads the indices', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 5], 'x');
    const next = ops.multinomial(ops.mul(x, 2), 30, { seed: 3 });
    const feeds = { x: tensor([0, 1, 2, -1, 0.5, 3, 3, -Infinity, 0, 1], [2, 5]) };
    const cpu = new Session(g, { backend: 'cpu' });
    const gpu = new Session(g, { backend: 'webgpu' });
    for (let run = 0; run < 2; run++) expect(Array.from((await gpu.run(next, feeds)).data)).toEqual(Array.from((await cpu.run(next, feeds)).data));
    const exe = (gpu.backend as WebGpuBackend).compiled.at(-1)!;
    expect(exe.fallbacks.map((f) => [f.op, f.early, f.downloadBytes])).toEqual([['multinomial', false, 40]]);
  });
});
