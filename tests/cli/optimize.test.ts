import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Graph, Session, loadModel, ops, saveModel, tensor } from 'graphc';

const BIN = path.resolve(__dirname, '../../packages/cli/bin/graphc.js');

function graphc(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const seq = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

let dir: string;
let model: string;
let feeds: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-optimize-'));
  const g = new Graph();
  const x = g.placeholder('float32', [null, 6, 6, 2], 'x');
  const w = g.variable(tensor(seq(3 * 3 * 2 * 4, (i) => Math.sin(i) * 0.5), [3, 3, 2, 4]), 'conv/w');
  const mean = g.variable(tensor([0.1, -0.1, 0.2, 0], [4]), 'bn/mean');
  const variance = g.variable(tensor([1, 2, 0.5, 1.5], [4]), 'bn/var');
  const h = ops.relu(ops.batchNorm(ops.conv2d(x, w, 1, 'SAME'), mean, variance, null, null, 1e-3), 'block');
  const flat = ops.reshape(h, [-1, 6 * 6 * 4]);
  const W = g.variable(tensor(seq(144 * 3, (i) => Math.cos(i) * 0.1), [144, 3]), 'dense/W');
  const b = g.variable(tensor([0.1, 0, -0.1], [3]), 'dense/b');
  const y = ops.gelu(ops.add(ops.matmul(flat, W), b), false, 'y');
  g.metadata.signature = { inputs: ['x'], outputs: [y.name] };
  const sess = new Session(g);
  await sess.run(g.globalVariablesInitializer());
  model = path.join(dir, 'model.json');
  await saveModel(g, model, { session: sess });
  feeds = path.join(dir, 'feeds.json');
  fs.writeFileSync(feeds, JSON.stringify({ x: { dtype: 'float32', shape: [2, 6, 6, 2], data: seq(144, (i) => Math.cos(i * 0.7)) } }));
});

describe('graphc optimize', () => {
  test('writes a model that gives the same outputs, and a report with kernels and memory', async () => {
    const out = path.join(dir, 'opt.json');
    const report = path.join(dir, 'report.json');
    const r = graphc('optimize', model, '-o', out, '--level', '2', '--report', report, '--shape', 'x=2,6,6,2');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(report, 'utf8'));
    expect(doc).toMatchObject({ level: 2, shapes: { x: [2, 6, 6, 2] }, outputs: ['y'] });
    for (const k of ['nodesBefore', 'nodesAfter', 'kernelsBefore', 'kernelsAfter']) expect(typeof doc[k]).toBe('number');
    // O0: conv, batchNorm, relu, matmul, add, gelu. O2 with variable statistics: fusedConv2d (scale,
    // shift, relu in its epilogue), fusedMatmul (bias, gelu), and the two per-channel kernels of the
    // batchNorm fold (k = scale / sqrt(var + eps), shift = offset - mean * k)
    expect(doc.kernelsBefore).toBe(6);
    expect(doc.kernelsAfter).toBe(4);
    expect(doc.memory.plannedBytes).toBeGreaterThan(0);
    expect(doc.memory.plannedBytes).toBeLessThanOrEqual(doc.memory.naiveBytes);
    expect(doc.memory.lowerBoundBytes).toBeLessThanOrEqual(doc.memory.plannedBytes);
    expect(doc.passes.map((p: { name: string }) => p.name)).toContain('fuse');
    expect(doc.passes.every((p: { ms: number }) => typeof p.ms === 'number')).toBe(true);
    const before = JSON.parse(graphc('run', model, '--feeds', feeds).stdout).y;
    const after = JSON.parse(graphc('run', out, '--feeds', feeds, '--level', '0').stdout).y;
    expect(after.shape).toEqual(before.shape);
    after.data.forEach((v: number, i: number) => expect(v).toBeCloseTo(before.data[i], 5));
    const saved = await loadModel(out);
    expect(saved.graph.nodes.some((n) => n.op === 'fusedMatmul')).toBe(true);
    expect(saved.variables.size).toBe(5);
  });

  test('--freeze folds batchNorm into the conv weights: the conv block is one kernel', () => {
    const out = path.join(dir, 'frozen.json');
    const report = path.join(dir, 'frozen-report.json');
    const r = graphc('optimize', model, '-o', out, '--report', report, '--freeze');
    expect(r.code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(report, 'utf8'));
    expect(doc.frozen).toBe(5);
    expect(doc.shapes).toEqual({ x: [1, 6, 6, 2] });
    expect(doc.kernelsAfter).toBe(2); // fusedConv2d(+bias+relu), fusedMatmul(+bias+gelu)
    const before = JSON.parse(graphc('run', model, '--feeds', feeds).stdout).y;
    const after = JSON.parse(graphc('run', out, '--feeds', feeds).stdout).y;
    after.data.forEach((v: number, i: number) => expect(v).toBeCloseTo(before.data[i], 4));
  });

  test('bad usage exits 2 with a one-line reason', () => {
    const bad = graphc('optimize', model, '-o', path.join(dir, 'x.json'), '--level', '7');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--level must be/);
    const shape = graphc('optimize', model, '-o', path.join(dir, 'x.json'), '--shape', 'x=2,2');
    expect(shape.code).toBe(2);
    expect(shape.stderr).toMatch(/does not fit/);
  });
});
