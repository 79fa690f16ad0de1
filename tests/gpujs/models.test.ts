import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Graph, SymbolicTensor, TensorValue, loadModel, ops, tensor, train } from 'graphc';
import { GpujsBackend, GpujsMode, Session, initializeFromModel } from '@graphc/runtime';
import { closeTo, rand, randomTensor, testModes } from './harness';

/**
 * Every model in models/ on every gpu.js mode of this machine against the cpu backend: inference
 * at optimization level 2 (fused kernels included), and for models that declare a loss, training
 * steps (the gradient ops and the optimizer's assigns), with losses and trained weights compared.
 */
// whole models on up to four modes, on a machine that may be shared: generous per-test time
jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '../..');
const MODELS = path.join(ROOT, 'models');
const modelDirs = fs.existsSync(MODELS) ? fs.readdirSync(MODELS).filter((d) => fs.statSync(path.join(MODELS, d)).isDirectory()) : [];

let modes: GpujsMode[] = [];
beforeAll(async () => {
  modes = await testModes();
});

/** The model's graph and saved variables: its model.json, else what its build script writes. */
async function loadExample(dir: string): Promise<{ graph: Graph; variables: Map<string, TensorValue> }> {
  let file = path.join(MODELS, dir, 'model.json');
  if (!fs.existsSync(file)) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `gpujs-${dir}-`));
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = require(path.join(MODELS, dir, 'build.ts')) as Record<string, (d: string) => Promise<void>>;
    const build = Object.entries(mod).find(([k, v]) => k.startsWith('build') && typeof v === 'function');
    if (!build) throw new Error(`models/${dir} has neither model.json nor a build function`);
    await build[1](out);
    file = path.join(out, 'model.json');
  }
  const m = await loadModel(file);
  return { graph: m.graph, variables: m.variables };
}

/** Feeds for every placeholder: batch 3, labels in range for int inputs. */
function feedsFor(graph: Graph, seed: number): Record<string, TensorValue> {
  const feeds: Record<string, TensorValue> = {};
  graph.placeholders().forEach((p, k) => {
    const shape = p.shape.map((d) => d ?? 3);
    if (p.dtype === 'int32' || p.dtype === 'int64') {
      const r = rand(seed + k);
      const classes = 3;
      feeds[p.name] = tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(r() * classes)), shape, p.dtype);
    } else feeds[p.name] = randomTensor(shape, seed + k, 0, 1);
  });
  return feeds;
}

async function session(graph: Graph, variables: Map<string, TensorValue>, backend: 'cpu' | GpujsBackend): Promise<Session> {
  const s = new Session(graph, { backend, optimize: 2 });
  await initializeFromModel(s, { graph, variables });
  return s;
}

test('models/ holds example models', () => {
  expect(modelDirs.length).toBeGreaterThan(0);
});

