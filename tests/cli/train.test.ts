import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Graph, Session, initializeFromModel, loadModel, main, ops, readCheckpoint, saveModel, tensor } from 'graphc';

/**
 * `graphc train` on a small slice of the real Fashion-MNIST (Debian's dataset-fashion-mnist), run
 * in-process on the sources. Full training runs are for BENCHMARKS.md, not CI.
 */
const DATA = '/usr/share/datasets/fashion-mnist';
const ROOT = path.resolve(__dirname, '../..');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  try {
    const code = await main(['node', 'graphc', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** A small MLP declaring its training, like models/fashion-mlp but narrower (CI time). */
async function writeSmallMlp(file: string): Promise<void> {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 784], 'x');
  const y = g.placeholder('int32', [null], 'y');
  let s = 7;
  const rand = (n: number, scale: number) =>
    Float32Array.from({ length: n }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return ((s / 4294967296) * 2 - 1) * scale;
    });
  const w1 = g.variable(tensor(rand(784 * 32, 0.08), [784, 32]), 'w1');
  const b1 = g.variable(tensor(new Float32Array(32), [32]), 'b1');
  const w2 = g.variable(tensor(rand(32 * 10, 0.4), [32, 10]), 'w2');
  const b2 = g.variable(tensor(new Float32Array(10), [10]), 'b2');
  const h = ops.relu(ops.add(ops.matmul(ops.mul(x, 1 / 255), w1), b1));
  const logits = ops.add(ops.matmul(h, w2), b2, 'logits');
  ops.reduceMean(ops.sparseSoftmaxCrossEntropyWithLogits(y, logits), undefined, false, 'loss');
  g.metadata.signature = { inputs: ['x'], outputs: ['logits'] };
  g.metadata.training = {
    loss: 'loss',
    optimizer: { type: 'adam', learningRate: 0.003 },
    inputs: { x: 'images', y: 'labels' },
    batchSize: 50,
    epochs: 2,
    accuracy: { logits: 'logits', labels: 'y' },
  };
  await saveModel(g, file);
}

beforeAll(() => {
  if (!fs.existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz'))) {
    throw new Error(`Fashion-MNIST is missing from ${DATA}: apt-get install -y dataset-fashion-mnist`);
  }
});

