import { Graph, GraphcError, ops, tensor } from '@graphc/graph';
import { GpujsBackend, GpujsMode, GpujsVariableState, Session, createBackend } from '@graphc/runtime';
import { closeTo, randomTensor, testModes } from './harness';

let modes: GpujsMode[] = [];
beforeAll(async () => {
  modes = await testModes();
});

function model() {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 3], 'x');
  const W = g.variable(tensor([1, 2, 3, 4, 5, 6], [3, 2]), 'W');
  const y = ops.matmul(x, W, {}, 'y');
  const update = ops.assignAdd(W, ops.fill([3, 2], 0.5, 'float32', { graph: g }), 'update');
  return { g, x, W, y, update };
}

test("'gpujs' is a registered backend name", () => {
  expect(createBackend('gpujs')).toBeInstanceOf(GpujsBackend);
});

test('an explicit mode that cannot run here is an error saying why', async () => {
  const backend = new GpujsBackend({ mode: 'webgl2' });
  await expect(backend.ready()).rejects.toThrow(/gpu.js mode 'webgl2' cannot run here: WebGL2 is not available/);
  expect(() => new GpujsBackend({ mode: 'nope' as GpujsMode })).toThrow(GraphcError);
});

test('auto picks a mode gpu.js can run and says which', async () => {
  const backend = new GpujsBackend({ mode: 'auto' });
  await backend.ready();
  expect(modes).toContain(backend.mode);
  backend.dispose();
});

test('variables persist across runs, host writes reach later runs, and a repeated signature compiles once', async () => {
  for (const mode of modes) {
    const { g, y, update } = model();
    const s = new Session(g, { backend: new GpujsBackend({ mode, onFallback: () => undefined }) });
    await s.run(g.globalVariablesInitializer());
    const feeds = { x: tensor([1, 0, 0, 0, 1, 0], [2, 3]) };
    expect(Array.from((await s.run(y, feeds)).data)).toEqual([1, 2, 3, 4]);
    await s.run(update);
    await s.run(update);
    expect(Array.from((await s.variables.read('W')).data)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(Array.from((await s.run(y, feeds)).data)).toEqual([2, 3, 4, 5]);
    s.variables.write('W', tensor([0, 1, 0, 1, 0, 1], [3, 2]));
    expect(Array.from((await s.run(y, feeds)).data)).toEqual([0, 1, 0, 1]);
    const compiled = s.compileCount;
    await s.run(y, { x: tensor([1, 1, 1, 2, 2, 2], [2, 3]) });
    expect(s.compileCount).toBe(compiled);
    s.close();
  }
});

test('reading a variable before initializing it is an error naming it', async () => {
  for (const mode of modes) {
    const { g, y } = model();
    const s = new Session(g, { backend: new GpujsBackend({ mode, onFallback: () => undefined }) });
    await expect(s.run(y, { x: tensor([1, 0, 0], [1, 3]) })).rejects.toThrow(/variable 'W' is not initialized/);
    s.close();
  }
});

test('a plan runs as one gpu.js pipeline where it can, and says when it does not', async () => {
  for (const mode of modes) {
    const { g, y, update } = model();
    const told: string[] = [];
    const backend = new GpujsBackend({ mode, onFallback: (m) => told.push(m) });
    const s = new Session(g, { backend });
    await s.run(g.globalVariablesInitializer());
    await s.run(y, { x: tensor([1, 0, 0], [1, 3]) });
    const infer = backend.lastInfo!;
    expect(infer.executor).toBe('pipeline');
    expect(infer.modesRan).toEqual([mode]);
    if (mode === 'webasm') expect(infer.pipelineExecutor).toMatch(/^fused-(sync|threaded)$/);
    if (mode === 'webgpu') expect(infer.pipelineExecutor).toBe('fused-encoder');
    if (mode === 'cpu') {
      // gpu.js has no fused executor for its cpu mode: the generic one runs, and that is reported
      expect(infer.pipelineExecutor).toBe('generic');
      expect(told.some((m) => /generic executor/.test(m))).toBe(true);
    }
    await s.run(update);
    const train = backend.lastInfo!;
    if (mode === 'webgpu' || mode === 'headlessgl') {
      // variables stay on the device: the assigning plan runs step by step, and says why
      expect(train.executor).toBe('steps');
      expect(train.fallbackReason).toMatch(/assigns variables/);
      expect(told.some((m) => /assigns variables/.test(m))).toBe(true);
    } else expect(train.executor).toBe('pipeline');
    s.close();
  }
});

test('on device modes the updated variable stays resident between runs', async () => {
  for (const mode of modes.filter((m) => m === 'webgpu' || m === 'headlessgl')) {
    const { g, update } = model();
    const s = new Session(g, { backend: new GpujsBackend({ mode, onFallback: () => undefined }) });
    await s.run(g.globalVariablesInitializer());
    await s.run(update);
    const state = s.variables as GpujsVariableState;
    const entry = (state as unknown as { entries: Map<string, { device?: unknown; host?: unknown }> }).entries.get('W')!;
    expect(entry.device).toBeDefined();
    expect(entry.device).not.toBeInstanceOf(Float32Array);
    expect(entry.host).toBeUndefined();
    s.close();
  }
});

test('pipelines can be turned off: every plan then runs step by step with the same numbers', async () => {
  for (const mode of modes) {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 5], 'x');
    const out = ops.softmax(ops.mul(ops.tanh(x), 3));
    const feeds = { x: randomTensor([4, 5], 3) };
    const on = new Session(g, { backend: new GpujsBackend({ mode, onFallback: () => undefined }) });
    const offBackend = new GpujsBackend({ mode, pipeline: false, onFallback: () => undefined });
    const off = new Session(g, { backend: offBackend });
    closeTo(await off.run(out, feeds), await on.run(out, feeds), `${mode} pipeline off`);
    expect(offBackend.lastInfo!.executor).toBe('steps');
    on.close();
    off.close();
  }
});