describe.each(modelDirs)('models/%s', (dir) => {
  test('inference matches the cpu backend on every mode', async () => {
    const { graph, variables } = await loadExample(dir);
    const sig = graph.metadata.signature as { outputs?: string[] } | undefined;
    const outputs = (sig?.outputs ?? []).map((n) => graph.tensor(n));
    expect(outputs.length).toBeGreaterThan(0);
    const needed = new Set(graph.placeholders().map((p) => p.name));
    const feeds = Object.fromEntries(Object.entries(feedsFor(graph, 5)).filter(([k]) => needed.has(k)));
    const cpu = await session(graph, variables, 'cpu');
    const want = await cpu.run(outputs, onlyFeedsOf(graph, outputs, feeds));
    for (const mode of modes) {
      const backend = new GpujsBackend({ mode, onFallback: () => undefined });
      const gj = await session(graph, variables, backend);
      const got = await gj.run(outputs, onlyFeedsOf(graph, outputs, feeds));
      want.forEach((w, k) => closeTo(got[k], w, `${dir} ${mode} ${outputs[k].name}`));
      expect(backend.lastInfo!.modesRan).toEqual([mode]);
      gj.close();
    }
    cpu.close();
  });

  test('training steps match the cpu backend on every mode', async () => {
    const { graph, variables } = await loadExample(dir);
    const training = graph.metadata.training as { loss?: string } | undefined;
    const lossName = training?.loss ?? (graph.hasNode('loss') ? 'loss' : null);
    if (!lossName) return; // an inference-only model: nothing to train
    const loss = graph.tensor(lossName);
    // SGD: its updates are proportional to the gradients, so weights compare elementwise (Adam turns
    // gradients within float32 noise of 0 into +-lr steps, which no float32 backend reproduces exactly)
    const step = new train.SGD(0.05).minimize(loss);
    const feeds = feedsFor(graph, 9);
    const trained = graph.trainableVariables();
    const cpu = await session(graph, variables, 'cpu');
    await cpu.run(graph.globalVariablesInitializer()); // the optimizer's slots
    const sessions = await Promise.all(
      modes.map(async (mode) => {
        const backend = new GpujsBackend({ mode, onFallback: () => undefined });
        const s = await session(graph, variables, backend);
        await s.run(graph.globalVariablesInitializer());
        return { mode, s, backend };
      }),
    );
    for (let i = 0; i < 3; i++) {
      const want = await cpu.run({ loss, step }, feeds);
      for (const { mode, s, backend } of sessions) {
        const got = await s.run({ loss, step }, feeds);
        closeTo(got.loss, want.loss, `${dir} ${mode} step ${i} loss`);
        expect(backend.lastInfo!.modesRan).toEqual([mode]);
      }
    }
    const wantVars = await cpu.run(trained);
    for (const { mode, s } of sessions) {
      const got = await s.run(trained);
      wantVars.forEach((w, k) => closeTo(got[k], w, `${dir} ${mode} trained ${trained[k].name}`));
      s.close();
    }
    cpu.close();
  });
});

function onlyFeedsOf(graph: Graph, outputs: SymbolicTensor[], feeds: Record<string, TensorValue>): Record<string, TensorValue> {
  // feeds the outputs depend on (a model's label placeholder is not needed for inference)
  const seen = new Set<string>();
  const stack = outputs.map((o) => o.node);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n.name)) continue;
    seen.add(n.name);
    for (const i of n.inputs) stack.push(i.node);
    for (const c of n.controlInputs) stack.push(c);
  }
  void graph;
  return Object.fromEntries(Object.entries(feeds).filter(([k]) => seen.has(k)));
}

test('a tiny classifier trains end to end and agrees with the cpu backend', async () => {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 6], 'x');
  const y = g.placeholder('int32', [null], 'y');
  const W = g.variable(randomTensor([6, 4], 1, -0.5, 0.5), 'W');
  const b = g.variable(tensor([0, 0, 0, 0], [4]), 'b');
  const logits = ops.add(ops.matmul(x, W), b);
  const loss = ops.reduceMean(ops.sparseSoftmaxCrossEntropyWithLogits(y, logits));
  const step = new train.SGD(0.5).minimize(loss);
  const feeds = { x: randomTensor([8, 6], 3), y: tensor([0, 1, 2, 3, 0, 1, 2, 3], [8], 'int32') };
  const runs: { mode: string; losses: number[] }[] = [];
  for (const backend of ['cpu', ...modes.map((mode) => new GpujsBackend({ mode, onFallback: () => undefined }))] as const) {
    const s = new Session(g, { backend: backend as 'cpu' | GpujsBackend });
    await s.run(g.globalVariablesInitializer());
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) losses.push((await s.run({ loss, step }, feeds)).loss.data[0]);
    runs.push({ mode: typeof backend === 'string' ? backend : backend.mode, losses });
    s.close();
  }
  const [cpu, ...others] = runs;
  expect(cpu.losses[19]).toBeLessThan(cpu.losses[0] * 0.7);
  for (const r of others) r.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i])).toBeLessThanOrEqual(1e-4 * Math.abs(cpu.losses[i]) + 1e-6));
});
