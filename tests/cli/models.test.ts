import { spawnSync } from 'child_process';
import * as path from 'path';
import { loadModel } from 'graphc';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'packages/cli/bin/graphc.js');

test('models/mlp: `graphc run` with the example feeds matches an independent forward pass', async () => {
  const r = spawnSync(process.execPath, [BIN, 'run', 'models/mlp/model.json', '--feeds', 'models/mlp/feeds.json'], { cwd: ROOT, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const { probs } = JSON.parse(r.stdout);
  expect(probs.shape).toEqual([2, 3]);

  // the same math by hand, from the saved weights
  const { variables } = await loadModel(path.join(ROOT, 'models/mlp/model.json'));
  const W1 = variables.get('dense1/W')!.data;
  const b1 = variables.get('dense1/b')!.data;
  const W2 = variables.get('dense2/W')!.data;
  const b2 = variables.get('dense2/b')!.data;
  const x = [[0.5, -1, 2, 0.1], [1, 1, -0.5, 0.3]];
  const expected: number[] = [];
  for (const row of x) {
    const h = Array.from({ length: 16 }, (_, j) => Math.max(0, b1[j] + row.reduce((s, v, i) => s + v * W1[i * 16 + j], 0)));
    const logits = Array.from({ length: 3 }, (_, j) => b2[j] + h.reduce((s, v, i) => s + v * W2[i * 3 + j], 0));
    const m = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - m));
    const sum = e.reduce((s, v) => s + v, 0);
    expected.push(...e.map((v) => v / sum));
  }
  probs.data.forEach((p: number, i: number) => expect(p).toBeCloseTo(expected[i], 5));
});
