import { Graph, Node, OptLevel, SIMPLIFY_RULES, Session, SymbolicTensor, TensorValue, constantHash, evaluateNode, ops, optimizeGraph, tensor, train, verifyGraph } from 'graphc';

// every session's plan runs the verifier after each pass
process.env.GRAPHC_VERIFY_PASSES = '1';

const values = (t: { data: ArrayLike<number> }): number[] => Array.from(t.data);
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i])));
};

/** Optimizes `g` keeping `keep` (with the verifier after every pass). */
function optimize(g: Graph, keep: string[], level: OptLevel = 2, passes?: string[]) {
  return optimizeGraph(g, { level, keep: new Set(keep), evaluate: evaluateNode, verify: true, passes });
}

const opsOf = (g: Graph): string[] => g.nodes.map((n) => n.op);

async function runAt(g: Graph, fetch: string, feeds: Record<string, TensorValue>, level: OptLevel): Promise<TensorValue> {
  const sess = new Session(g, { optimize: level });
  return sess.run(fetch, feeds);
}

/** `fetch` at O2 equals the graph as built (O0) within 1e-5. */
async function expectO2AsO0(g: Graph, fetch: string, feeds: Record<string, TensorValue>): Promise<void> {
  close((await runAt(g, fetch, feeds, 2)).data, (await runAt(g, fetch, feeds, 0)).data, 1e-5);
}

describe('prune', () => {
  test('removes nodes the kept ones do not need, keeps names', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2], 'x');
    const y = ops.relu(x, 'y');
    ops.exp(x, 'dead1');
    ops.neg(ops.exp(y), 'dead2');
    const { graph, passes } = optimize(g, ['x', y.name], 1, ['prune']);
    expect(graph.nodes.map((n) => n.name)).toEqual(['x', 'y']);
    expect(passes[0]).toMatchObject({ name: 'prune', nodesBefore: 5, nodesAfter: 2, removed: 3 });
  });
});

describe('cse', () => {
  test('merges equal pure nodes and equal constants, commutative inputs in either order', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3], 'x');
    const a = ops.add(x, g.constant([1, 2, 3]));
    const b = ops.add(g.constant([1, 2, 3]), x);
    const out = ops.mul(ops.exp(a), ops.exp(b), 'out');
    const { graph, passes } = optimize(g, ['x', 'out'], 1, ['cse', 'prune']);
    expect(opsOf(graph).sort()).toEqual(['add', 'const', 'exp', 'mul', 'placeholder']);
    expect(passes[0].merged).toBe(3);
    expect(graph.node('out').inputs[0]).toBe(graph.node('out').inputs[1]);
    expect(out.shape).toEqual([3]);
  });

  test('large constants: equal ones merge, ones their hash samples cannot tell apart do not', () => {
    // past 64 KB a constant's hash reads a sample of it: a change between two sampled words leaves
    // the hash alone, and the full compare before merging must keep the two apart
    const size = 100_000;
    const base = Float32Array.from({ length: size }, (_, i) => Math.sin(i));
    const changed = base.slice();
    changed[12345] += 1;
    const g = new Graph();
    const x = g.placeholder('float32', [size], 'x');
    const same = ops.add(ops.mul(x, g.constant(tensor(base, [size]))), ops.mul(x, g.constant(tensor(base.slice(), [size]))), 'same');
    const apart = ops.add(ops.mul(x, g.constant(tensor(base, [size]))), ops.mul(x, g.constant(tensor(changed, [size]))), 'apart');
    const { graph } = optimize(g, ['x', same.name, apart.name], 1, ['cse', 'prune']);
    expect(graph.nodes.filter((n) => n.op === 'const')).toHaveLength(2);
    expect(constantHash(changed)).toBe(constantHash(base));
    const products = (name: string) => graph.node(name).inputs.map((i) => i.node.inputs[1].node);
    expect(new Set(products('same')).size).toBe(1);
    expect(new Set(products('apart')).size).toBe(2);
  });

  test('never merges stateful ops, and never a read of a variable across a write of it', async () => {
    const g = new Graph();
    const v = g.variable(tensor([1, 2], [2]), 'v');
    const before = ops.mul(v, 2, 'before');
    const set = g.controlDependencies([before], () => ops.assign(v, tensor([10, 20], [2]), 'set'));
    const after = g.controlDependencies([set], () => ops.identity(v, 'readAfter'));
    const after2 = ops.mul(after, 2, 'after');
    const sess = new Session(g, { optimize: 2 });
    await sess.run(g.globalVariablesInitializer());
    const out = await sess.run([before, after2]);
    expect(values(out[0])).toEqual([2, 4]);
    expect(values(out[1])).toEqual([20, 40]);
  });
});

describe('constant folding', () => {
  test('evaluates constant subgraphs with the CPU kernels', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2], 'x');
    const c = ops.exp(ops.add(g.constant([0, 1]), g.constant([1, 1])));
    ops.mul(x, c, 'out');
    const { graph } = optimize(g, ['x', 'out'], 1);
    expect(opsOf(graph)).toEqual(['placeholder', 'const', 'mul']);
    close((graph.node('out').inputs[1].node.attrs.value as TensorValue).data, [Math.E, Math.exp(2)]);
  });

  test('leaves results over the size cap unfolded when they grow their inputs', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [1000], 'x');
    const big = ops.add(g.constant(new Array(1000).fill(1), 'ones'), 2);
    ops.mul(x, big, 'out');
    const capped = optimizeGraph(g, { level: 1, keep: new Set(['x', 'out']), evaluate: evaluateNode, foldLimitBytes: 100 });
    // 4000 bytes out of 4004 bytes in: no growth, folded despite the cap
    expect(capped.passes.find((p) => p.name === 'constantFold')!.folded).toBe(1);
  });

  test('a broadcast of a scalar to a large tensor stays a kernel', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [100, 100], 'x');
    const grid = ops.add(g.constant([1]), tensor(new Float32Array(100), [100, 1]));
    const wide = ops.add(grid, tensor(new Float32Array(100), [1, 100]));
    ops.mul(x, wide, 'out');
    const r = optimizeGraph(g, { level: 1, keep: new Set(['x', 'out']), evaluate: evaluateNode, foldLimitBytes: 1000 });
    expect(r.passes.find((p) => p.name === 'constantFold')!.skippedLarge).toBe(1);
    expect(r.graph.nodes.filter((n) => n.op === 'add')).toHaveLength(1);
  });
});

