import { Backend, CpuBackend, CpuVariableState, Executable, Graph, GraphcError, Plan, Session, SymbolicTensor, TensorValue, VariableState, ops, tensor } from 'graphc';
import { GpujsBackend, StagedExecutable } from '@graphc/runtime';
import { PlanCache } from '../../packages/runtime/src/plan-cache';
import { SharedArena } from '../../packages/runtime/src/backends/cpu/executable';
import { rememberingEvaluator } from '../../packages/runtime/src/fold-cache';
import { evaluateNode } from '@graphc/runtime';

/**
 * A session compiles one plan per signature (feed shapes included). It keeps the most recently run
 * `maxPlans` of them, frees the rest, and on the cpu runs them all in one arena: a session fed many
 * shapes holds bounded memory, and every plan still computes what a fresh session does.
 */

/** Values that differ between two arrays (a count, not a diff: jest's diff of long arrays hangs). */
function differing(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

describe('PlanCache', () => {
  test('keeps the most recently used, frees the least recently used past its capacity', () => {
    const freed: string[] = [];
    const cache = new PlanCache<string>(2, (v) => freed.push(v));
    cache.set('a', 'A');
    cache.set('b', 'B');
    expect(cache.get('a')).toBe('A'); // a is now the most recent: b goes first
    cache.set('c', 'C');
    expect(freed).toEqual(['B']);
    expect(cache.get('b')).toBeUndefined();
    expect([...cache.values()]).toEqual(['A', 'C']);
    cache.clear();
    expect(freed).toEqual(['B', 'A', 'C']);
    expect(cache.size).toBe(0);
    expect(() => new PlanCache(0, () => {})).toThrow(RangeError);
  });

  test('a value evicted while in use is freed when its use ends, not before', async () => {
    const freed: string[] = [];
    const cache = new PlanCache<string>(1, (v) => freed.push(v));
    cache.set('a', 'A');
    let finish!: () => void;
    const inFlight = cache.using('A', () => new Promise<string>((resolve) => (finish = () => resolve('done'))));
    cache.set('b', 'B');
    expect(freed).toEqual([]);
    finish();
    expect(await inFlight).toBe('done');
    expect(freed).toEqual(['A']);
    // a failed use frees it as well
    const failed = cache.using('B', async () => {
      cache.clear();
      throw new Error('kernel failed');
    });
    await expect(failed).rejects.toThrow('kernel failed');
    expect(freed).toEqual(['A', 'B']);
  });
});

describe('SharedArena', () => {
  test('grows to the largest request; the plans bound to the old buffer are told to let it go', () => {
    const arena = new SharedArena();
    const unbound: string[] = [];
    const p = { unbind: () => unbound.push('p') };
    const q = { unbind: () => unbound.push('q') };
    arena.reserve(64);
    const first = arena.bind(p);
    arena.bind(q);
    expect(first.byteLength).toBe(64);
    arena.reserve(32); // smaller: the buffer stays
    expect(arena.bind(p)).toBe(first);
    expect(unbound).toEqual([]);
    arena.leave(q);
    arena.reserve(128);
    expect(unbound).toEqual(['p']);
    expect(arena.bind(p).byteLength).toBe(128);
  });
});

/** Two conv layers with a residual and a dense head: planned outputs, in-place epilogues, a fused matmul. */
function convnet(): { g: Graph; x: SymbolicTensor; y: SymbolicTensor } {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 8, 8, 3], 'x');
  const w = (shape: number[], seed: number, name: string): SymbolicTensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    return g.constant(tensor(Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 0.3), shape), name);
  };
  const c1 = ops.relu(ops.add(ops.conv2d(x, w([3, 3, 3, 8], 1, 'k1'), 1, 'SAME'), w([8], 2, 'b1')));
  const c2 = ops.relu(ops.add(ops.conv2d(c1, w([3, 3, 8, 8], 3, 'k2'), 1, 'SAME'), c1));
  const pooled = ops.reduceMean(c2, [1, 2]);
  const y = ops.softmax(ops.add(ops.matmul(pooled, w([8, 5], 4, 'dense')), w([5], 5, 'bias')), -1, 'y');
  return { g, x, y };
}

const batchOf = (b: number): TensorValue => tensor(Array.from({ length: b * 192 }, (_, i) => Math.cos(i * 0.11 + b)), [b, 8, 8, 3]);

/**
 * The cpu backend without `runsAnyShape`: every new shape specializes a plan of its own (the session
 * would otherwise run a shape it sees once on its shared graph's unspecialized plan).
 */
