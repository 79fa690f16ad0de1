import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DTypeError, Graph, GraphError, GraphcError, Session, ShapeError, SymbolicTensor, TensorValue, checkGradients, exportOnnx, gradients, importOnnx, loadModel, ops, saveModel, tensor, train } from 'graphc';
import { GpujsBackend } from '@graphc/runtime';
import { functionOptimizeCount } from '../../packages/runtime/src/backends/cpu/functions';
import { gpu } from '../webgpu/helpers';
import { firstTsBlock, runExample, typeErrors } from '../cli/ts-example';

/** Run-time control flow: ops.whileLoop (tf.while_loop) and ops.cond (tf.cond), held to hand-computed values. */

const values = (t: TensorValue): number[] => Array.from(t.data as ArrayLike<number>);

/** sum of step over n iterations, and the iteration count: a loop whose shapes stay put */
function counterGraph(): { g: Graph; i: SymbolicTensor; acc: SymbolicTensor } {
  const g = new Graph();
  const n = g.placeholder('int32', [], 'n');
  const step = g.placeholder('float32', [2], 'step');
  const [i, acc] = ops.whileLoop(
    (i) => ops.less(i, n),
    (i, a) => [ops.add(i, 1), ops.add(a, step)],
    [g.constant(0, 'i0', 'int32'), g.constant([0, 0], 'acc0')],
    { name: 'counter' },
  );
  return { g, i, acc };
}

/** x doubles its length each iteration (x ++ 2x): the carried shape is unknown until run time */
function growingGraph(): { g: Graph; grown: SymbolicTensor } {
  const g = new Graph();
  const n = g.placeholder('int32', [], 'n');
  const x = g.placeholder('float32', [1], 'x');
  const [, grown] = ops.whileLoop((i) => ops.less(i, n), (i, v) => [ops.add(i, 1), ops.concat([v, ops.mul(v, 2)], 0)], [g.constant(0, 'i0', 'int32'), x], { name: 'grow' });
  return { g, grown };
}

/** doubling x: [1] -> [1, 2] -> [1, 2, 2, 4] ... */
function grownValues(x: number, n: number): number[] {
  let v = [x];
  for (let k = 0; k < n; k++) v = [...v, ...v.map((e) => e * 2)];
  return v;
}