describe('simplification rules', () => {
  test('x*1, x+0, double neg, identity, double transpose and reshape chains vanish', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3], 'x');
    const a = ops.add(ops.mul(x, 1), 0);
    const b = ops.neg(ops.neg(ops.identity(a)));
    const c = ops.transpose(ops.transpose(b, [1, 0]), [1, 0]);
    const d = ops.reshape(ops.reshape(c, [3, 2]), [6]);
    const out = ops.exp(d, 'out');
    const { graph, passes } = optimize(g, ['x', 'out'], 2, ['simplify', 'prune']);
    expect(opsOf(graph)).toEqual(['placeholder', 'reshape', 'exp']);
    const stats = passes[0];
    for (const rule of ['mul-one', 'add-zero', 'neg-neg', 'identity', 'transpose-transpose', 'reshape-reshape']) expect(stats[rule]).toBe(1);
    const feeds = { x: tensor([1, 2, 3, 4, 5, 6], [2, 3]) };
    close((await runAt(g, out.name, feeds, 2)).data, [1, 2, 3, 4, 5, 6].map(Math.exp));
  });

  test('a rule added to SIMPLIFY_RULES after graphs were simplified takes part', () => {
    const build = () => {
      const g = new Graph();
      ops.sin(ops.asin(g.placeholder('float32', [3], 'x')), 'out');
      return g;
    };
    expect(opsOf(optimize(build(), ['x', 'out'], 2, ['simplify', 'prune']).graph)).toEqual(['placeholder', 'asin', 'sin']);
    SIMPLIFY_RULES.push({ name: 'test-sin-asin', pattern: { op: 'sin', args: [{ op: 'asin', args: [{ bind: 'x' }] }] }, rewrite: (m) => m.t.x });
    try {
      const { graph, passes } = optimize(build(), ['x', 'out'], 2, ['simplify', 'prune']);
      expect(passes[0]['test-sin-asin']).toBe(1);
      expect(opsOf(graph)).toEqual(['placeholder', 'identity']);
    } finally {
      SIMPLIFY_RULES.pop();
    }
  });

  test('a rewrite that would change the shape (x + zeros broadcast larger) is declined', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3], 'x');
    ops.add(x, tensor(new Float32Array(6), [2, 3]), 'out');
    const { graph } = optimize(g, ['x', 'out'], 2, ['simplify']);
    expect(graph.node('out').op).toBe('add');
    expect(graph.node('out').outputs[0].shape).toEqual([2, 3]);
  });

  test('a transpose feeding matmul becomes the transpose flag', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [3, 2], 'a');
    const b = g.placeholder('float32', [3, 2], 'b');
    const out = ops.matmul(ops.transpose(a), b, {}, 'out');
    const { graph } = optimize(g, ['a', 'b', 'out'], 2, ['simplify', 'prune']);
    expect(opsOf(graph)).toEqual(['placeholder', 'placeholder', 'matmul']);
    expect(graph.node('out').attrs.transposeA).toBe(true);
    const feeds = { a: tensor([1, 2, 3, 4, 5, 6], [3, 2]), b: tensor([1, 0, 0, 1, 1, 1], [3, 2]) };
    // aᵀ = [[1,3,5],[2,4,6]]; aᵀ·b = [[1+5, 3+5], [2+6, 4+6]]
    expect(values(await runAt(g, out.name, feeds, 2))).toEqual([6, 8, 8, 10]);
  });

  test('a rewrite into several new nodes names the one computing the result after the rewritten node; a declined one leaves nothing', async () => {
    // convNchw 'c' becomes transpose(conv2d(transpose(x), transpose(W))): the transpose computing the
    // result takes the name (a kept node is rewritten so), the conv and the filter's transpose
    // 'c/...'. Named in build order, the filter transpose once took the name and a fetch of the kept
    // node read a constant filter. The kept 'out', two transposes that cancel, stays as an identity.
    const g = new Graph();
    const x = g.placeholder('float32', [1, 4, 4, 2], 'x');
    const w = g.constant(tensor(Array.from({ length: 3 * 2 * 3 * 3 }, (_, i) => Math.sin(i)), [3, 2, 3, 3]), 'w');
    const c = ops.convNchw(ops.transpose(x, [0, 3, 1, 2]), w, null, { pads: [1, 1, 1, 1] }, 'c');
    const y = ops.transpose(c, [0, 2, 3, 1], 'out');
    const { graph } = optimize(g, ['x', 'c', 'out'], 2, ['simplify']);
    expect(graph.node('c').op).toBe('transpose');
    expect(graph.node('c/conv2d').op).toBe('conv2d');
    expect(graph.node('c/conv2d').inputs.map((t) => t.node.name)).toEqual(['x', 'c/transpose']);
    expect(graph.node('out').op).toBe('identity');
    expect(graph.node('out').inputs[0].node.name).toBe('c/conv2d');
    const feeds = { x: tensor(Array.from({ length: 32 }, (_, i) => Math.cos(i)), [1, 4, 4, 2]) };
    for (const fetch of [y.name, c.name]) {
      const [want, got] = [values(await runAt(g, fetch, feeds, 0)), values(await runAt(g, fetch, feeds, 2))];
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    }
    // x + zeros broadcast larger is declined (its shape would change): no node is left behind
    const h = new Graph();
    const hx = h.placeholder('float32', [3], 'x');
    ops.add(ops.neg(ops.neg(hx)), tensor(new Float32Array(6), [2, 3]), 'sum');
    expect(optimize(h, ['x', 'sum'], 2, ['simplify']).graph.nodes.length).toBeLessThanOrEqual(h.nodes.length);
  });

  test('rms-norm: RMS normalization written out in its four forms becomes one rmsNorm, within float tolerance of O0', async () => {
    const forms: [string, (x: SymbolicTensor, meanSqEps: SymbolicTensor) => SymbolicTensor][] = [
      ['1 / sqrt', (x, a) => ops.mul(x, ops.div(1, ops.sqrt(a)))],
      ['reciprocal(sqrt)', (x, a) => ops.mul(ops.reciprocal(ops.sqrt(a)), x)],
      ['rsqrt', (x, a) => ops.mul(x, ops.rsqrt(a))],
      ['x / sqrt', (x, a) => ops.div(x, ops.sqrt(a))],
    ];
    const data = Array.from({ length: 2 * 3 * 8 }, (_, i) => Math.sin(i * 1.7) * 2);
    for (const [form, normalize] of forms) {
      for (const axes of [[-1], [1, 2]]) {
        const g = new Graph();
        const x = g.placeholder('float32', [2, 3, 8], 'x');
        const scale = axes.length === 1 ? tensor(Array.from({ length: 8 }, (_, i) => 0.5 + i / 8), [8]) : tensor(Array.from({ length: 24 }, (_, i) => 1 - i / 48), [3, 8]);
        // x ** 2 as exporters write it (pow-two makes it square(x) first)
        const meanSq = ops.add(ops.reduceMean(ops.pow(x, 2), axes, true), 1e-5);
        ops.mul(normalize(x, meanSq), scale, 'y');
        const sess = new Session(g);
        const feeds = { x: tensor(data, [2, 3, 8]) };
        await sess.run('y', feeds);
        const ran = sess.plans()[0].schedule.map((n) => n.op).filter((op) => op !== 'const' && op !== 'placeholder');
        expect([form, ran]).toEqual([form, ['rmsNorm']]);
        await expectO2AsO0(g, 'y', feeds);
      }
    }
  });

  test('rms-norm declines a mean over leading axes, a mean without its axes kept, a scale wider than the normalized axes', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 8], 'x');
    const inv = (axes: number[], keep: boolean) => ops.rsqrt(ops.add(ops.reduceMean(ops.square(x), axes, keep), 1e-5));
    ops.mul(ops.mul(x, inv([1], true)), tensor(new Float32Array(8).fill(2), [8]), 'leading');
    // a square x's row means, not kept, broadcast along its rows: another computation
    const sq = g.placeholder('float32', [8, 8], 'sq');
    ops.mul(ops.mul(sq, ops.rsqrt(ops.add(ops.reduceMean(ops.square(sq), [1], false), 1e-5))), tensor(new Float32Array(8).fill(2), [8]), 'dropped');
    ops.mul(ops.mul(x, inv([2], true)), tensor(new Float32Array(24).fill(2), [3, 8]), 'wide');
    ops.mul(ops.mul(x, inv([2], true)), tensor(new Float32Array(8).fill(2), [8]), 'fine');
    const { graph } = optimize(g, ['x', 'sq', 'leading', 'dropped', 'wide', 'fine'], 2, ['simplify']);
    expect(['leading', 'dropped', 'wide', 'fine'].map((n) => graph.node(n).op)).toEqual(['mul', 'mul', 'mul', 'rmsNorm']);
  });

  test('kept nodes and nodes with control inputs are not rewritten; noOps dissolve', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2], 'x');
    const kept = ops.identity(x, 'kept');
    const v = g.variable(tensor([0, 0], [2]), 'v');
    const n1 = ops.assign(v, x, 'n1').node;
    const inner = g.addNode('noOp', [], {}, { name: 'inner', controlInputs: [n1] });
    const guarded = g.controlDependencies([inner], () => ops.mul(kept, 1, 'guarded'));
    const { graph } = optimize(g, ['x', 'kept', 'guarded'], 2, ['simplify', 'prune']);
    expect(v.name).toBe('v');
    expect(graph.node('kept').op).toBe('identity');
    expect(graph.node('guarded').op).toBe('mul');
    expect(graph.node('guarded').controlInputs.map((c: Node) => c.name)).toEqual(['n1']);
    expect(graph.hasNode('inner')).toBe(false);
    expect(guarded.name).toBe('guarded');
  });
});