function specializingCpu(): Backend {
  const cpu = new CpuBackend();
  return { name: 'cpu', ready: () => cpu.ready(), createState: () => cpu.createState(), compile: (plan, state) => cpu.compile(plan, state), dispose: () => cpu.dispose() };
}

describe('a session fed many shapes', () => {
  test('keeps maxPlans plans, compiles an evicted signature again, and every run equals a fresh session', async () => {
    const { g, x, y } = convnet();
    const s = new Session(g, { maxPlans: 3, backend: specializingCpu() });
    // growing, then shrinking, then back: the arena grows under plans compiled earlier
    const order = [1, 2, 5, 2, 9, 1, 3, 9, 12, 1, 5];
    for (const b of order) {
      const got = await s.run(y, { [x.name]: batchOf(b) });
      const fresh = new Session(g);
      const want = await fresh.run(y, { [x.name]: batchOf(b) });
      fresh.close();
      expect({ b, shape: got.shape, differing: differing(got.data, want.data) }).toEqual({ b, shape: [b, 5], differing: 0 });
      expect(s.plans().length).toBeLessThanOrEqual(3);
    }
    // six batch sizes; the second 2 and 9 were held, 1 came back twice and 5 once after their eviction
    expect(s.compileCount).toBe(9);
    expect(s.plans().map((p) => p.feeds.map((f) => p.outputInfo.get(f.node)![f.index].shape[0]))).toEqual([[12], [1], [5]]);
    // one arena for all of them, as large as the largest plan's
    const arena = (s.variables as CpuVariableState).arena.bind({ unbind: () => {} });
    expect(arena.byteLength).toBe(Math.max(...s.plans().map((p) => p.memory!.plannedBytes)));
    s.close();
  });

  test('maxPlans must be a whole number of at least one', () => {
    expect(() => new Session(new Graph(), { maxPlans: 0 })).toThrow(GraphcError);
    expect(() => new Session(new Graph(), { maxPlans: 2.5 })).toThrow(/maxPlans/);
  });

  test('a plan evicted while its run is in flight is disposed when the run ends', async () => {
    const log: string[] = [];
    const gates: (() => void)[] = [];
    const cpu = new CpuBackend();
    // a backend whose runs wait on a gate, as a GPU run awaits its device
    const slow: Backend = {
      name: 'slow',
      ready: () => cpu.ready(),
      createState: () => cpu.createState(),
      dispose: () => cpu.dispose(),
      compile(plan: Plan, state: VariableState): Executable {
        const exe = cpu.compile(plan, state);
        const label = `b${plan.feeds.map((f) => plan.outputInfo.get(f.node)![f.index].shape[0]).join()}`;
        return {
          stats: exe.stats,
          run: async (feeds) => {
            await new Promise<void>((resolve) => gates.push(resolve));
            log.push(`ran ${label}`);
            return exe.run(feeds);
          },
          dispose: () => log.push(`disposed ${label}`),
        };
      },
    };
    const { g, x, y } = convnet();
    const s = new Session(g, { backend: slow, maxPlans: 1 });
    const first = s.run(y, { [x.name]: batchOf(1) });
    await new Promise((r) => setImmediate(r));
    const second = s.run(y, { [x.name]: batchOf(2) }); // compiles b2, evicting b1 mid-run
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual([]);
    gates.shift()!();
    await first;
    expect(log).toEqual(['ran b1', 'disposed b1']);
    gates.shift()!();
    expect((await second).shape).toEqual([2, 5]);
    s.close();
    expect(log).toEqual(['ran b1', 'disposed b1', 'ran b2', 'disposed b2']);
  });

  test("a loop whose carried tensor grows every iteration compiles a body per length and keeps a bounded few; values stay right", async () => {
    const g = new Graph();
    const n = g.placeholder('int32', [], 'n');
    const x = g.placeholder('float32', [2], 'x');
    // v ++ [mean(v * 0.5) + 1]: one element longer each iteration (40 signatures of the body)
    const [, grown] = ops.whileLoop(
      (i) => ops.less(i, n),
      (i, v) => [ops.add(i, 1), ops.concat([v, ops.reshape(ops.add(ops.reduceMean(ops.mul(v, 0.5)), 1), [1])], 0)],
      [g.constant(0, 'i0', 'int32'), x],
      { name: 'grow' },
    );
    const want = [0.25, -3];
    for (let k = 0; k < 40; k++) want.push(Math.fround(Math.fround(want.reduce((a, v) => a + Math.fround(v * 0.5), 0) / want.length) + 1));
    const s = new Session(g);
    for (const iterations of [40, 40, 7]) {
      const got = await s.run(grown, { n: tensor([iterations], [], 'int32'), x: tensor([0.25, -3], [2]) });
      const expected = want.slice(0, 2 + iterations);
      const far = Array.from(got.data).filter((v, i) => Math.abs(v - expected[i]) > 1e-5 * (1 + Math.abs(expected[i]))).length;
      expect({ iterations, length: got.data.length, far }).toEqual({ iterations, length: expected.length, far: 0 });
    }
    s.close();
  });
});

