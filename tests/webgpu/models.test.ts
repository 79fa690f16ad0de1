import * as fs from 'fs';
import * as path from 'path';
import { Graph, Session, TensorValue, WebGpuBackend, initializeFromModel, loadModel, tensor, train } from 'graphc';
import { describeGpu, expectClose, seeded } from './helpers';

/**
 * Every model in models/ on webgpu against the cpu backend: inference on its signature, and for
 * models that declare their training (metadata.training) a few optimizer steps, comparing the loss
 * of each step and the trained variables.
 */
const MODELS = path.join(__dirname, '..', '..', 'models');
const modelDirs = fs
  .readdirSync(MODELS)
  .filter((d) => fs.existsSync(path.join(MODELS, d, 'model.json')))
  .sort();

/** Deterministic feeds for a model's placeholders at batch size `batch` (labels in [0, classes)). */
function feedsFor(g: Graph, batch: number, seed: number, classes = 10): Record<string, TensorValue> {
  const feeds: Record<string, TensorValue> = {};
  g.placeholders().forEach((p, k) => {
    const shape = p.shape.map((d) => (d === null ? batch : d));
    const n = shape.reduce((a, b) => a * b, 1);
    if (p.dtype === 'int32' || p.dtype === 'int64') feeds[p.name] = tensor(Array.from({ length: n }, (_, i) => (i * 7 + seed + k) % classes), shape, p.dtype);
    else feeds[p.name] = tensor(seeded(n, seed + k, 1).map((v) => (v + 1) * 100), shape);
  });
  return feeds;
}

async function sessions(dir: string, withTraining: boolean) {
  const out = [];
  for (const backend of ['cpu', 'webgpu'] as const) {
    const model = await loadModel(path.join(MODELS, dir, 'model.json'));
    const g = model.graph;
    const spec = g.metadata.training as { loss: string; optimizer: unknown } | undefined;
    const step = withTraining && spec ? train.optimizerFromSpec(spec.optimizer).minimize(g.tensor(spec.loss)) : undefined;
    const session = new Session(g, { backend });
    await initializeFromModel(session, model);
    if (step) await session.run(g.globalVariablesInitializer());
    out.push({ g, session, step, loss: spec ? g.tensor(spec.loss) : undefined });
  }
  return out;
}

describeGpu('models/ on webgpu', () => {
  test.each(modelDirs)('%s: inference matches the cpu', async (dir) => {
    const [cpu, gpu] = await sessions(dir, false);
    const signature = cpu.g.metadata.signature as { inputs: string[]; outputs: string[] } | undefined;
    const outputs = signature?.outputs ?? [];
    expect(outputs.length).toBeGreaterThan(0);
    const inputs = new Set(signature?.inputs ?? []);
    const feeds = Object.fromEntries(Object.entries(feedsFor(cpu.g, 3, 1)).filter(([name]) => inputs.has(name)));
    const a = await cpu.session.run(outputs, feeds);
    const b = await gpu.session.run(outputs, feeds);
    outputs.forEach((name, i) => expectClose(b[i], a[i], 1e-4, 1e-2, `${dir} ${name}`));
    const exe = (gpu.session.backend as WebGpuBackend).compiled.at(-1)!;
    expect(exe.fallbacks).toEqual([]);
  });

  const trainable = modelDirs.filter((d) => {
    const json = JSON.parse(fs.readFileSync(path.join(MODELS, d, 'model.json'), 'utf8'));
    return Boolean(json.metadata?.training);
  });
  test.each(trainable)('%s: training steps match the cpu (loss per step, trained variables)', async (dir) => {
    const [cpu, gpu] = await sessions(dir, true);
    for (let i = 0; i < 3; i++) {
      const feeds = feedsFor(cpu.g, 8, 10 + i);
      const a = await cpu.session.run({ loss: cpu.loss!, step: cpu.step! }, feeds);
      const b = await gpu.session.run({ loss: gpu.loss!, step: gpu.step! }, feeds);
      expectClose(b.loss, a.loss, 1e-4, 1e-2, `${dir} loss at step ${i}`);
    }
    for (const name of cpu.session.variables.names()) {
      expectClose(await gpu.session.variables.read(name), await cpu.session.variables.read(name), 1e-3, 1e-2, `${dir} ${name}`);
    }
    const exe = (gpu.session.backend as WebGpuBackend).compiled.at(-1)!;
    expect(exe.fallbacks.every((f) => f.downloadBytes === 0 && f.uploadBytes === 0)).toBe(true);
    expect(exe.stats.lastRunSubmits).toBe(1);
  });
});