describe('fusion', () => {
  test('an elementwise chain becomes one fusedElementwise node with the same numbers', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4], 'x');
    const y = g.placeholder('float32', [4], 'y');
    const out = ops.sigmoid(ops.sub(ops.mul(ops.exp(x), y), ops.tanh(y)), 'out');
    const { graph } = optimize(g, ['x', 'y', 'out'], 2);
    expect(opsOf(graph)).toEqual(['placeholder', 'placeholder', 'fusedElementwise']);
    expect((graph.node('out').attrs.program as unknown[]).length).toBe(5);
    const feeds = { x: tensor([0.1, -1, 2, 0.5], [4]), y: tensor([3, 0.25, -2, 1], [4]) };
    const ref = await runAt(g, out.name, feeds, 0);
    expect(values(await runAt(g, out.name, feeds, 2))).toEqual(values(ref));
  });

  test('an intermediate read outside the chain ends a group; a kept intermediate is not absorbed', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4], 'x');
    const e = ops.exp(ops.neg(x), 'e');
    ops.add(ops.relu(e), 1, 'a');
    ops.log(ops.abs(e), 'b');
    const { graph } = optimize(g, ['x', 'a', 'b'], 2);
    expect(graph.node('e').op).toBe('fusedElementwise');
    expect(graph.node('a').op).toBe('fusedElementwise');
    expect(graph.node('b').op).toBe('fusedElementwise');
    const kept = optimize(g, ['x', 'a', 'b', 'e'], 2).graph;
    expect(kept.node('e').op).toBe('fusedElementwise');
  });

  test('gelu(matmul(x, W) + b) runs as one kernel at O2', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 3], 'x');
    const W = g.constant(tensor([0.5, -1, 0.25, 2, 1, -0.5], [3, 2]), 'W');
    const b = g.constant(tensor([0.1, -0.2], [2]), 'b');
    const out = ops.gelu(ops.add(ops.matmul(x, W), b), false, 'out');
    const feeds = { x: tensor([1, 2, 3, -1, 0.5, 2], [2, 3]) };
    const sess = new Session(g, { optimize: 2 });
    const got = await sess.run(out, feeds);
    const plan = sess.plans()[0];
    expect(plan.kernels).toBe(1);
    expect(plan.schedule.map((n) => n.op)).toContain('fusedMatmul');
    const ref = await runAt(g, out.name, feeds, 0);
    expect(values(got)).toEqual(values(ref));
  });

  test('conv2d + batchNorm + relu folds into one kernel with the same numbers', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [1, 4, 4, 2], 'x');
    const w = g.constant(tensor(Array.from({ length: 3 * 3 * 2 * 3 }, (_, i) => Math.sin(i)), [3, 3, 2, 3]), 'w');
    const conv = ops.conv2d(x, w, 1, 'SAME');
    const bn = ops.batchNorm(conv, g.constant([0.1, -0.2, 0.3]), g.constant([1.5, 0.5, 2]), g.constant([0, 1, -1]), g.constant([2, 0.5, 1]), 1e-3);
    const out = ops.relu(bn, 'out');
    const feeds = { x: tensor(Array.from({ length: 32 }, (_, i) => Math.cos(i)), [1, 4, 4, 2]) };
    const sess = new Session(g, { optimize: 2 });
    const got = await sess.run(out, feeds);
    expect(sess.plans()[0].kernels).toBe(1);
    expect(sess.plans()[0].schedule.map((n) => n.op)).toEqual(['placeholder', 'const', 'const', 'fusedConv2d']);
    close(got.data, (await runAt(g, out.name, feeds, 0)).data, 1e-5);
  });

  test('a batchNorm with NCHW statistics ([C, 1, 1]) becomes one multiply and one add, fused with its relu', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 4, 5], 'x');
    const stat = (v: number[]) => g.constant(tensor(v, [3, 1, 1]));
    const y = ops.relu(ops.batchNorm(ops.tanh(x), stat([0.1, -0.2, 0.3]), stat([1.5, 0.5, 2]), stat([0, 1, -1]), stat([2, 0.5, 1]), 1e-3), 'out');
    const { graph, passes } = optimize(g, ['x', 'out'], 2);
    expect(passes.find((p) => p.name === 'foldBatchNorm')).toMatchObject({ folded: 0, affine: 1 });
    expect(opsOf(graph).filter((op) => op !== 'const')).toEqual(['placeholder', 'fusedElementwise']);
    const program = (graph.node('out').attrs.program as { op: string }[]).map((s) => s.op);
    expect(program).toEqual(['tanh', 'mul', 'add', 'relu']);
    const feeds = { x: tensor(Array.from({ length: 120 }, (_, i) => Math.sin(i)), [2, 3, 4, 5]) };
    close((await runAt(g, y.name, feeds, 2)).data, (await runAt(g, y.name, feeds, 0)).data, 1e-6);
  });

  test.each<[string, number, number, Parameters<typeof ops.convNchw>[3], boolean]>([
    ['conv, bias, strides, dilations, explicit pads', 1, 4, { strides: [2, 1], dilations: [1, 2], pads: [1, 0, 2, 1] }, true],
    ['conv, SAME_UPPER', 1, 5, { autoPad: 'SAME_UPPER' }, false],
    ['depthwise (group = C), multiplier 2', 3, 6, { pads: [1, 1, 1, 1] }, true],
  ])('an NCHW %s between layout transposes runs as the NHWC op, with the same numbers', async (_label, group, M, attrs, withBias) => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 7, 8, 3], 'x');
    const w = g.constant(tensor(Array.from({ length: M * (3 / group) * 9 }, (_, i) => Math.sin(i * 0.7)), [M, 3 / group, 3, 3]), 'w');
    const bias = withBias ? g.constant(tensor(Array.from({ length: M }, (_, i) => i / 4), [M]), 'b') : null;
    const nchw = ops.convNchw(ops.transpose(x, [0, 3, 1, 2]), w, bias, { group, ...attrs });
    const y = ops.relu(ops.transpose(nchw, [0, 2, 3, 1]), 'out');
    const { graph, passes } = optimize(g, ['x', 'out'], 2);
    expect(passes.find((p) => p.name === 'simplify')!['nchw-conv-to-nhwc']).toBe(1);
    expect(opsOf(graph)).not.toContain('transpose');
    expect(opsOf(graph)).toContain(group === 1 ? 'fusedConv2d' : 'fusedDepthwiseConv2d');
    const feeds = { x: tensor(Array.from({ length: 2 * 7 * 8 * 3 }, (_, i) => Math.cos(i)), [2, 7, 8, 3]) };
    close((await runAt(g, y.name, feeds, 2)).data, (await runAt(g, y.name, feeds, 0)).data, 1e-5);
  });

  test('NCHW max and average pools run as NHWC pools, ceil mode as end padding; counted padding stays where the model pads', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [1, 6, 7, 2], 'x');
    const wrap = (f: (t: SymbolicTensor) => SymbolicTensor, name: string) => ops.transpose(f(ops.transpose(x, [0, 3, 1, 2])), [0, 2, 3, 1], name);
    wrap((t) => ops.maxPoolNchw(t, [3, 2], { strides: [2, 2], pads: [1, 0, 1, 1] }), 'max');
    wrap((t) => ops.avgPoolNchw(t, [2, 2], { strides: [1, 2] }), 'avg');
    wrap((t) => ops.maxPoolNchw(t, [2, 2], { strides: [2, 2], ceilMode: true }), 'ceil'); // 6x7 -> 3x4: the last column window is cut
    wrap((t) => ops.avgPoolNchw(t, [3, 2], { strides: [2, 2], pads: [1, 0, 0, 0], ceilMode: true }), 'avgCeil');
    wrap((t) => ops.avgPoolNchw(t, [2, 2], { strides: [2, 2], countIncludePad: true }), 'countedUnpadded');
    wrap((t) => ops.avgPoolNchw(t, [3, 3], { pads: [1, 1, 1, 1], countIncludePad: true }), 'counted');
    const names = ['max', 'avg', 'ceil', 'avgCeil', 'countedUnpadded', 'counted'];
    const { graph, passes } = optimize(g, ['x', ...names], 2);
    expect(passes.find((p) => p.name === 'simplify')!['nchw-pool-to-nhwc']).toBe(5);
    expect(opsOf(graph).filter((o) => o === 'maxPool' || o === 'avgPool')).toHaveLength(5);
    expect(opsOf(graph)).toContain('avgPoolNchw');
    const feeds = { x: tensor(Array.from({ length: 84 }, (_, i) => Math.sin(i * 1.3)), [1, 6, 7, 2]) };
    for (const out of names) close((await runAt(g, out, feeds, 2)).data, (await runAt(g, out, feeds, 0)).data, 1e-6);
  });

  test('with variable statistics the fold still gives the unfolded numbers', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3], 'x');
    const W = g.variable(tensor([1, 2, 3, 4, 5, 6], [3, 2]), 'W');
    const mean = g.variable(tensor([0.5, -0.5], [2]), 'mean');
    const variance = g.variable(tensor([4, 0.25], [2]), 'var');
    const out = ops.relu(ops.batchNorm(ops.matmul(x, W), mean, variance, null, null, 0), 'out');
    const feeds = { x: tensor([1, 0, -1, 0.5, 2, 1], [2, 3]) };
    const results = [];
    for (const level of [0, 2] as const) {
      const sess = new Session(g, { optimize: level });
      await sess.run(g.globalVariablesInitializer());
      results.push(await sess.run(out, feeds));
    }
    // xW = [[-4, -4], [11.5, 15]]; (v - m) / sqrt(var) = [[-2.25, -7], [5.5, 31]] -> relu
    close(results[0].data, [0, 0, 5.5, 31]);
    close(results[1].data, [0, 0, 5.5, 31]);
  });
});