describe('a staged plan (a data-dependent shape on a static-shape backend)', () => {
  test('keeps a bounded number of second stages as the count nonZero finds changes run by run', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [12], 'x');
    const kept = ops.gather(x, ops.cast(ops.reshape(ops.nonZero(ops.greater(x, 0)), [-1]), 'int32'), 0);
    const y = ops.reduceSum(ops.mul(kept, 2), undefined, false, 'y');
    const s = new Session(g, { backend: new GpujsBackend({ mode: 'cpu', onFallback: () => undefined }) });
    const positives = (k: number): TensorValue => tensor(Array.from({ length: 12 }, (_, i) => (i < k ? i + 1 : -1)), [12]);
    await s.run(y, { x: positives(1) });
    const staged = new StagedExecutable(s.plans()[0], s.backend, s.variables, 2, { maxStages: 2 });
    for (const k of [1, 2, 3, 1, 2, 3, 3]) {
      const [got] = await staged.run([positives(k)]);
      expect(got.data[0]).toBe(k * (k + 1));
    }
    // stage B per count, two kept: 1, 2, 3 (evicts 1), 1 (evicts 2), 2 (evicts 3), 3 (evicts 1), 3
    expect(staged.stats.stageCompiles).toBe(1 + 6);
    staged.dispose();
    s.close();
  });
});

describe('constant folding remembered across plans', () => {
  test('the same op, attributes and input arrays fold once, into the same arrays', () => {
    const g = new Graph();
    const w = g.constant(tensor([1, 2, 3, 4, 5, 6], [2, 3]), 'w');
    const other = g.constant(tensor([1, 2, 3, 4, 5, 6], [2, 3]), 'other'); // equal values, another array
    const t = ops.transpose(w, [1, 0]);
    const r = ops.reshape(w, [3, 2]);
    let calls = 0;
    const evaluate = rememberingEvaluator((node, inputs) => {
      calls++;
      return evaluateNode(node, inputs);
    });
    const value = (x: SymbolicTensor): TensorValue => x.node.attrs.value as TensorValue;
    const first = evaluate(t.node, [value(w)]);
    expect(evaluate(t.node, [value(w)])[0]).toBe(first[0]);
    expect(calls).toBe(1);
    expect(Array.from(first[0].data)).toEqual([1, 4, 2, 5, 3, 6]);
    // another array with the same values is another input: folded again
    expect(evaluate(t.node, [value(other)])[0]).not.toBe(first[0]);
    expect(calls).toBe(2);
    // other attributes, the same output type: folded again
    const along0 = evaluate(ops.cumSum(w, 0).node, [value(w)])[0];
    const along1 = evaluate(ops.cumSum(w, 1).node, [value(w)])[0];
    expect(calls).toBe(4);
    expect([Array.from(along0.data), Array.from(along1.data)]).toEqual([
      [1, 2, 3, 5, 7, 9],
      [1, 3, 6, 4, 9, 15],
    ]);
    // a result that views its input is copied, so no plan aliases another's constant
    const reshaped = evaluate(r.node, [value(w)])[0];
    expect(reshaped.data.buffer).not.toBe(value(w).data.buffer);
    expect(Array.from(reshaped.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test("a session's plans for two batch sizes hold the same folded weights", async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 4], 'x');
    const w = g.constant(tensor(Array.from({ length: 12 }, (_, i) => i / 7), [3, 4]), 'w');
    // W^T * 2, folded by every plan, then the product
    const y = ops.matmul(x, ops.mul(ops.transpose(w, [1, 0]), 2));
    const s = new Session(g);
    const feed = (n: number): TensorValue => tensor(Array.from({ length: n * 4 }, (_, i) => Math.sin(i)), [n, 4]);
    const one = await s.run(y, { x: feed(1) });
    const two = await s.run(y, { x: feed(2) });
    expect(Array.from(two.data.slice(0, 3))).toEqual(Array.from(one.data));
    const folded = (p: Plan): TensorValue[] => p.schedule.filter((n) => n.op === 'const' && (n.attrs.value as TensorValue).data.length === 12).map((n) => n.attrs.value as TensorValue);
    const [a, b] = s.plans().map(folded);
    expect(a.length).toBe(1);
    expect(b[0]).toBe(a[0]);
    s.close();
  });
});
