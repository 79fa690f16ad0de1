import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { exportOnnx, loadModel, tensor } from 'graphc';
import { runInOrtBatch } from '../../scripts/conformance-harness';

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

test('models/greedy-decoder: `graphc run` decodes as a hand-written loop over the saved weights, stopping at the end token or maxLength', async () => {
  const { variables } = await loadModel(path.join(ROOT, 'models/greedy-decoder/model.json'));
  const w = (name: string) => variables.get(name)!.data;
  const [E, Wx, Wh, b, Wo] = [w('embedding'), w('rnn/Wx'), w('rnn/Wh'), w('rnn/b'), w('out/W')];
  const [VOCAB, EMBED, HIDDEN] = [12, 8, 16];
  const decode = (start: number, maxLength: number): number[] => {
    const out: number[] = [];
    let token = start;
    let h = new Array(HIDDEN).fill(0);
    while (out.length < maxLength && token !== 0) {
      h = Array.from({ length: HIDDEN }, (_, j) => {
        let s = b[j];
        for (let i = 0; i < EMBED; i++) s += E[token * EMBED + i] * Wx[i * HIDDEN + j];
        for (let i = 0; i < HIDDEN; i++) s += h[i] * Wh[i * HIDDEN + j];
        return Math.tanh(s);
      });
      const logits = Array.from({ length: VOCAB }, (_, v) => h.reduce((s, x, i) => s + x * Wo[i * VOCAB + v], 0));
      token = logits.indexOf(Math.max(...logits));
      out.push(token);
    }
    return out;
  };
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, 'run', 'models/greedy-decoder/model.json', ...args], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout);
  };
  const example = run(['--feeds', 'models/greedy-decoder/feeds.json']);
  expect(example.tokens.data).toEqual(decode(2, 20));
  expect(example.tokens.data.length).toBeGreaterThan(3); // the example decodes several tokens, ending at 0
  expect(example.tokens.data.at(-1)).toBe(0);
  expect(example.length.data).toEqual([example.tokens.data.length]);
  // a run with other feeds has another length: the output's shape is known only at run time
  const feeds = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-decoder-')), 'feeds.json');
  fs.writeFileSync(feeds, JSON.stringify({ start: { dtype: 'int32', shape: [], data: [2] }, maxLength: { dtype: 'int32', shape: [], data: [3] } }));
  expect(run(['--feeds', feeds]).tokens.data).toEqual(decode(2, 3));
});

test('models/greedy-decoder exported to ONNX (a Loop) decodes the same tokens in onnxruntime', async () => {
  const model = await loadModel(path.join(ROOT, 'models/greedy-decoder/model.json'));
  // the saved variable values become the exported model's initializers (as `graphc convert` writes it)
  const bytes = exportOnnx(model.graph, { outputs: ['tokens', 'length'], variables: model.variables });
  const graphcRun = JSON.parse(spawnSync(process.execPath, [BIN, 'run', 'models/greedy-decoder/model.json', '--feeds', 'models/greedy-decoder/feeds.json'], { cwd: ROOT, encoding: 'utf8' }).stdout);
  const [reply] = runInOrtBatch([{ bytes, feeds: { start: tensor([2], [], 'int32'), maxLength: tensor([20], [], 'int32') }, outputs: ['tokens', 'length'] }]);
  if (reply instanceof Error) throw reply;
  expect(Array.from(reply[0].data)).toEqual(graphcRun.tokens.data);
  expect(Array.from(reply[1].data)).toEqual([graphcRun.tokens.data.length]);
});
