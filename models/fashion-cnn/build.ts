/**
 * Builds models/fashion-cnn: a small CNN for Fashion-MNIST (two 3x3 conv + relu + 2x2 max-pool
 * stages, 16 and 32 channels, then dense 1568-128-10) that declares its own training (see
 * docs/model-format.md, "Training"), saved untrained as model.json + weights (seeded He
 * initialization, so rebuilds are identical).
 *
 * Rebuild:  npm run build && node scripts/ts-run.js models/fashion-cnn/build.ts
 * Train:    graphc train models/fashion-cnn/model.json --data /usr/share/datasets/fashion-mnist --epochs 3
 */
import * as path from 'path';
import { Graph, SymbolicTensor, ops, saveModel, tensor } from 'graphc';
import { classifierHead, dense } from '../fashion-layers';
import { seededNormal } from '../seeded';

function conv(g: Graph, x: SymbolicTensor, channels: number, name: string, seed: number): SymbolicTensor {
  const cin = x.shape[3] as number;
  const fanIn = 3 * 3 * cin;
  const w = g.variable(tensor(seededNormal(fanIn * channels, seed, Math.sqrt(2 / fanIn)), [3, 3, cin, channels]), `${name}/kernel`);
  const b = g.variable(tensor(new Float32Array(channels), [channels]), `${name}/bias`);
  const y = ops.relu(ops.add(ops.conv2d(x, w, 1, 'SAME'), b), `${name}/relu`);
  return ops.maxPool(y, 2, 2, 'VALID', `${name}/pool`);
}

export async function buildFashionCnn(outDir: string): Promise<void> {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 28, 28, 1], 'x'); // raw pixels, 0..255
  const y = g.placeholder('int32', [null], 'y');
  const scaled = ops.mul(x, 1 / 255, 'scale');
  const c1 = conv(g, scaled, 16, 'conv1', 11); // [?, 14, 14, 16]
  const c2 = conv(g, c1, 32, 'conv2', 12); // [?, 7, 7, 32]
  const flat = ops.reshape(c2, [-1, 7 * 7 * 32], 'flatten');
  const hidden = ops.relu(dense(g, flat, 128, 'dense1', 13), 'dense1/relu');
  classifierHead(g, dense(g, hidden, 10, 'dense2', 14), y, 3);
  await saveModel(g, path.join(outDir, 'model.json'));
}

if (require.main === module) {
  buildFashionCnn(__dirname).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