describe('channels-first models run channels-last', () => {
  const seq = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));
  const weights = (g: Graph, shape: number[], seed: number, name: string) =>
    g.constant(tensor(seq(shape.reduce((p, d) => p * d, 1), (i) => Math.sin(i * 0.37 + seed) * 0.5), shape), name);
  /** An NCHW conv of `t` in `g` with seeded weights and bias, 'same' padding for k = 3. */
  const convIn = (g: Graph) => (t: SymbolicTensor, cin: number, cout: number, k: number, seed: number, stride = 1) =>
    ops.convNchw(t, weights(g, [cout, cin, k, k], seed, `w${seed}`), weights(g, [cout], seed + 0.5, `b${seed}`), { strides: [stride, stride], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] });

  /** A residual block as torch.onnx.export writes one: NCHW convs with biases, relu, add, a max pool, global pooling, a linear layer. */
  function residualBlock(batch: number | null) {
    const g = new Graph();
    const x = g.placeholder('float32', [batch, 3, 8, 8], 'x');
    const conv = convIn(g);
    const stem = ops.maxPoolNchw(ops.relu(conv(x, 3, 4, 3, 1)), [2, 2], { strides: [2, 2] });
    const h = ops.relu(conv(stem, 4, 6, 3, 2));
    const y = ops.relu(ops.add(conv(h, 6, 6, 3, 3), conv(stem, 4, 6, 1, 4)));
    const pooled = ops.reshape(ops.mean(y, [2, 3], true), [-1, 6]);
    const logits = ops.add(ops.matmul(pooled, weights(g, [6, 5], 5, 'fc')), weights(g, [5], 6, 'fc_b'), 'logits');
    return { g, logits };
  }

  test.each([2, null])('a residual block (batch %p) keeps one transpose, at its input, and gives the O0 numbers', async (batch) => {
    const { g, logits } = residualBlock(batch);
    const { graph, passes } = optimize(g, ['x', 'logits'], 2);
    const simplify = passes.find((p) => p.name === 'simplify')!;
    expect(simplify).toMatchObject({ 'nchw-conv-to-nhwc': 4, 'nchw-pool-to-nhwc': 1 });
    expect(opsOf(graph).filter((op) => op === 'transpose')).toHaveLength(1);
    expect(graph.nodes.find((n) => n.op === 'transpose')!.inputs[0].node.name).toBe('x');
    expect(opsOf(graph)).not.toContain('convNchw');
    // (with the batch unknown the residual add stays out of the last conv's epilogue; a session's plan
    // knows the batch before it optimizes)
    expect(opsOf(graph).filter((op) => op === 'fusedConv2d')).toHaveLength(batch === null ? 2 : 3);
    const feeds = { x: tensor(seq(2 * 3 * 64, (i) => Math.cos(i * 0.11)), [2, 3, 8, 8]) };
    await expectO2AsO0(g, 'logits', feeds);
  });

  test('squeeze-and-excitation, a reflect pad and an upsampling run channels-last: a transpose in, one out', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 4, 6, 6], 'x');
    const conv = convIn(g);
    const y = ops.relu(conv(x, 4, 6, 3, 1));
    // squeeze-and-excitation as PyTorch writes it: pool, view as [N, C], two linear layers, view as [N, C, 1, 1]
    const squeezed = ops.relu(ops.matmul(ops.mean(y, [2, 3]), weights(g, [6, 2], 2, 'fc1')));
    const excite = ops.reshape(ops.sigmoid(ops.matmul(squeezed, weights(g, [2, 6], 3, 'fc2'))), [2, 6, 1, 1]);
    const padded = ops.pad(ops.mul(y, excite), [[0, 0], [0, 0], [1, 2], [2, 1]], 0, 'reflect'); // [2, 6, 9, 9]
    const up = ops.resize(padded, [2, 6, 18, 18], { mode: 'linear', scales: [1, 1, 2, 2] });
    ops.identity(conv(up, 6, 3, 3, 4), 'out');
    const { graph, passes } = optimize(g, ['x', 'out'], 2);
    expect(passes.find((p) => p.name === 'simplify')).toMatchObject({ 'transpose-sink-per-axis': 2 });
    const transposes = graph.nodes.filter((n) => n.op === 'transpose');
    expect(transposes.map((n) => n.inputs[0].node.op)).toEqual(['placeholder', 'fusedConv2d']);
    const feeds = { x: tensor(seq(2 * 4 * 36, (i) => Math.sin(i * 0.23)), [2, 4, 6, 6]) };
    await expectO2AsO0(g, 'out', feeds);
  });

  test("a YOLOv8 C2f block (Split along channels, bottlenecks, Concat) and a channel slice run channels-last", async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 8, 6, 6], 'x');
    const conv = convIn(g);
    const silu = (t: SymbolicTensor) => ops.mul(t, ops.sigmoid(t));
    const [a, b] = ops.split(silu(conv(x, 8, 8, 1, 1)), 2, 1); // [2, 4, 6, 6] each
    const c = silu(conv(silu(conv(b, 4, 4, 3, 2)), 4, 4, 3, 3));
    const merged = silu(conv(ops.concat([a, b, ops.add(b, c)], 1), 12, 8, 1, 4));
    const head = ops.stridedSlice(merged, [0, 2, 0, 1], [1, 2, 1, 2], [2, 3, 6, 3]); // channels 2, 4, 6; columns 1, 3, 5
    ops.identity(conv(head, 3, 5, 1, 5), 'out');
    const { graph, passes } = optimize(g, ['x', 'out'], 2);
    expect(passes.find((p) => p.name === 'simplify')).toMatchObject({ 'transpose-sink-split': 1, 'transpose-sink-concat': 1, 'transpose-sink-per-axis': 1 });
    expect(graph.nodes.filter((n) => n.op === 'transpose').map((n) => n.inputs[0].node.op)).toEqual(['placeholder', 'fusedConv2d']);
    const feeds = { x: tensor(seq(2 * 8 * 36, (i) => Math.sin(i * 0.17)), [2, 8, 6, 6]) };
    await expectO2AsO0(g, 'out', feeds);
  });

  test('a segmentation head (softmax and argMax over channels) runs channels-last; logSoftmax over a transposed last axis too', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 5, 6], 'x');
    const logits = ops.convNchw(x, weights(g, [4, 3, 3, 3], 1, 'w'), weights(g, [4], 2, 'b'), { pads: [1, 1, 1, 1] });
    ops.softmax(logits, 1, 'probs');
    ops.argMax(logits, 1, 'int32', 'labels'); // [2, 5, 6]
    ops.argMax(logits, 2, 'int32', 'columns'); // [2, 4, 6]: x's axes 0, 3, 2 stay, so a transpose follows
    ops.logSoftmax(ops.relu(logits), -1, 'rows');
    const fetches = ['probs', 'labels', 'columns', 'rows'];
    const { graph, passes } = optimize(g, ['x', ...fetches], 2);
    expect(passes.find((p) => p.name === 'simplify')).toMatchObject({ 'transpose-sink-axis': 4 });
    expect(graph.node('labels').op).toBe('argMax');
    expect(graph.node('labels').attrs.axis).toBe(3);
    expect(graph.node('columns').attrs.perm).toEqual([0, 2, 1]);
    expect(graph.nodes.filter((n) => n.op === 'transpose').map((n) => n.inputs[0].node.op).sort()).toEqual(['argMax', 'logSoftmax', 'placeholder', 'softmax']);
    const feeds = { x: tensor(seq(180, (i) => Math.sin(i * 0.41)), [2, 3, 5, 6]) };
    for (const f of fetches) close((await runAt(g, f, feeds, 2)).data, (await runAt(g, f, feeds, 0)).data, 1e-6);
  });

  test("an NCHW batch norm after a conv folds into it once the layout transposes sink past it", async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [1, 2, 5, 5], 'x');
    const stat = (v: number[]) => g.constant(tensor(v, [3, 1, 1]));
    const conv = ops.convNchw(x, weights(g, [3, 2, 3, 3], 1, 'w'), null, { pads: [1, 1, 1, 1] });
    const y = ops.relu(ops.batchNorm(conv, stat([0.1, -0.2, 0.3]), stat([1.5, 0.5, 2]), stat([0, 1, -1]), stat([2, 0.5, 1]), 1e-3), 'out');
    const { graph, passes } = optimize(g, ['x', 'out'], 2);
    expect(passes.find((p) => p.name === 'foldBatchNorm')).toMatchObject({ folded: 1 });
    expect(opsOf(graph).filter((op) => op !== 'const')).toEqual(['placeholder', 'transpose', 'fusedConv2d', 'transpose']);
    const feeds = { x: tensor(seq(50, (i) => Math.sin(i)), [1, 2, 5, 5]) };
    close((await runAt(g, y.name, feeds, 2)).data, (await runAt(g, y.name, feeds, 0)).data, 1e-5);
  });

  test('transposes sink past elementwise ops with constants, reductions and concats, and a unit-axis transpose is a reshape', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 4, 5], 'x');
    const z = g.placeholder('float32', [2, 4, 5, 3], 'z');
    const p = [0, 2, 3, 1];
    const t = ops.transpose(x, p); // [2, 4, 5, 3]
    const scaled = ops.mul(ops.add(t, tensor(seq(15, (i) => i / 7), [5, 3])), 2); // a constant broadcast, a scalar
    ops.reduceSum(scaled, [1, 3], false, 'sum'); // [2, 5]: reduces x's axes 2 and 1
    ops.reduceSum(scaled, [0], false, 'sum0'); // [4, 5, 3]: x's axes 2, 3, 1 stay, so a transpose follows
    ops.reduceMax(scaled, [3], true, 'max'); // then [2, 1, 4, 5] -> [2, 4, 5, 1]: a unit-axis transpose
    ops.concat([scaled, ops.transpose(ops.exp(x), p)], 3, 'cat');
    ops.add(t, z, 'mixed'); // the other operand is neither transposed nor constant: stays
    ops.reshape(ops.transpose(ops.mean(x, [2, 3], true), p), [2, 3], 'flat'); // [2, 1, 1, 3] -> [2, 3]
    const fetches = ['sum', 'sum0', 'max', 'cat', 'mixed', 'flat'];
    const { graph, passes } = optimize(g, ['x', 'z', ...fetches], 2, ['simplify', 'prune']);
    expect(passes[0]).toMatchObject({ 'transpose-sink-elementwise': 2, 'transpose-sink-reduce': 3, 'transpose-sink-concat': 1, 'transpose-unit-axes': 2 });
    expect(graph.node('sum').op).toBe('reduceSum');
    expect(graph.node('sum').attrs.axes).toEqual([1, 2]);
    expect(graph.node('sum0').op).toBe('transpose');
    expect(graph.node('sum0').attrs.perm).toEqual([1, 2, 0]);
    expect(graph.node('mixed').inputs[0].node.op).toBe('transpose');
    expect(graph.node('flat').op).toBe('reshape');
    expect(graph.node('flat').inputs[0].node.op).toBe('reduceMean');
    const feeds = { x: tensor(seq(120, (i) => Math.sin(i * 0.3)), [2, 3, 4, 5]), z: tensor(seq(120, (i) => Math.cos(i)), [2, 4, 5, 3]) };
    for (const f of fetches) close((await runAt(g, f, feeds, 2)).data, (await runAt(g, f, feeds, 0)).data, 1e-6);
  });

  test('a kept node that a rule turns into an existing tensor stays, as an identity of it', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3], 'x');
    ops.add(ops.relu(x, 'r'), 0, 'kept');
    const { graph } = optimize(g, ['x', 'kept'], 2, ['simplify', 'prune']);
    expect(graph.node('kept').op).toBe('identity');
    expect(graph.node('kept').inputs[0].node.name).toBe('r');
  });
});

