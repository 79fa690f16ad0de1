import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Graph, Session, ops, saveModel, tensor } from 'graphc';

const BIN = path.resolve(__dirname, '../../packages/cli/bin/graphc.js');

function graphc(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let model: string;
let feeds: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-cli-'));
  const g = new Graph();
  const x = g.placeholder('float32', [null, 2], 'x');
  const W = g.variable(tensor([1, 2, 3, 4], [2, 2]), 'W');
  const y = ops.relu(ops.sub(ops.matmul(x, W), 5), 'y');
  ops.mul(y, 2, 'doubled');
  g.metadata.signature = { inputs: ['x'], outputs: ['y'] };
  const sess = new Session(g);
  await sess.run(g.globalVariablesInitializer());
  await sess.run(ops.assignAdd(W, tensor([1, 1, 1, 1], [2, 2])));
  model = path.join(dir, 'model.json');
  await saveModel(g, model, { session: sess });
  feeds = path.join(dir, 'feeds.json');
  fs.writeFileSync(feeds, JSON.stringify({ x: { dtype: 'float32', shape: [2, 2], data: [1, 0, 0, 1] } }));
});

describe('graphc run', () => {
  test('prints the declared outputs as JSON, with the saved (trained) weights', () => {
    const r = graphc('run', model, '--feeds', feeds);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // W after the update is [[2,3],[4,5]]; x = I, so y = relu(W - 5)
    expect(JSON.parse(r.stdout)).toEqual({ y: { dtype: 'float32', shape: [2, 2], data: [0, 0, 0, 0] } });
  });

  test('--fetch and --out', () => {
    const out = path.join(dir, 'out.json');
    const r = graphc('run', model, '--feeds', feeds, '--fetch', 'doubled', 'W', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(doc.W.data).toEqual([2, 3, 4, 5]);
    expect(doc.doubled.shape).toEqual([2, 2]);
  });

  test.each([
    ['a wrong feed shape', { x: { dtype: 'float32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] } }, /feed 'x' has shape \[2, 3\], expected \[\?, 2\]/],
    ['a wrong dtype', { x: { dtype: 'int32', shape: [1, 2], data: [1, 2] } }, /feed 'x' has dtype int32/],
    ['an unknown feed', { z: { dtype: 'float32', shape: [1], data: [1] } }, /feed 'z' does not name an input/],
    ['a bad data length', { x: { dtype: 'float32', shape: [2, 2], data: [1] } }, /'x': 'data' has 1 values/],
  ])('%s: exit 2 with a one-line reason naming the feed', (_label, doc, message) => {
    const file = path.join(dir, `bad-${Math.random()}.json`);
    fs.writeFileSync(file, JSON.stringify(doc));
    const r = graphc('run', model, '--feeds', file);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  test('a missing feed, an unreadable model, a weights path escaping the folder: exit 2', () => {
    let r = graphc('run', model);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/placeholder 'x'.*must be fed/);
    r = graphc('run', path.join(dir, 'nope.json'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope.json' cannot be read/);
    const evil = path.join(dir, 'evil.json');
    const doc = JSON.parse(fs.readFileSync(model, 'utf8'));
    doc.weights.file = '../../etc/passwd';
    fs.writeFileSync(evil, JSON.stringify(doc));
    r = graphc('run', evil, '--feeds', feeds);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/escapes the model's folder/);
    r = graphc('run', model, '--feeds', path.join(dir, 'missing-feeds.json'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/feeds file .*missing-feeds.json' cannot be read/);
  });

  test('bad usage exits 2', () => {
    expect(graphc('run').code).toBe(2);
    expect(graphc('frobnicate').code).toBe(2);
    expect(graphc('run', model, '--feeds', feeds, '--level', '9').code).toBe(2);
  });
});

describe('graphc inspect', () => {
  test('--json lists inputs, outputs, variables and op counts', () => {
    const r = graphc('inspect', model, '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: [null, 2] }]);
    expect(info.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: [null, 2] }]);
    expect(info.variables).toEqual([{ name: 'W', dtype: 'float32', shape: [2, 2], saved: true }]);
    expect(info.parameters).toBe(4);
    // W's initial value [2, 2], the update [2, 2], and the scalars 5 and 2
    expect(info.constants).toBe(10);
    expect(info.ops.matmul).toBe(1);
  });

  test('plain text', () => {
    const r = graphc('inspect', model);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/inputs:\n {2}x: float32 \[\?, 2\]/);
  });

  test('a loop body is listed with its own op counts', () => {
    const decoder = path.resolve(__dirname, '../../models/greedy-decoder/model.json');
    const info = JSON.parse(graphc('inspect', decoder, '--json').stdout);
    expect(info.functions).toEqual([{ node: 'decode', op: 'whileLoop', attr: 'body', nodes: expect.any(Number), ops: expect.objectContaining({ matmul: 3, argMax: 1, concat: 1 }) }]);
    expect(graphc('inspect', decoder).stdout).toMatch(/functions:\n {2}decode \(whileLoop\) body: \d+ nodes \(.*matmul 3/);
  });
});

test('graphc --version prints the package version and exits 0', () => {
  const r = graphc('--version');
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../packages/cli/package.json'), 'utf8')).version);
});