test('fetched values come back in their dtype', async () => {
  for (const mode of modes) {
    const g = new Graph();
    const x = g.placeholder('float32', [5], 'x');
    const s = new Session(g, { backend: new GpujsBackend({ mode, onFallback: () => undefined }) });
    const out = await s.run({ b: ops.greater(x, 0), i: ops.cast(x, 'int32'), a: ops.argMax(x, 0) }, { x: tensor([1.5, -2.5, 3.9, 0, -0.1], [5]) });
    expect(out.b.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(out.b.data)).toEqual([1, 0, 1, 0, 0]);
    expect(out.i.data).toBeInstanceOf(Int32Array);
    expect(Array.from(out.i.data)).toEqual([1, -2, 3, 0, 0]);
    expect(out.a.dtype).toBe('int64');
    expect(Array.from(out.a.data)).toEqual([2]);
    s.close();
  }
});

test('an anchor whose epilogue reads more tensors than one kernel may bind runs as the anchor, then the epilogue', async () => {
  // fusedMatmul with 6 epilogue tensors: 8 bindings with the operands; gpu.js's webgpu mode allows
  // 8 storage buffers a shader, output included (the fuzzer's gradient graphs made such kernels)
  const g = new Graph();
  const feeds: Record<string, ReturnType<typeof randomTensor>> = {};
  const feed = (name: string, shape: number[], seed: number) => {
    feeds[name] = randomTensor(shape, seed);
    return g.placeholder('float32', shape, name);
  };
  let y = ops.matmul(feed('x', [5, 4], 1), feed('w', [4, 3], 2));
  for (const [k, op] of (['add', 'mul', 'sub', 'maximum', 'mul', 'add'] as const).entries()) y = ops[op](y, feed(`e${k}`, [3], 10 + k));
  const out = ops.relu(y);
  for (const mode of modes) {
    const cpu = await new Session(g, { optimize: 0 }).run(out, feeds);
    const session = new Session(g, { backend: new GpujsBackend({ mode }), optimize: 2 });
    closeTo(await session.run(out, feeds), cpu, `${mode} fusedMatmul with 6 epilogue inputs`);
    expect(session.plans().at(-1)!.schedule.map((n) => n.op)).toContain('fusedMatmul');
    session.close();
  }
});