describe('fused updates', () => {
  /** The final variable values after `steps` runs of `fetch` at `level`. */
  async function trained(g: Graph, fetch: Node | SymbolicTensor, feeds: Record<string, TensorValue>, level: OptLevel, steps = 3): Promise<Record<string, number[]>> {
    const sess = new Session(g, { optimize: level });
    await sess.run(g.globalVariablesInitializer());
    for (let i = 0; i < steps; i++) await sess.run(fetch, feeds);
    const out: Record<string, number[]> = {};
    for (const name of sess.variables.names()) out[name] = values(await sess.variables.read(name));
    return out;
  }

  test("Adam's update of each variable is one fusedAssign writing m, v and the weight in place, with the O0 numbers", async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 3], 'x');
    const W = g.variable(tensor([0.5, -1, 0.25, 2, 1, -0.5], [3, 2]), 'W');
    const b = g.variable(tensor([0.1, -0.2], [2]), 'b');
    const loss = ops.mean(ops.square(ops.tanh(ops.add(ops.matmul(x, W), b))), undefined, false, 'loss');
    const step = new train.Adam(0.05).minimize(loss, { name: 'train' });
    const { graph, passes } = optimize(g, ['x', 'loss', step.name], 2);
    const updates = graph.nodes.filter((n) => n.op === 'fusedAssign');
    // W and b, each with its m and v chained in, and the two beta powers
    expect(updates.map((n) => n.inputs[0].node.name).sort()).toEqual(['Adam/beta1_power', 'Adam/beta2_power', 'W', 'b']);
    expect(opsOf(graph).filter((op) => op === 'assign' || op === 'assignSub')).toEqual([]);
    expect(passes.find((p) => p.name === 'fuse')).toMatchObject({ updates: 4, chained: 4 });
    // W's kernel computes m, then v, then the step from them, and subtracts it from W last
    const wUpdate = updates.find((n) => n.inputs[0].node.name === 'W')!;
    const program = wUpdate.attrs.program as { op: string; args: object[] }[];
    expect(program[program.length - 1]).toEqual({ op: 'sub', attrs: {}, args: [{ input: 0 }, { step: program.length - 2 }] });
    const chained = wUpdate.attrs.updates as { input: number; step: number }[];
    expect(chained.map((u) => wUpdate.inputs[u.input].node.name)).toEqual(['W/Adam/m', 'W/Adam/v']);
    expect(wUpdate.outputs.map((o) => o.shape)).toEqual([[3, 2], [3, 2], [3, 2]]);
    const feeds = { x: tensor([1, 2, 3, -1, 0.5, 2, 0, 1, -2, 3, 0.25, -1], [4, 3]) };
    const ref = await trained(g, step, feeds, 0);
    const got = await trained(g, step, feeds, 2);
    for (const name of Object.keys(ref)) close(got[name], ref[name], 1e-6);
  });

  test('SGD and Momentum updates fuse too; so does a user assign of a function of the variable', async () => {
    for (const opt of [new train.SGD(0.1), new train.Momentum(0.1, 0.9, { useNesterov: true })]) {
      const g = new Graph();
      const w = g.variable(tensor([1, -2, 3], [3]), 'w');
      const loss = ops.reduceSum(ops.square(ops.sub(w, g.constant(tensor([0.5, 0.5, 0.5], [3])))));
      const step = opt.minimize(loss, { globalStep: null });
      const { graph } = optimize(g, ['w', step.name], 2);
      expect(opsOf(graph)).not.toContain('assignSub');
      // Momentum's accumulator update chains into the weight's
      expect(opsOf(graph).filter((op) => op === 'fusedAssign').length).toBe(1);
      close((await trained(g, step, {}, 2)).w, (await trained(g, step, {}, 0)).w, 1e-6);
    }
    const g = new Graph();
    const v = g.variable(tensor([1, 2, 3, 4], [2, 2]), 'v');
    const x = g.placeholder('float32', [2], 'x');
    const halved = ops.assign(v, ops.mul(ops.add(v, x), 0.5), 'halved');
    expect(opsOf(optimize(g, ['x', 'halved'], 2).graph)).toContain('fusedAssign');
    const feeds = { x: tensor([1, -1], [2]) };
    expect((await trained(g, halved, feeds, 2)).v).toEqual((await trained(g, halved, feeds, 0)).v);
  });

  test('an update stays apart when its value is read elsewhere, does not read the variable, or reads it through another view', () => {
    const g = new Graph();
    const v = g.variable(tensor([1, 2, 3, 4], [4]), 'v');
    const x = g.placeholder('float32', [4], 'x');
    const shared = ops.mul(x, 2, 'shared');
    ops.assignAdd(v, shared, 'readElsewhere');
    ops.neg(shared, 'other');
    ops.assign(v, ops.exp(x), 'noRead');
    ops.assign(v, ops.add(ops.reverse(v, [0]), v), 'reversed');
    const row = g.variable(tensor([1, 2, 3, 4], [1, 4]), 'row');
    ops.assignSub(row, ops.mul(ops.reshape(row, [4]), 0.5), 'view');
    const { graph } = optimize(g, ['x', 'other', 'readElsewhere', 'noRead', 'reversed', 'view'], 2);
    expect(graph.node('readElsewhere').op).toBe('assignAdd');
    expect(graph.node('noRead').op).toBe('assign');
    // reverse is not elementwise: its result is an ordinary input, computed before the update starts
    expect(graph.node('reversed').op).toBe('fusedAssign');
    expect(graph.node('view').op).toBe('assignSub');
  });

  test('an update stays out of a chain when its result is read elsewhere, its variable is read in between, a view of a written variable is read, or shapes differ', async () => {
    const g = new Graph();
    const m = g.variable(tensor([1, 2, 3, 4], [4]), 'm');
    const w = g.variable(tensor([4, 3, 2, 1], [4]), 'w');
    const s = g.variable(tensor([0.5], [1]), 's');
    const x = g.placeholder('float32', [4], 'x');
    const mNew = ops.assign(m, ops.add(ops.mul(m, 0.5), x), 'mNew');
    ops.assignSub(w, ops.mul(mNew, 0.1), 'wNew');
    // read in between: the chain would move m's write past this read
    const m2 = g.variable(tensor([1, 1, 1, 1], [4]), 'm2');
    const m2New = ops.assign(m2, ops.mul(m2, x), 'm2New');
    const between = ops.mul(m2, 3, 'between');
    ops.assignAdd(w, ops.mul(m2New, between), 'wNew2');
    // a [1] variable's update read by a [4] variable's: two index spaces
    const sNew = ops.assign(s, ops.mul(s, 2), 'sNew');
    ops.assignAdd(w, ops.mul(sNew, x), 'wNew3');
    // the chained update reads the reader's variable through a view, which the kernel would write
    const row = g.variable(tensor([1, 2, 3, 4], [1, 4]), 'row');
    const rowM = g.variable(tensor([0, 0, 0, 0], [1, 4]), 'rowM');
    const rowMNew = ops.assign(rowM, ops.add(ops.mul(rowM, 0.5), ops.reshape(row, [4])), 'rowMNew');
    ops.assignSub(row, ops.mul(rowMNew, 0.1), 'rowNew');
    // the result read elsewhere too
    const m3 = g.variable(tensor([2, 2, 2, 2], [4]), 'm3');
    const m3New = ops.assign(m3, ops.mul(m3, x), 'm3New');
    ops.assignAdd(w, ops.mul(m3New, 2), 'wNew4');
    ops.neg(m3New, 'elsewhere');
    const keep = ['x', 'wNew', 'wNew2', 'wNew3', 'between', 'wNew4', 'elsewhere', 'rowNew'];
    const { graph } = optimize(g, keep, 2);
    expect(graph.node('wNew').attrs.updates).toEqual([{ input: 1, step: expect.any(Number) }]);
    expect(graph.node('wNew').inputs[1].node.name).toBe('m');
    expect(graph.hasNode('mNew')).toBe(false);
    expect(graph.node('m2New').op).toBe('fusedAssign');
    expect(graph.node('wNew2').attrs.updates).toBeUndefined();
    expect(graph.node('sNew').op).toBe('fusedAssign');
    expect(graph.node('wNew3').attrs.updates).toBeUndefined();
    expect(graph.node('m3New').op).toBe('fusedAssign');
    expect(graph.node('wNew4').attrs.updates).toBeUndefined();
    expect(graph.node('rowMNew').op).toBe('fusedAssign');
    expect(graph.node('rowNew').attrs.updates).toBeUndefined();
    const feeds = { x: tensor([1, -1, 2, 0.5], [4]) };
    const runs = async (level: OptLevel) => {
      const sess = new Session(g, { optimize: level });
      await sess.run(g.globalVariablesInitializer());
      const between = [];
      for (let i = 0; i < 2; i++) between.push((await sess.run(keep.slice(1), feeds)).map(values));
      return { between, w: values(await sess.variables.read('w')), m: values(await sess.variables.read('m')) };
    };
    expect(await runs(2)).toEqual(await runs(0));
  });

  test('an update does not move a read of its inputs past another write of them', () => {
    const g = new Graph();
    const a = g.variable(tensor([1, 2], [2]), 'a');
    const b = g.variable(tensor([3, 4], [2]), 'b');
    // graph order is program order: 'value' reads a before the bump, the update comes after it
    const value = ops.add(a, b, 'value');
    ops.assignAdd(a, tensor([1, 1], [2]), 'bump');
    ops.assign(b, value, 'update');
    const { graph } = optimize(g, ['bump', 'update'], 2);
    expect(graph.node('update').op).toBe('assign');
    expect(graph.node('value').op).toBe('add');
  });
});

