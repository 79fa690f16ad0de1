import { Graph, GraphcError, Session, TensorValue, applyOp, importOnnx, ops, tensor } from 'graphc';
import { GpujsBackend, StagedExecutable } from '@graphc/runtime';
import { buildModel } from '../onnx/onnx-builder';
import { gpu } from '../webgpu/helpers';

/**
 * Plans with data-dependent shapes (nonZero's length; ONNX shapes, pads and k as tensors) on the
 * backends that compile static shapes only: the session runs them in stages and the outputs equal
 * the cpu backend's.
 */
const backends: [string, () => Session['backend'] | 'webgpu'][] = [
  ['gpujs (cpu)', () => new GpujsBackend({ mode: 'cpu', onFallback: () => undefined })],
  ['gpujs (webasm)', () => new GpujsBackend({ mode: 'webasm', onFallback: () => undefined })],
  ...(gpu.available ? ([['webgpu', () => 'webgpu']] as [string, () => 'webgpu'][]) : []),
];

function sessionOn(g: Graph, make: () => Session['backend'] | 'webgpu', optimize: 0 | 2 = 2): Session {
  const b = make();
  return new Session(g, { backend: b as 'webgpu', optimize });
}

function expectSame(got: TensorValue, want: TensorValue, label: string): void {
  expect({ label, dtype: got.dtype, shape: got.shape }).toEqual({ label, dtype: want.dtype, shape: want.shape });
  Array.from(want.data).forEach((w, i) => {
    const d = Math.abs(Number(got.data[i]) - Number(w));
    if (d > 1e-4 * (1 + Math.abs(Number(w)))) throw new Error(`${label}: element ${i} is ${got.data[i]}, the cpu gives ${w}`);
  });
}

/** sum over the rows x[i] where mask[i]: gather with nonZero's indices, then two layers of ops */
function maskedGraph(): { g: Graph; out: ReturnType<typeof ops.reduceSum>; idx: ReturnType<typeof ops.cast> } {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 3], 'x');
  const keep = ops.greater(ops.reduceSum(x, [1]), 0);
  const nz = applyOp('nonZero', [keep], {}, 'nz', g).output(0); // [1, n] int64
  const idx = ops.cast(ops.reshape(nz, [-1]), 'int32', 'idx');
  const rows = ops.gather(x, idx, 0);
  // a second data-dependent shape behind the first: nonZero of the kept rows' positive entries
  const nz2 = applyOp('nonZero', [ops.greater(rows, 1)], {}, 'nz2', g).output(0);
  const out = ops.add(ops.reduceSum(ops.tanh(rows), [0]), ops.reduceSum(ops.cast(nz2, 'float32')), 'out');
  return { g, out, idx };
}

const X1 = tensor([1, 2, -9, 0.5, 0.5, 0.5, -1, -1, -1, 3, 0, 1], [4, 3]);
const X2 = tensor([-1, -1, -1, 2, 2, 2, 3, -1, 0, 1.5, 0.25, 0], [4, 3]);