describe('whileLoop', () => {
  test('repeats the body while the condition holds, with tensors of the enclosing graph captured', async () => {
    const { g, i, acc } = counterGraph();
    expect(acc.shape).toEqual([2]);
    const s = new Session(g);
    const [it, sum] = await s.run([i, acc], { n: tensor([5], [], 'int32'), step: tensor([1, 2], [2]) });
    expect(values(it)).toEqual([5]);
    expect(values(sum)).toEqual([5, 10]);
    // zero iterations: the initial values come back
    const [it0, sum0] = await s.run([i, acc], { n: tensor([0], [], 'int32'), step: tensor([1, 2], [2]) });
    expect([values(it0), values(sum0)]).toEqual([[0], [0, 0]]);
  });

  test('a dimension the body changes becomes unknown, and each run has its own length', async () => {
    const { g, grown } = growingGraph();
    expect(grown.shape).toEqual([null]);
    const s = new Session(g);
    for (const n of [0, 1, 3, 7]) {
      const [v] = await s.run([grown], { n: tensor([n], [], 'int32'), x: tensor([1.5], [1]) });
      expect(v.shape).toEqual([2 ** n]);
      expect(values(v)).toEqual(grownValues(1.5, n));
    }
    // the body ran at lengths 1 to 64: from the third, its passes saw the length unknown and ran no more
    const body = g.nodes.find((n) => n.op === 'whileLoop')!.attrs.body!;
    expect(functionOptimizeCount(body)).toBe(3);
  });

  test('maxIterations stops a loop whose condition still holds', async () => {
    const g = new Graph();
    const [k] = ops.whileLoop(() => true, (k) => [ops.add(k, 1)], [g.constant(0, 'k0', 'int32')], { maxIterations: tensor([7], [], 'int64') });
    expect(values((await new Session(g).run([k]))[0])).toEqual([7]);
  });

  test('nested loops: the inner body reads the outer loop variable and an outer feed (captures chain)', async () => {
    const g = new Graph();
    const scale = g.placeholder('float32', [], 'scale');
    // sum_{i<3} sum_{j<i+1} (i * scale): 0 + 2*scale + 6*scale = 8*scale
    const [, total] = ops.whileLoop(
      (i) => ops.less(i, 3),
      (i, t) => {
        const [, inner] = ops.whileLoop((j) => ops.less(j, ops.add(i, 1)), (j, u) => [ops.add(j, 1), ops.add(u, ops.mul(ops.cast(i, 'float32'), scale))], [ops.cast(0, 'int32'), ops.mul(scale, 0)], { name: 'inner' });
        return [ops.add(i, 1), ops.add(t, inner)];
      },
      [g.constant(0, 'i0', 'int32'), g.constant(0, 't0')],
    );
    const [v] = await new Session(g).run([total], { scale: tensor([0.5], []) });
    expect(values(v)).toEqual([4]);
  });

  test('a variable used in the body is read once, when the loop runs; training steps in between are seen', async () => {
    const g = new Graph();
    const w = g.variable([2], 'w');
    const [, p] = ops.whileLoop((i) => ops.less(i, 3), (i, x) => [ops.add(i, 1), ops.mul(x, w)], [g.constant(0, 'i0', 'int32'), g.constant([1], 'one')]);
    const bump = ops.assignAdd(w, g.constant([1], 'inc'));
    const s = new Session(g);
    await s.run(g.globalVariablesInitializer());
    expect(values((await s.run([p]))[0])).toEqual([8]);
    await s.run(bump);
    expect(values((await s.run([p]))[0])).toEqual([27]);
  });

  test('a loop that never ends (an infinite trip count, a condition that holds) stops with a typed error at the iteration cap', async () => {
    const g = new Graph();
    const limit = g.placeholder('float32', [], 'limit');
    const [k] = ops.whileLoop(() => true, (k) => [ops.add(k, 1)], [ops.cast(0, 'int32')], { maxIterations: ops.cast(limit, 'int64') });
    const before = process.env.GRAPHC_MAX_LOOP_ITERATIONS;
    process.env.GRAPHC_MAX_LOOP_ITERATIONS = '5000';
    try {
      const s = new Session(g);
      expect(values((await s.run([k], { limit: tensor([4999], []) }))[0])).toEqual([4999]);
      await expect(s.run([k], { limit: tensor([Infinity], []) })).rejects.toThrow(/whileLoop 'while' is still running after 5000 iterations \(its condition holds and its trip count is Infinity\).*GRAPHC_MAX_LOOP_ITERATIONS/);
    } finally {
      if (before === undefined) delete process.env.GRAPHC_MAX_LOOP_ITERATIONS;
      else process.env.GRAPHC_MAX_LOOP_ITERATIONS = before;
    }
  });

  test('every optimization level gives the same values (constant inputs fold the whole loop)', async () => {
    const g = new Graph();
    const [k, x] = ops.whileLoop((k) => ops.less(k, 4), (k, x) => [ops.add(k, 1), ops.add(ops.mul(x, 3), 1)], [g.constant(0, 'k0', 'int32'), g.constant([1, 2], 'x0')]);
    for (const level of [0, 1, 2, 3] as const) {
      const [kv, xv] = await new Session(g, { optimize: level }).run([k, x]);
      expect([values(kv), values(xv)]).toEqual([[4], [121, 202]]);
    }
  });

  test('bad bodies are typed errors at build time', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2], 'x');
    expect(() => ops.whileLoop(() => true, (v) => [v, v], [x])).toThrow(GraphError);
    expect(() => ops.whileLoop(() => true, (v) => [ops.reshape(v, [1, 2])], [x])).toThrow(ShapeError);
    expect(() => ops.whileLoop(() => true, (v) => [ops.cast(v, 'int32')], [x])).toThrow(DTypeError);
    // a body runs any number of times: it may not hold state or draw random numbers
    expect(() => ops.whileLoop(() => true, (v) => [ops.add(v, ops.randomUniform([2], 0, 1))], [x])).toThrow(/must be pure.*randomUniform/);
    expect(() => ops.whileLoop(() => true, (v) => [ops.add(v, v.graph.variable([1, 1], 'inner'))], [x])).toThrow(/must be pure/);
  });

  test('gradients flow back through the iterations, to the initial values and to captured tensors (central differences, float64)', async () => {
    for (const n of [0, 1, 3]) {
      // x <- sin(x * w) + x * c, n times; the count is a tensor, w and c are captured
      await checkGradients(
        (x, w, c) => {
          const [, y] = ops.whileLoop((i) => ops.less(i, n), (i, v) => [ops.add(i, 1), ops.add(ops.sin(ops.mul(v, w)), ops.mul(v, c))], [ops.cast(0, 'int32'), x]);
          return ops.mul(y, y);
        },
        [tensor([0.3, -0.8], [2], 'float64'), tensor([1.3, 0.7], [2], 'float64'), tensor([0.5], [1], 'float64')],
      );
    }
    // two float loop variables feeding each other, stopped by a condition on the values
    await checkGradients(
      (a, b) => {
        const [, p, q] = ops.whileLoop(
          (i, p) => ops.logicalAnd(ops.less(i, 5), ops.less(ops.reduceSum(p), 50)),
          (i, p, q) => [ops.add(i, 1), ops.add(p, ops.tanh(q)), ops.mul(q, ops.add(ops.mul(p, 0.1), 1))],
          [ops.cast(0, 'int32'), a, b],
        );
        return ops.add(ops.reduceSum(p), ops.reduceSum(ops.square(q)));
      },
      [tensor([0.5, 1.0], [2], 'float64'), tensor([0.2, -0.4], [2], 'float64')],
    );
  });

  test('an optimizer trains a variable the loop body reads: w^3 fitted to 8 gives w = 2', async () => {
    const g = new Graph();
    const w = g.variable(tensor([1.2], [1]), 'w');
    const [, cube] = ops.whileLoop((i) => ops.less(i, 3), (i, x) => [ops.add(i, 1), ops.mul(x, w)], [ops.cast(0, 'int32'), g.constant([1], 'one')]);
    const loss = ops.reduceSum(ops.square(ops.sub(cube, 8)));
    const step = new train.SGD(0.002).minimize(loss);
    const s = new Session(g);
    await s.run(g.globalVariablesInitializer());
    const first = values((await s.run([loss]))[0])[0];
    for (let k = 0; k < 300; k++) await s.run(step);
    expect(first).toBeCloseTo((1.2 ** 3 - 8) ** 2, 3);
    expect(values((await s.run([loss]))[0])[0]).toBeLessThan(1e-6);
    expect(values(await s.variables.read('w'))[0]).toBeCloseTo(2, 4);
    // the step's plan runs the loop once: the gradient's extended loop stands for the forward one (CSE)
    const stepPlan = s.plans().find((p) => p.targets.some((t) => t.name === step.name))!;
    expect(stepPlan.schedule.filter((n) => n.op === 'whileLoop').length).toBe(2); // forward (merged) + backward
    expect(stepPlan.passes.find((p) => p.name === 'cse')!.loopsMerged).toBe(1);
    const o0 = new Session(g, { optimize: 0 });
    await o0.run(g.globalVariablesInitializer());
    await o0.run(step);
    const o0Step = o0.plans().find((p) => p.targets.some((t) => t.name === step.name))!;
    expect(o0Step.schedule.filter((n) => n.op === 'whileLoop').length).toBe(3); // forward, forward again, backward
  });

  test('a loop variable that changes shape has no gradient: a GradientError naming the loop', () => {
    const { g, grown } = growingGraph();
    expect(() => gradients(ops.reduceSum(grown), [g.tensor('x')])).toThrow(/whileLoop 'grow': loop variable 1 changes shape between iterations \(\[1\] becomes \[\?\]\)/);
  });

  test('a loop variable whose shape is unknown when built and changes at run time: the gradient run says so, naming the loop', async () => {
    // [?] + [2] broadcasts the first iteration's [1] to [2]: nothing to see until the loop runs
    const g = new Graph();
    const x = g.placeholder('float64', [null], 'x');
    const other = g.placeholder('float64', [2], 'other');
    const [, y] = ops.whileLoop((i) => ops.less(i, 2), (i, acc) => [ops.add(i, 1), ops.tanh(ops.add(acc, other))], [ops.cast(0, 'int32'), x], { name: 'widen' });
    const [dx] = gradients(ops.reduceSum(y), [x]);
    const feeds = { x: tensor([0.5], [1], 'float64'), other: tensor([1, 2], [2], 'float64') };
    await expect(new Session(g).run(dx, feeds)).rejects.toThrow(
      /the gradient of whileLoop 'widen' \(it has none where a loop variable changes shape\): loop variable 1 changes shape between iterations \(\[1\] vs \[2\]\)/,
    );
  });
});