describe('fused kernels', () => {
  const seq = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));

  test.each([
    ['bias + relu', false, false, 'bias'],
    ['transposed A and B, residual', true, true, 'full'],
    ['per-row scale', false, true, 'row'],
  ])('fusedMatmul over row blocks (%s) equals the unfused ops', async (_label, ta, tb, extra) => {
    const m = 150;
    const k = 37;
    const n = 21;
    const g = new Graph();
    const a = g.placeholder('float32', ta ? [k, m] : [m, k], 'a');
    const b = g.constant(tensor(seq(k * n, (i) => Math.sin(i) * 0.3), tb ? [n, k] : [k, n]), 'b');
    const mm = ops.matmul(a, b, { transposeA: ta as boolean, transposeB: tb as boolean });
    const shapes: Record<string, number[]> = { bias: [n], full: [m, n], row: [m, 1] };
    const side = g.constant(tensor(seq(shapes[extra as string].reduce((p, d) => p * d, 1), (i) => Math.cos(i)), shapes[extra as string]));
    const out = ops.relu(extra === 'row' ? ops.mul(mm, side) : ops.add(mm, side), 'out');
    const feeds = { a: tensor(seq(m * k, (i) => Math.cos(i * 0.37)), ta ? [k, m] : [m, k]) };
    const sess = new Session(g, { optimize: 2 });
    const got = await sess.run(out, feeds);
    expect(sess.plans()[0].schedule.map((nd) => nd.op)).toContain('fusedMatmul');
    expect(values(got)).toEqual(values(await runAt(g, out.name, feeds, 0)));
  });

  test('fusedConv2d with a residual input equals the unfused ops', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 5, 5, 3], 'x');
    const w = g.constant(tensor(seq(27 * 3, (i) => Math.sin(i * 1.3) * 0.4), [3, 3, 3, 3]));
    const out = ops.relu6(ops.add(ops.conv2d(x, w, 1, 'SAME'), x), 'out');
    const feeds = { x: tensor(seq(150, (i) => Math.cos(i * 0.21) * 2), [2, 5, 5, 3]) };
    const sess = new Session(g, { optimize: 2 });
    const got = await sess.run(out, feeds);
    expect(sess.plans()[0].kernels).toBe(1);
    expect(values(got)).toEqual(values(await runAt(g, out.name, feeds, 0)));
  });
});

