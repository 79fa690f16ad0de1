/**
 * Builds models/fashion-mlp: a 784-256-10 MLP for Fashion-MNIST that declares its own training
 * (loss, optimizer, data bindings; see docs/model-format.md, "Training"), saved untrained as
 * model.json + weights (seeded He initialization, so rebuilds are identical).
 *
 * Rebuild:  npm run build && node scripts/ts-run.js models/fashion-mlp/build.ts
 * Train:    graphc train models/fashion-mlp/model.json --data /usr/share/datasets/fashion-mnist --epochs 5
 */
import * as path from 'path';
import { Graph, SymbolicTensor, ops, saveModel, tensor } from 'graphc';

/** Seeded N(0, stddev^2) values (LCG + Box-Muller): the same model on every rebuild. */
export function seededNormal(n: number, seed: number, stddev: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / 4294967297;
  };
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()) * stddev;
  return out;
}

function dense(g: Graph, x: SymbolicTensor, units: number, name: string, seed: number): SymbolicTensor {
  const inputs = x.shape[1] as number;
  const w = g.variable(tensor(seededNormal(inputs * units, seed, Math.sqrt(2 / inputs)), [inputs, units]), `${name}/kernel`);
  const b = g.variable(tensor(new Float32Array(units), [units]), `${name}/bias`);
  return ops.add(ops.matmul(x, w), b, `${name}/out`);
}

export async function buildFashionMlp(outDir: string): Promise<void> {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 784], 'x'); // raw pixels, 0..255
  const y = g.placeholder('int32', [null], 'y');
  const scaled = ops.mul(x, 1 / 255, 'scale');
  const hidden = ops.relu(dense(g, scaled, 256, 'dense1', 1), 'dense1/relu');
  const logits = ops.identity(dense(g, hidden, 10, 'dense2', 2), 'logits');
  ops.softmax(logits, -1, 'probs');
  ops.reduceMean(ops.sparseSoftmaxCrossEntropyWithLogits(y, logits), undefined, false, 'loss');
  g.metadata.signature = { inputs: ['x'], outputs: ['probs'] };
  g.metadata.training = {
    loss: 'loss',
    optimizer: { type: 'adam', learningRate: 0.001 },
    inputs: { x: 'images', y: 'labels' },
    batchSize: 64,
    epochs: 5,
    accuracy: { logits: 'logits', labels: 'y' },
  };
  await saveModel(g, path.join(outDir, 'model.json'));
}

if (require.main === module) {
  buildFashionMlp(__dirname).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
