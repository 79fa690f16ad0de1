/**
 * Builds models/fashion-mlp: a 784-256-10 MLP for Fashion-MNIST that declares its own training
 * (loss, optimizer, data bindings; see docs/model-format.md, "Training"), saved untrained as
 * model.json + weights (seeded He initialization, so rebuilds are identical).
 *
 * Rebuild:  npm run build && node scripts/ts-run.js models/fashion-mlp/build.ts
 * Train:    graphc train models/fashion-mlp/model.json --data /usr/share/datasets/fashion-mnist --epochs 5
 */
import * as path from 'path';
import { Graph, ops, saveModel } from 'graphc';
import { classifierHead, dense } from '../fashion-layers';

export async function buildFashionMlp(outDir: string): Promise<void> {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 784], 'x'); // raw pixels, 0..255
  const y = g.placeholder('int32', [null], 'y');
  const scaled = ops.mul(x, 1 / 255, 'scale');
  const hidden = ops.relu(dense(g, scaled, 256, 'dense1', 1), 'dense1/relu');
  classifierHead(g, dense(g, hidden, 10, 'dense2', 2), y, 5);
  await saveModel(g, path.join(outDir, 'model.json'));
}

if (require.main === module) {
  buildFashionMlp(__dirname).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