describe('layout (O3)', () => {
  test('a constant operand read transposed is stored transposed instead', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3], 'x');
    const W = g.constant(tensor([1, 2, 3, 4, 5, 6], [2, 3]), 'W');
    const out = ops.matmul(x, W, { transposeB: true }, 'out');
    const feeds = { x: tensor([1, 0, 1, 0, 1, 0], [2, 3]) };
    const sess = new Session(g, { optimize: 3 });
    const got = await sess.run(out, feeds);
    const mm = sess.plans()[0].schedule.find((n) => n.name === 'out')!;
    expect(mm.attrs.transposeB).toBe(false);
    expect(mm.inputs[1].node.op).toBe('const');
    expect(mm.inputs[1].shape).toEqual([3, 2]);
    // x·Wᵀ: rows [1,0,1] and [0,1,0] against W rows [1,2,3], [4,5,6]
    expect(values(got)).toEqual([4, 10, 2, 5]);
  });
});

describe('verifier', () => {
  test('accepts built graphs and names the node of a type mismatch', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2], 'x');
    ops.exp(x, 'e');
    expect(() => verifyGraph(g)).not.toThrow();
    const bad = new Node(g, 99, 'bad', 'exp', {}, [x], [], [{ dtype: 'float32', shape: [3] }]);
    g.nodes.push(bad);
    expect(() => verifyGraph(g, 'after pass X')).toThrow(/after pass X: node 'bad'/);
  });

  test('every level keeps the fetched names and the verifier passes after each pass', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 4], 'x');
    const W = g.constant(tensor(new Float32Array(8).fill(0.5), [4, 2]), 'W');
    ops.relu(ops.add(ops.matmul(x, W), ops.mul(g.constant([1, 2]), 1)), 'out');
    for (const level of [1, 2, 3] as const) {
      const { graph, passes } = optimize(g, ['x', 'out'], level);
      expect(graph.hasNode('out')).toBe(true);
      expect(passes.every((p) => p.ms >= 0 && p.nodesAfter <= p.nodesBefore + 20)).toBe(true);
    }
  });
});
