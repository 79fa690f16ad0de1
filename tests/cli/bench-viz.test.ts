import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Graph, ops, tensor, toDot } from 'graphc';

const BIN = path.resolve(__dirname, '../../packages/cli/bin/graphc.js');
const MLP = path.resolve(__dirname, '../../models/mlp/model.json');

function graphc(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const hasGraphviz = spawnSync('dot', ['-V']).status === 0;
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-bench-viz-'));
});

describe('graphc bench', () => {
  test('times runs of models/mlp on synthetic inputs and reports JSON', () => {
    const r = graphc('bench', MLP, '--runs', '5', '--warmup', '1', '--shape', 'x=4,4', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ backend: 'cpu', runs: 5 });
    expect(report.minMs).toBeGreaterThan(0);
    expect(report.minMs).toBeLessThanOrEqual(report.medianMs);
    expect(report.medianMs).toBeLessThanOrEqual(report.maxMs);
  });

  test('--profile adds the kernel time by op and the slowest nodes, in text and in JSON', () => {
    const text = graphc('bench', MLP, '--runs', '3', '--warmup', '1', '--profile', '--top', '2');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/kernel time per run: [\d.]+ ms \(profiled over 3 runs\)/);
    expect(text.stdout).toMatch(/by op:\n\s+op\s+nodes\s+ms\/run\s+share\n\s+fusedMatmul\s+2\s/);
    const json = JSON.parse(graphc('bench', MLP, '--runs', '3', '--warmup', '1', '--profile', '--top', '2', '--json').stdout);
    expect(json.profile.byNode).toHaveLength(2);
    // the shares add up to the whole kernel time
    const share = json.profile.byOp.reduce((s: number, r: { percent: number }) => s + r.percent, 0);
    expect(share).toBeCloseTo(100, 6);
    expect(json.profile.byOp.map((r: { op: string }) => r.op)).toContain('fusedMatmul');
  });

  test('bad options exit 2 with a one-line reason', () => {
    for (const args of [['--runs', '0'], ['--level', '7'], ['--shape', 'x=a,b'], ['--top', '-1'], ['--profile', '--backend', 'gpujs']]) {
      const r = graphc('bench', MLP, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const missing = graphc('bench', path.join(dir, 'nope.json'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.json');
  });
});

describe('graphc viz', () => {
  test('toDot draws every node, data edges with shapes and control edges dashed', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 2], 'x');
    const w = g.variable(tensor([1, 2], [2, 1]), 'w');
    const y = g.controlDependencies([w.node], () => ops.matmul(x, w, {}, 'y'));
    const dot = toDot(g, { title: 'a "b" c' });
    expect(dot.startsWith('digraph graphc {')).toBe(true);
    for (const n of g.nodes) expect(dot).toContain(`n${n.id} [label=`);
    expect(dot).toContain('label="a \\"b\\" c"');
    expect(dot).toContain('[label="w\\nvariable\\nfloat32 [2, 1]"');
    expect(dot).toContain(`n${x.node.id} -> n${y.node.id} [label="[?, 2]"]`);
    expect(dot).toMatch(new RegExp(`n${w.node.id} -> n${y.node.id} \\[style=dashed`));
  });

  test('a loop body and cond branches are clusters beside their node, their results joined to it', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2], 'x');
    const [, v] = ops.whileLoop((i) => ops.less(i, 3), (i, a) => [ops.add(i, 1), ops.tanh(ops.mul(a, x))], [ops.cast(0, 'int32'), x], { name: 'loop' });
    const c = ops.cond(ops.greater(ops.reduceSum(v), 0), () => ops.exp(v), () => ops.neg(v), 'pick');
    const dot = toDot(g);
    const loop = `n${v.node.id}`;
    expect(dot).toContain(`subgraph cluster_${loop}_body_ {`);
    expect(dot).toContain('label="loop: body"');
    expect(dot).toMatch(new RegExp(`${loop}_body_n\\d+ \\[label="[^"]*\\\\ntanh`));
    expect(dot).toMatch(new RegExp(`${loop}_body_n\\d+ -> ${loop} \\[style=dotted`));
    for (const branch of ['thenBranch', 'elseBranch']) expect(dot).toContain(`label="pick: ${branch}"`);
    expect(c.shape).toEqual([2]);
    if (hasGraphviz) expect(spawnSync('dot', ['-Tsvg'], { input: dot }).status).toBe(0);
  });

  test('writes .dot without Graphviz and rejects other extensions', () => {
    const out = path.join(dir, 'mlp.dot');
    const r = graphc('viz', MLP, '-o', out);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^digraph graphc \{/);
    const bad = graphc('viz', MLP, '-o', path.join(dir, 'mlp.png'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('mlp.png');
  });

  (hasGraphviz ? test : test.skip)('renders .svg and a standalone .html page through Graphviz', () => {
    const svg = path.join(dir, 'mlp.svg');
    expect(graphc('viz', MLP, '-o', svg).code).toBe(0);
    expect(fs.readFileSync(svg, 'utf8')).toContain('<svg');
    const html = path.join(dir, 'mlp.html');
    expect(graphc('viz', MLP, '-o', html).code).toBe(0);
    const page = fs.readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('<svg');
    expect(page).toMatch(/\d+ nodes: /);
  });
});
