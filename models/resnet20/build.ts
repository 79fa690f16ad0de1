/**
 * Builds models/resnet20: ResNet-20 for 32x32 RGB images (He et al. 2016, CIFAR variant) as an
 * inference graph. A 3x3 stem, then three stages of three basic blocks (two 3x3 conv + batchNorm
 * + relu each, 16/32/64 channels; stages 2 and 3 downsample by a stride-2 conv with a 1x1 conv +
 * batchNorm projection on the shortcut), global average pooling and a 10-way dense layer: 19
 * convolutions + 2 projections + 1 dense, 21 batchNorms. Weights and batchNorm statistics are
 * seeded variables (rebuilds are identical); it is not trained.
 *
 * Rebuild:  npm run build && node scripts/ts-run.js models/resnet20/build.ts
 * Optimize: graphc optimize models/resnet20/model.json -o /tmp/r20.json --freeze --report /tmp/r20-report.json
 */
import * as path from 'path';
import { Graph, SymbolicTensor, ops, saveModel, tensor } from 'graphc';
import { seeded } from '../seeded';


let seed = 1;

function convBn(g: Graph, x: SymbolicTensor, channels: number, kernel: number, stride: number, name: string): SymbolicTensor {
  const cin = x.shape[3] as number;
  const fanIn = kernel * kernel * cin;
  const w = g.variable(tensor(seeded(fanIn * channels, seed++, Math.sqrt(6 / fanIn)), [kernel, kernel, cin, channels]), `${name}/kernel`);
  const c = ops.conv2d(x, w, stride, 'SAME', {}, `${name}/conv`);
  const mean = g.variable(tensor(seeded(channels, seed++, 0.1), [channels]), `${name}/bn/moving_mean`);
  const variance = g.variable(tensor(seeded(channels, seed++, 0.2, 1), [channels]), `${name}/bn/moving_variance`);
  const beta = g.variable(tensor(seeded(channels, seed++, 0.1), [channels]), `${name}/bn/beta`);
  const gamma = g.variable(tensor(seeded(channels, seed++, 0.2, 1), [channels]), `${name}/bn/gamma`);
  return ops.batchNorm(c, mean, variance, beta, gamma, 1e-3, `${name}/bn`);
}

function basicBlock(g: Graph, x: SymbolicTensor, channels: number, stride: number, name: string): SymbolicTensor {
  const h = ops.relu(convBn(g, x, channels, 3, stride, `${name}/conv1`), `${name}/relu1`);
  const y = convBn(g, h, channels, 3, 1, `${name}/conv2`);
  const shortcut = stride === 1 && x.shape[3] === channels ? x : convBn(g, x, channels, 1, stride, `${name}/shortcut`);
  return ops.relu(ops.add(y, shortcut, `${name}/add`), `${name}/out`);
}

export function resnet20(g: Graph, x: SymbolicTensor): SymbolicTensor {
  let h = ops.relu(convBn(g, x, 16, 3, 1, 'stem'), 'stem/relu');
  [16, 32, 64].forEach((channels, stage) => {
    for (let b = 0; b < 3; b++) h = basicBlock(g, h, channels, stage > 0 && b === 0 ? 2 : 1, `stage${stage + 1}/block${b + 1}`);
  });
  const pooled = ops.reduceMean(h, [1, 2], false, 'pool');
  const W = g.variable(tensor(seeded(64 * 10, seed++, Math.sqrt(6 / 64)), [64, 10]), 'fc/kernel');
  const bias = g.variable(tensor(seeded(10, seed++, 0.1), [10]), 'fc/bias');
  return ops.softmax(ops.add(ops.matmul(pooled, W), bias, 'logits'), -1, 'probs');
}

export async function buildResnet20(outDir: string): Promise<void> {
  seed = 1;
  const g = new Graph();
  const x = g.placeholder('float32', [null, 32, 32, 3], 'x');
  const probs = resnet20(g, x);
  g.metadata.signature = { inputs: ['x'], outputs: [probs.name] };
  // the variables' initial values are the weights: saved once, as their initializers' constants
  await saveModel(g, path.join(outDir, 'model.json'));
}

if (require.main === module) {
  buildResnet20(__dirname).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