describe('graphc train', () => {
  test('trains on a slice of Fashion-MNIST: loss falls, test accuracy well above chance, trained model saved and runnable', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-train-'));
    const model = path.join(dir, 'model.json');
    await writeSmallMlp(model);
    const out = path.join(dir, 'trained.json');
    const r = await cli('train', model, '--data', DATA, '--limit', '1200', '--test-limit', '500', '-o', out, '--progress', 'lines', '--json');
    expect(r.stderr).not.toMatch(/graphc:/);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(summary.steps).toBe(48); // 2 epochs of 1200 / 50
    expect(summary.epochLog).toHaveLength(2);
    expect(summary.epochLog[1].loss).toBeLessThan(summary.epochLog[0].loss);
    expect(summary.testAccuracy).toBeGreaterThan(0.6);
    expect(summary.examplesPerSecond).toBeGreaterThan(0);
    // plain progress lines (not a terminal): epoch, step, loss, examples/s
    expect(r.stderr).toMatch(/^epoch 1\/2 step 24\/24 {2}loss \d+\.\d{4} {2}\d+ ex\/s$/m);
    expect(r.stderr).toMatch(/^epoch 2\/2 {2}loss \d+\.\d{4} {2}[\d.]+ s {2}\d+ ex\/s {2}test accuracy \d+\.\d\d%$/m);
    expect(r.stderr).not.toMatch(/\r/);

    // the saved model has the model's nodes only (no optimizer), the trained values, and its history
    const trained = await loadModel(out);
    expect(trained.graph.nodes.some((n) => n.name.includes('Adam'))).toBe(false);
    expect(trained.graph.hasNode('global_step')).toBe(false);
    expect(trained.graph.metadata.trainingHistory).toEqual([expect.objectContaining({ steps: 48, testAccuracy: summary.testAccuracy })]);
    const original = await loadModel(model);
    const before = original.graph.node('w1/initial_value').attrs.value as { data: Float32Array };
    const after = trained.variables.get('w1')!.data;
    expect(after.some((v, i) => v !== before.data[i])).toBe(true);
    // and it computes the accuracy it reported, on its own
    const sess = new Session(trained.graph);
    await initializeFromModel(sess, trained);
    expect(sess.graph.tensor('logits').shape).toEqual([null, 10]);
  });

  test('--resume continues from a checkpoint exactly where an uninterrupted run would be', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-resume-'));
    const model = path.join(dir, 'model.json');
    await writeSmallMlp(model);
    const common = ['--data', DATA, '--limit', '300', '--progress', 'none', '--json'];
    // uninterrupted: 2 epochs
    const full = await cli('train', model, ...common, '--epochs', '2', '-o', path.join(dir, 'full.json'));
    expect(full.code).toBe(0);
    // interrupted: 1 epoch with a checkpoint mid-epoch and at its end, then resume for the second
    const ckpt = path.join(dir, 'run.gckpt');
    const first = await cli('train', model, ...common, '--epochs', '1', '--checkpoint', ckpt, '--checkpoint-every', '2', '-o', path.join(dir, 'half.json'));
    expect(first.code).toBe(0);
    expect(readCheckpoint(ckpt).header).toEqual(expect.objectContaining({ step: 6, metadata: { epoch: 1, batch: 0, seed: 1 } }));
    const resumed = await cli('train', model, ...common, '--epochs', '2', '--resume', ckpt, '-o', path.join(dir, 'resumed.json'));
    expect(resumed.code).toBe(0);
    const a = (await loadModel(path.join(dir, 'full.json'))).variables;
    const b = (await loadModel(path.join(dir, 'resumed.json'))).variables;
    for (const name of ['w1', 'b1', 'w2', 'b2']) expect(Array.from(b.get(name)!.data)).toEqual(Array.from(a.get(name)!.data));
    expect(JSON.parse(resumed.stdout).finalLoss).toBe(JSON.parse(full.stdout).finalLoss);
  });

  test('bad usage exits 2 with a one-line reason', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-train-bad-'));
    const plain = path.join(dir, 'plain.json');
    const g = new Graph();
    ops.relu(g.placeholder('float32', [2], 'x'));
    await saveModel(g, plain);
    const noSpec = await cli('train', plain, '--data', DATA);
    expect(noSpec.code).toBe(2);
    expect(noSpec.stderr).toMatch(/declares no training setup/);
    const model = path.join(dir, 'model.json');
    await writeSmallMlp(model);
    expect((await cli('train', model, '--data', path.join(dir, 'nowhere'))).code).toBe(2);
    expect((await cli('train', model, '--data', DATA, '--batch', '0')).stderr).toMatch(/--batch must be a positive integer/);
    expect((await cli('train', model, '--data', DATA, '--resume', path.join(dir, 'none.gckpt'))).stderr).toMatch(/does not exist/);
  });

  test('models/fashion-mlp and models/fashion-cnn declare their training and train for a few steps', async () => {
    for (const name of ['fashion-mlp', 'fashion-cnn']) {
      const file = path.join(ROOT, 'models', name, 'model.json');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `graphc-${name}-`));
      const r = await cli('train', file, '--data', DATA, '--limit', '128', '--test-limit', '100', '--epochs', '1', '--progress', 'none', '--json', '-o', path.join(dir, 'out.json'));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout);
      expect(summary.steps).toBe(2);
      expect(Number.isFinite(summary.finalLoss)).toBe(true);
      expect(summary.testAccuracy).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('progress display', () => {
  // the module is internal to the CLI package; tests reach it by path
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { Progress } = require('../../packages/cli/src/training/progress');

  test('a terminal gets one bar redrawn in place, then a line per epoch', () => {
    let out = '';
    const p = new Progress({ write: (s: string) => (out += s), isTTY: true }, 'bar');
    p.step({ epoch: 1, epochs: 2, step: 5, steps: 10, loss: 0.5, examplesPerSecond: 1234.4 });
    p.step({ epoch: 1, epochs: 2, step: 10, steps: 10, loss: 0.25, examplesPerSecond: 1300 });
    p.epoch({ epoch: 1, epochs: 2, loss: 0.25, seconds: 1.5, examplesPerSecond: 1300, testAccuracy: 0.8765 });
    expect(out).toBe(
      '\repoch 1/2 [===========>            ] 5/10  loss 0.5000  1234 ex/s\x1b[K' +
        '\repoch 1/2 [========================] 10/10  loss 0.2500  1300 ex/s\x1b[K' +
        '\r\x1b[Kepoch 1/2  loss 0.2500  1.5 s  1300 ex/s  test accuracy 87.65%\n',
    );
  });

  test('lines mode prints every N steps and the last, without carriage returns', () => {
    let out = '';
    const p = new Progress({ write: (s: string) => (out += s) }, 'lines', 4);
    for (let s = 1; s <= 10; s++) p.step({ epoch: 2, epochs: 3, step: s, steps: 10, loss: 1 / s, examplesPerSecond: 10 });
    expect(out.split('\n').filter(Boolean)).toEqual([
      'epoch 2/3 step 4/10  loss 0.2500  10 ex/s',
      'epoch 2/3 step 8/10  loss 0.1250  10 ex/s',
      'epoch 2/3 step 10/10  loss 0.1000  10 ex/s',
    ]);
  });
});