describe.each(backends)('staged runs on %s', (_label, make) => {
  test('nonZero twice in a row: outputs equal the cpu backend, fetches of the frontier included', async () => {
    const { g, out, idx } = maskedGraph();
    const cpu = new Session(g);
    const s = sessionOn(g, make);
    for (const x of [X1, X2, X1]) {
      const want = await cpu.run([out, idx], { x });
      const got = await s.run([out, idx], { x });
      expectSame(got[0], want[0], 'out');
      expectSame(got[1], want[1], 'idx');
    }
    // one plan per signature; its stage B compiles once per frontier shape (X1 and X2 keep 3 rows)
    expect(s.compileCount).toBe(1);
    const stats = s.lastStats()!;
    expect(stats.stagedRuns).toBe(3);
    s.close();
    cpu.close();
  });

  test('an ONNX model with its shape, pads, k and a cumSum axis as inputs (dynamicAttrs)', async () => {
    const bytes = buildModel({
      inputs: [
        { name: 'x', shape: [2, 3, 4] },
        { name: 'shape', elemType: 7, shape: [2] },
        { name: 'pads', elemType: 7, shape: [6] },
        { name: 'k', elemType: 7, shape: [1] },
        { name: 'axis', elemType: 7, shape: [] },
      ],
      outputs: [{ name: 'r' }, { name: 'p' }, { name: 'v' }, { name: 'c' }],
      nodes: [
        { op: 'Reshape', inputs: ['x', 'shape'], outputs: ['r0'] },
        { op: 'Relu', inputs: ['r0'], outputs: ['r'] },
        { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
        { op: 'TopK', inputs: ['x', 'k'], outputs: ['v', 'i'] },
        // the output shape is known, the attrs are values: gpujs has no kernel, the session stages
        { op: 'CumSum', inputs: ['x', 'axis'], outputs: ['c'] },
      ],
    });
    const { graph, signature } = importOnnx(bytes, { file: 'dynamic.onnx' });
    const x = tensor(Array.from({ length: 24 }, (_, i) => Math.sin(i) * 3), [2, 3, 4]);
    const cpu = new Session(graph, { optimize: 0 });
    const s = sessionOn(graph, make, 0);
    for (const [shape, pads, k, axis] of [
      [[6, 4], [0, 1, 0, 0, 1, 2], [2], [1]],
      [[4, -1], [1, 0, 1, 1, 0, 0], [3], [-1]],
    ]) {
      const feeds = { x, shape: tensor(shape, [2], 'int64'), pads: tensor(pads, [6], 'int64'), k: tensor(k, [1], 'int64'), axis: tensor(axis, [], 'int64') };
      const want = await cpu.run(signature.outputs, feeds);
      const got = await s.run(signature.outputs, feeds);
      signature.outputs.forEach((name, i) => expectSame(got[i], want[i], name));
    }
    s.close();
    cpu.close();
  });

  test('a fed placeholder no fetch needs does not trip the stages (the whole feed dict of a training loop, fetching less)', async () => {
    const { g, out } = maskedGraph();
    const unused = g.placeholder('int32', [4], 'labels');
    ops.identity(unused, 'only_for_training');
    const s = sessionOn(g, make);
    const want = await new Session(g).run(out, { x: X1 });
    expectSame(await s.run(out, { x: X1, labels: tensor([0, 1, 2, 3], [4], 'int32') }), want, 'out');
    s.close();
  });

  test('variables updated behind a data-dependent shape change once per run', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [5], 'x');
    const v = g.variable(tensor([0], [1]), 'count');
    const nz = applyOp('nonZero', [ops.greater(x, 0)], {}, 'nz', g).output(0);
    const update = ops.assignAdd(v, ops.reshape(ops.reduceSum(ops.cast(ops.onesLike(nz), 'float32')), [1]));
    const s = sessionOn(g, make);
    await s.run(g.globalVariablesInitializer());
    await s.run(update, { x: tensor([1, -1, 2, 3, 0], [5]) });
    await s.run(update, { x: tensor([1, 1, 1, 1, 1], [5]) });
    expect(Array.from((await s.run(v)).data)).toEqual([8]);
    s.close();
  });

  test('a data-dependent shape fed by a random op is refused, naming both', async () => {
    const g = new Graph();
    const r = ops.randomUniform([6], 0, 1, 'float32', 7);
    const nz = applyOp('nonZero', [ops.greater(r, 0.5)], {}, 'nz', g).output(0);
    const s = sessionOn(g, make);
    const err = await s.run(nz).catch((e) => e);
    expect(err).toBeInstanceOf(GraphcError);
    expect(String(err.message)).toMatch(/'nz' \(op 'nonZero'\).*randomUniform.*cpu backend/);
    s.close();
  });
});

test('StagedExecutable is what the session uses for such plans', async () => {
  const { g, out } = maskedGraph();
  const s = new Session(g, { backend: new GpujsBackend({ mode: 'cpu', onFallback: () => undefined }) });
  await s.run(out, { x: X1 });
  expect((s as unknown as { cache: Map<string, { executable: unknown }> }).cache.values().next().value!.executable).toBeInstanceOf(StagedExecutable);
  s.close();
});