describe('nested control flow', () => {
  test('a cond inside a loop body and a loop inside a cond branch are differentiable (central differences, float64)', async () => {
    await checkGradients(
      (x, w) =>
        ops.whileLoop(
          (i) => ops.less(i, 3),
          (i, v) => [ops.add(i, 1), ops.cond(ops.greater(ops.reduceSum(v), 0), () => ops.mul(ops.sin(v), w), () => ops.add(v, w))],
          [ops.cast(0, 'int32'), x],
        )[1],
      [tensor([0.3, 0.9], [2], 'float64'), tensor([1.2, 0.4], [2], 'float64')],
    );
    await checkGradients(
      (x) => ops.cond(ops.greater(ops.reduceSum(x), 0), () => ops.whileLoop((i) => ops.less(i, 2), (i, v) => [ops.add(i, 1), ops.tanh(ops.mul(v, x))], [ops.cast(0, 'int32'), x])[1], () => ops.neg(x)),
      [tensor([0.3, 0.9], [2], 'float64')],
    );
  });

  test('a loop with a cond in its body survives ONNX export and import (Loop holding an If)', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2], 'x');
    const [, y] = ops.whileLoop((i) => ops.less(i, 3), (i, v) => [ops.add(i, 1), ops.cond(ops.greater(ops.reduceSum(v), 0), () => ops.mul(v, 0.5), () => ops.add(v, x))], [ops.cast(0, 'int32'), x]);
    ops.identity(y, 'y');
    const back = importOnnx(exportOnnx(g, { outputs: ['y'] }));
    const feeds = { x: tensor([1, -3], [2]) };
    const want = await new Session(g).run('y', feeds);
    expect(values(want)).toEqual([4, -12]); // [1,-3] -> [2,-6] -> [3,-9] -> [4,-12]: the sum stays negative
    expect(values(await new Session(back.graph).run(back.signature.outputs[0], feeds))).toEqual(values(want));
  });
});

