/**
 * Builds models/mlp: a 4-16-3 classifier MLP with fixed seeded weights, saved as model.json +
 * weights, and an example feeds file. Rebuild: `node scripts/ts-run.js models/mlp/build.ts`.
 */
import * as path from 'path';
import * as fs from 'fs';
import { Graph, Session, ops, saveModel, tensor, tensorToJson } from 'graphc';
import { seeded } from '../seeded';


export async function buildMlp(outDir: string): Promise<void> {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 4], 'x');
  const W1 = g.variable(tensor(seeded(4 * 16, 1, 0.5), [4, 16]), 'dense1/W');
  const b1 = g.variable(tensor(seeded(16, 2, 0.1), [16]), 'dense1/b');
  const W2 = g.variable(tensor(seeded(16 * 3, 3, 0.5), [16, 3]), 'dense2/W');
  const b2 = g.variable(tensor(seeded(3, 4, 0.1), [3]), 'dense2/b');
  const h = ops.relu(ops.add(ops.matmul(x, W1), b1), 'dense1/relu');
  const logits = ops.add(ops.matmul(h, W2), b2, 'logits');
  const probs = ops.softmax(logits, -1, 'probs');
  g.metadata.signature = { inputs: ['x'], outputs: [probs.name] };
  const sess = new Session(g);
  await sess.run(g.globalVariablesInitializer());
  await saveModel(g, path.join(outDir, 'model.json'), { session: sess });
  const feeds = { x: tensorToJson(tensor([0.5, -1, 2, 0.1, 1, 1, -0.5, 0.3], [2, 4])) };
  fs.writeFileSync(path.join(outDir, 'feeds.json'), `${JSON.stringify(feeds)}\n`);
}

if (require.main === module) buildMlp(__dirname).catch((e) => {
  console.error(e);
  process.exit(1);
});