describe('mapFn and scan', () => {
  test('mapFn applies fn to each slice along axis 0 and stacks the results; the slice count may be known only at run time', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3, 2], 'x');
    const y = g.placeholder('float32', [null, 2], 'y');
    const scale = g.placeholder('float32', [], 'scale');
    const norms = ops.mapFn((row) => ops.mul(ops.sqrt(ops.reduceSum(ops.square(row))), scale), x);
    const doubled = ops.mapFn((row) => ops.mul(row, 2), y);
    expect([norms.shape, doubled.shape]).toEqual([[3], [null, 2]]);
    const s = new Session(g);
    const feeds = (rows: number[], n: number) => ({ x: tensor([3, 4, 6, 8, 0, 1], [3, 2]), y: tensor(rows, [n, 2]), scale: tensor([0.5], []) });
    const [a, b] = await s.run([norms, doubled], feeds([1, 2, 3, 4, 5, 6], 3));
    expect([values(a), values(b)]).toEqual([[2.5, 5, 0.5], [2, 4, 6, 8, 10, 12]]);
    const [, empty] = await s.run([norms, doubled], feeds([], 0));
    expect(empty.shape).toEqual([0, 2]);
  });

  test('scan stacks every accumulated value (a cumulative sum); the last row is the fold', async () => {
    const g = new Graph();
    const xs = g.placeholder('float32', [null, 2], 'xs');
    const cumulative = ops.scan((acc, x) => ops.add(acc, x), xs, g.constant([0, 0], 'zero'));
    const [v] = await new Session(g).run([cumulative], { xs: tensor([1, 2, 3, 4, 5, 6], [3, 2]) });
    expect(v.shape).toEqual([3, 2]);
    expect(values(v)).toEqual([1, 2, 4, 6, 9, 12]);
  });

  test('gradients flow through mapFn and scan to the sliced tensor, the initializer and captured tensors (central differences, float64)', async () => {
    await checkGradients((a) => ops.mapFn((r) => ops.mul(ops.sin(r), r), a), [tensor([0.1, 0.5, -0.3, 0.7], [2, 2], 'float64')]);
    await checkGradients(
      (a, b, init) => ops.scan((acc, r) => ops.tanh(ops.add(ops.mul(acc, b), r)), a, init),
      [tensor([0.1, 0.5, -0.3, 0.7, 0.2, 0.1], [3, 2], 'float64'), tensor([0.9, -0.4], [2], 'float64'), tensor([0.3, -0.2], [2], 'float64')],
    );
  });
});

describe('cond', () => {
  test('runs the branch the predicate picks; branches may return different shapes', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2], 'x');
    const y = ops.cond(ops.greater(ops.reduceSum(x), 0), () => ops.mul(x, 10), () => ops.concat([x, x], 0));
    expect(y.shape).toEqual([null]);
    const s = new Session(g);
    expect(values((await s.run([y], { x: tensor([1, 2], [2]) }))[0])).toEqual([10, 20]);
    expect(values((await s.run([y], { x: tensor([-1, -2], [2]) }))[0])).toEqual([-1, -2, -1, -2]);
  });

  test('only the taken branch runs: the other may be invalid for these values', async () => {
    const g = new Graph();
    const i = g.placeholder('int32', [1], 'i');
    const table = g.constant([5, 6, 7], 'table');
    // gathering index 9 of 3 rows fails in the kernel: the branch must not run when i >= 3
    const [y, z] = ops.cond(ops.less(ops.reduceSum(i), 3), () => [ops.gather(table, i), ops.cast(1, 'float32')], () => [ops.mul(table, 0), ops.cast(0, 'float32')]);
    const s = new Session(g);
    expect((await s.run([y, z], { i: tensor([2], [1], 'int32') })).map(values)).toEqual([[7], [1]]);
    expect((await s.run([y, z], { i: tensor([9], [1], 'int32') })).map(values)).toEqual([[0, 0, 0], [0]]);
  });

  test('gradients flow through the taken branch, to what each branch reads (central differences, float64)', async () => {
    const x0 = tensor([0.3, -1.2, 2.1], [3], 'float64');
    const w0 = tensor([1.5, 0.5, -0.7], [3], 'float64');
    for (const sign of [1, -1]) {
      // then: sin(x) * w (reads x and w); else: x^3 (reads x only); the predicate flips with `sign`
      await checkGradients(
        (x, w) => ops.cond(ops.greater(ops.mul(ops.reduceSum(w), sign), 0), () => ops.mul(ops.sin(x), w), () => ops.mul(ops.square(x), x)),
        [x0, w0],
      );
    }
    // an int output and an output no gradient reaches are fine; a second-order gradient differentiates the gradient cond
    await checkGradients((x) => {
      const [y, count] = ops.cond(ops.greater(ops.reduceSum(x), 0), () => [ops.exp(x), ops.cast(1, 'int32')], () => [ops.neg(x), ops.cast(2, 'int32')]);
      const [dy] = gradients(ops.reduceSum(ops.mul(y, y)), [x]);
      return ops.add(dy, ops.cast(count, 'float64'));
    }, [tensor([0.1, 0.4], [2], 'float64')]);
  });

  test('branches with different dtypes or counts are typed errors', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2], 'x');
    expect(() => ops.cond(true, () => x, () => ops.cast(x, 'int32'))).toThrow(DTypeError);
    expect(() => ops.cond(true, () => [x, x], () => [x])).toThrow(GraphError);
    expect(() => ops.cond(x, () => x, () => x)).toThrow(DTypeError);
  });
});

describe('model.json', () => {
  test('a loop and a cond save and load, constants inside the bodies in the weights file', async () => {
    const g = new Graph();
    const n = g.placeholder('int32', [], 'n');
    const [, v] = ops.whileLoop((i) => ops.less(i, n), (i, x) => [ops.add(i, 1), ops.add(x, tensor([0.25, 0.5], [2]))], [g.constant(0, 'i0', 'int32'), g.constant([0, 0], 'v0')], { name: 'loop' });
    const c = ops.cond(ops.greater(n, 2), () => ops.mul(v, tensor([3, 4], [2])), () => v, 'pick');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-cf-'));
    const file = path.join(dir, 'model.json');
    await saveModel(g, file);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toMatch(/"0": 0.25/); // the body's constant is a weights entry, not JSON numbers
    const loaded = await loadModel(file);
    const feeds = { n: tensor([4], [], 'int32') };
    const want = await new Session(g).run([v, c], feeds);
    const got = await new Session(loaded.graph).run([loaded.graph.tensor('loop:1'), loaded.graph.tensor('pick')], feeds);
    expect(got.map(values)).toEqual(want.map(values));
    expect(want.map(values)).toEqual([[1, 2], [3, 8]]);
  });

  test('a malformed body in model.json is a typed error naming the node', async () => {
    const { g } = counterGraph();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-cf-'));
    const file = path.join(dir, 'model.json');
    await saveModel(g, file);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const loop = doc.nodes.find((n: { op: string }) => n.op === 'whileLoop');
    loop.attrs.body.outputs = ['nowhere'];
    fs.writeFileSync(file, JSON.stringify(doc));
    await expect(loadModel(file)).rejects.toThrow(/node 'counter'.*body/);
    await expect(loadModel(file)).rejects.toBeInstanceOf(GraphcError);
  });
});

const gpuBackends: [string, () => Session['backend'] | 'webgpu'][] = [
  ['gpujs (cpu mode)', () => new GpujsBackend({ mode: 'cpu', onFallback: () => undefined })],
  ...(gpu.available ? ([['webgpu', () => 'webgpu']] as [string, () => 'webgpu'][]) : []),
];

describe.each(gpuBackends)('on %s', (_label, make) => {
  test('loops, conds and mapFn equal the cpu backend, fixed and data-dependent shapes alike', async () => {
    const { g: g1, i, acc } = counterGraph();
    const s1 = new Session(g1, { backend: make() as 'webgpu' });
    const [it, sum] = await s1.run([i, acc], { n: tensor([3], [], 'int32'), step: tensor([0.5, -1], [2]) });
    expect([values(it), values(sum)]).toEqual([[3], [1.5, -3]]);
    s1.close();

    const { g: g2, grown } = growingGraph();
    const out = ops.mul(ops.reduceSum(grown), 2, 'out');
    const s2 = new Session(g2, { backend: make() as 'webgpu' });
    for (const n of [2, 4]) {
      const [v, o] = await s2.run([grown, out], { n: tensor([n], [], 'int32'), x: tensor([1], [1]) });
      expect(values(v)).toEqual(grownValues(1, n));
      expect(values(o)).toEqual([2 * grownValues(1, n).reduce((a, b) => a + b)]);
    }
    s2.close();

    const g3 = new Graph();
    const rows = g3.placeholder('float32', [null, 3], 'rows');
    const sums = ops.mapFn((r) => ops.reduceSum(ops.square(r)), rows);
    const s3 = new Session(g3, { backend: make() as 'webgpu' });
    expect(values((await s3.run([sums], { rows: tensor([1, 2, 3, 0, 1, 0], [2, 3]) }))[0])).toEqual([14, 1]);
    s3.close();
  });
});

test('the example of docs/control-flow.md type-checks and gives the values its comment says', () => {
  const example = firstTsBlock('docs/control-flow.md');
  expect(typeErrors(example)).toEqual([]);
  const r = runExample(example, (b) => b, 'console.log(JSON.stringify(out.map((t) => Array.from(t.data))));');
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual([[5], [5, 10], [50, 100]]);
  expect(example).toMatch(/i = 5, acc = \[5, 10\], y = \[50, 100\]/);
});
