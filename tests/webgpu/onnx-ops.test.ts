import { Graph, Session, SymbolicTensor, TensorValue, applyOp, gradients, ops, tensor } from 'graphc';
import { describeGpu, expectClose, runBoth, seeded } from './helpers';

/**
 * The WGSL kernels of the ops ONNX models bring, each against the cpu backend (the reference) on
 * several shapes and attribute variants, at O0 and O2; every listed op must run on the device (no
 * CPU fallback anywhere in the plan).
 */
async function check(g: Graph, outs: SymbolicTensor[], feeds: Record<string, TensorValue>, opsOnGpu: string[], rtol = 1e-4): Promise<void> {
  for (const optimize of [0, 2] as const) {
    const { cpu, gpu, exe } = await runBoth(g, outs, feeds, { optimize });
    outs.forEach((o, i) => expectClose(gpu[i], cpu[i], rtol, 1e-2, `${o.node.op} #${i} (O${optimize})`));
    expect(exe.fallbacks).toEqual([]);
    for (const op of opsOnGpu) {
      const placed = exe.placement.filter((p) => p.op === op);
      expect({ op, placed: placed.length > 0 }).toEqual({ op, placed: true });
      for (const p of placed) expect({ op, where: p.where }).toEqual({ op, where: 'gpu' });
    }
  }
}

const ints = (n: number, seed: number, lo: number, hi: number): number[] => Array.from(seeded(n, seed), (v) => lo + Math.floor(((v + 1) / 2) * (hi - lo)));

describeGpu('webgpu ONNX array ops', () => {
  test('stridedSlice: negative steps, every other element, a single element, rank 1 reversed; int32, int64 and bool', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 5, 6], 'x');
    const i = g.placeholder('int32', [7], 'i');
    const l = g.placeholder('int64', [3, 4], 'l');
    const b = g.placeholder('bool', [5], 'b');
    const outs = [
      ops.stridedSlice(x, [3, 4, 5], [-1, -2, -3], [4, 3, 2]),
      ops.stridedSlice(x, [0, 1, 0], [2, 2, 1], [2, 2, 6]),
      ops.stridedSlice(x, [1, 2, 3], [1, 1, 1], [1, 1, 1]),
      ops.stridedSlice(x, [0, 0, 5], [1, 1, -1], [4, 5, 6]),
      ops.stridedSlice(i, [6], [-1], [7]),
      ops.stridedSlice(i, [1], [3], [2]),
      ops.stridedSlice(l, [2, 3], [-2, -3], [2, 2]),
      ops.stridedSlice(b, [4], [-2], [3]),
      ops.stridedSlice(x, [0, 0, 0], [1, 1, 1], [4, 0, 6]),
    ];
    await check(
      g,
      outs,
      {
        x: tensor(seeded(120, 1), [4, 5, 6]),
        i: tensor([1, -2, 3, -4, 5, -6, 7], [7], 'int32'),
        l: tensor([10, -20, 30, 40, 50, 60, -70, 80, 90, 100, 110, 120], [3, 4], 'int64'),
        b: tensor([1, 0, 0, 1, 1], [5], 'bool'),
      },
      ['stridedSlice'],
    );
  });

  test('stridedSliceGrad (the gradient of a negative-step slice, and direct with int32)', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [5, 6], 'x');
    const dy = g.placeholder('float32', [3, 2], 'dy');
    const di = g.placeholder('int32', [2, 3], 'di');
    const xi = g.placeholder('int32', [4, 7], 'xi');
    const outs = [ops.stridedSliceGrad(dy, x, [4, 1], [-2, 3], [3, 2]), ops.stridedSliceGrad(di, xi, [1, 6], [2, -3], [2, 3])];
    await check(g, outs, { x: tensor(seeded(30, 2), [5, 6]), dy: tensor(seeded(6, 3), [3, 2]), di: tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), xi: tensor(new Array(28).fill(0), [4, 7], 'int32') }, ['stridedSliceGrad']);
    const g2 = new Graph();
    const w = g2.placeholder('float32', [4, 6], 'w');
    const y = ops.reduceSum(ops.mul(ops.stridedSlice(w, [3, 5], [-1, -2], [3, 3]), ops.stridedSlice(w, [0, 0], [1, 2], [3, 3])));
    const [dw] = gradients(y, [w]);
    await check(g2, [dw], { w: tensor(seeded(24, 4), [4, 6]) }, ['stridedSliceGrad']);
  });

  test('expand: broadcasting both ways, rank growth, a no-op, int32 / int64 / bool', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [3, 1], 'a');
    const v = g.placeholder('float32', [4], 'v');
    const i = g.placeholder('int32', [2, 1, 3], 'i');
    const l = g.placeholder('int64', [1], 'l');
    const b = g.placeholder('bool', [2, 1], 'b');
    const outs = [
      ops.expand(a, [2, 3, 4]),
      ops.expand(a, [1, 5]),
      ops.expand(v, [3, 1]),
      ops.expand(v, [4]),
      ops.expand(i, [2, 4, 1]),
      ops.expand(l, [2, 3]),
      ops.expand(b, [2, 2, 3]),
    ];
    await check(
      g,
      outs,
      {
        a: tensor([1, 2, 3], [3, 1]),
        v: tensor([4, 5, 6, 7], [4]),
        i: tensor([1, 2, 3, 4, 5, 6], [2, 1, 3], 'int32'),
        l: tensor([-9], [1], 'int64'),
        b: tensor([1, 0], [2, 1], 'bool'),
      },
      ['expand'],
    );
  });

  test('gatherElements along every axis, negative indices, int64 indices, int32 data', async () => {
    const g = new Graph();
    const d = g.placeholder('float32', [3, 4, 5], 'd');
    const i0 = g.placeholder('int32', [2, 4, 5], 'i0');
    const i1 = g.placeholder('int64', [3, 6, 2], 'i1');
    const i2 = g.placeholder('int32', [1, 2, 7], 'i2');
    const di = g.placeholder('int32', [2, 3], 'di');
    const ii = g.placeholder('int32', [2, 3], 'ii');
    const outs = [ops.gatherElements(d, i0, 0), ops.gatherElements(d, i1, 1), ops.gatherElements(d, i2, -1), ops.gatherElements(di, ii, 1)];
    await check(
      g,
      outs,
      {
        d: tensor(seeded(60, 5), [3, 4, 5]),
        i0: tensor(ints(40, 6, -3, 3), [2, 4, 5], 'int32'),
        i1: tensor(ints(36, 7, -4, 4), [3, 6, 2], 'int64'),
        i2: tensor(ints(14, 8, -5, 5), [1, 2, 7], 'int32'),
        di: tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32'),
        ii: tensor([2, 0, -1, 1, 1, -3], [2, 3], 'int32'),
      },
      ['gatherElements'],
    );
  });

  test('a fed gatherElements / gatherNd index out of range is an error naming the node', async () => {
    const g = new Graph();
    const d = g.placeholder('float32', [2, 3], 'd');
    const i = g.placeholder('int32', [2, 2], 'i');
    const y = ops.gatherElements(d, i, 1, 'pick');
    const sess = new Session(g, { backend: 'webgpu' });
    await expect(sess.run(y, { d: tensor(seeded(6, 1), [2, 3]), i: tensor([0, 1, 3, 0], [2, 2], 'int32') })).rejects.toThrow(/node 'pick'.*index 3 .*out of range \[-3, 3\)/);
    const nd = ops.gatherNd(d, i, 0, 'nd');
    await expect(sess.run(nd, { d: tensor(seeded(6, 1), [2, 3]), i: tensor([0, 1, 1, -4], [2, 2], 'int32') })).rejects.toThrow(/node 'nd'.*index -4 .*out of range \[-3, 3\)/);
  });

  test('gatherNd: full tuples, partial tuples (slices), batchDims, negative indices, int64', async () => {
    const g = new Graph();
    const d = g.placeholder('float32', [3, 4, 5], 'd');
    const full = g.placeholder('int32', [2, 2, 3], 'full');
    const part = g.placeholder('int64', [4, 1], 'part');
    const two = g.placeholder('int32', [3, 2], 'two');
    const batched = g.placeholder('int32', [3, 2, 1], 'batched');
    const li = g.placeholder('int64', [2, 3], 'li');
    const lidx = g.placeholder('int32', [2, 1], 'lidx');
    const outs = [ops.gatherNd(d, full), ops.gatherNd(d, part), ops.gatherNd(d, two), ops.gatherNd(d, batched, 1), ops.gatherNd(li, lidx)];
    await check(
      g,
      outs,
      {
        d: tensor(seeded(60, 9), [3, 4, 5]),
        full: tensor([0, 1, 2, 2, 3, 4, -1, -4, -5, 1, 0, 3], [2, 2, 3], 'int32'),
        part: tensor([2, 0, -1, 1], [4, 1], 'int64'),
        two: tensor([0, 0, 2, 3, -2, 1], [3, 2], 'int32'),
        batched: tensor([3, 0, 1, -1, 2, 2], [3, 2, 1], 'int32'),
        li: tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int64'),
        lidx: tensor([1, 0], [2, 1], 'int32'),
      },
      ['gatherNd'],
    );
  });

  test('scatterElements and scatterNd: none (duplicates: the last wins), add, mul, max, min; int32 and bool', async () => {
    const g = new Graph();
    const d = g.placeholder('float32', [3, 4], 'd');
    const idx = g.placeholder('int32', [2, 4], 'idx');
    const upd = g.placeholder('float32', [2, 4], 'upd');
    const idx1 = g.placeholder('int64', [3, 2], 'idx1');
    const upd1 = g.placeholder('float32', [3, 2], 'upd1');
    const di = g.placeholder('int32', [3, 4], 'di');
    const ui = g.placeholder('int32', [2, 4], 'ui');
    const db = g.placeholder('bool', [4], 'db');
    const ib = g.placeholder('int32', [2, 1], 'ib');
    const ub = g.placeholder('bool', [2], 'ub');
    const t2 = g.placeholder('int32', [3, 2], 't2');
    const u2 = g.placeholder('float32', [3], 'u2');
    const t1 = g.placeholder('int64', [3, 1], 't1');
    const u1 = g.placeholder('float32', [3, 4], 'u1');
    const outs: SymbolicTensor[] = [];
    for (const r of ['none', 'add', 'mul'] as const) {
      outs.push(ops.scatterElements(d, idx, upd, 0, r), ops.scatterElements(d, idx1, upd1, -1, r), ops.scatterElements(di, idx, ui, 0, r));
      outs.push(ops.scatterNd(d, t2, u2, r), ops.scatterNd(d, t1, u1, r));
    }
    for (const r of ['max', 'min']) {
      outs.push(applyOp('scatterElements', [d, idx, upd], { axis: 0, reduction: r }).output(0));
      outs.push(applyOp('scatterNd', [d, t1, u1], { reduction: r }).output(0));
      outs.push(applyOp('scatterNd', [di, t1, ops.cast(u1, 'int32')], { reduction: r }).output(0));
    }
    outs.push(ops.scatterElements(db, ops.reshape(ib, [2]), ub, 0), ops.scatterNd(db, ib, ub));
    await check(
      g,
      outs,
      {
        d: tensor([1, NaN, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 4]),
        idx: tensor([0, 2, -1, 1, 0, 1, 2, 1], [2, 4], 'int32'),
        upd: tensor(seeded(8, 10, 4), [2, 4]),
        idx1: tensor([3, 3, 0, -4, 2, 1], [3, 2], 'int64'),
        upd1: tensor(seeded(6, 11, 4), [3, 2]),
        di: tensor(ints(12, 12, -50, 50), [3, 4], 'int32'),
        ui: tensor([7, -8, 9, 10, -11, 12, 13, 14], [2, 4], 'int32'),
        db: tensor([0, 1, 0, 1], [4], 'bool'),
        ib: tensor([0, -1], [2, 1], 'int32'),
        ub: tensor([1, 0], [2], 'bool'),
        t2: tensor([0, 1, 2, 3, 0, 1], [3, 2], 'int32'),
        u2: tensor([5, 6, 7], [3]),
        t1: tensor([2, 0, -1], [3, 1], 'int64'),
        u1: tensor(seeded(12, 13, 3), [3, 4]),
      },
      ['scatterElements', 'scatterNd'],
    );
  });

  test('trilu: upper and lower, positive and negative k, batched, wide and tall, int32', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 5], 'x');
    const t = g.placeholder('float32', [5, 2], 't');
    const i = g.placeholder('int32', [3, 3], 'i');
    const outs = [ops.triu(x), ops.tril(x), ops.triu(x, 2), ops.tril(x, -1), ops.triu(t, -2), ops.tril(t, 1), ops.triu(i, 1), ops.tril(i, 7)];
    await check(g, outs, { x: tensor(seeded(30, 14), [2, 3, 5]), t: tensor(seeded(10, 15), [5, 2]), i: tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3], 'int32') }, ['trilu']);
  });

  test('reverseSequence: time-major and batch-major, lengths 0..steps, int64 lengths', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 3, 2], 'x');
    const lens = g.placeholder('int32', [3], 'lens');
    const y = g.placeholder('int32', [3, 4], 'y');
    const lens2 = g.placeholder('int64', [3], 'lens2');
    const outs = [ops.reverseSequence(x, lens, 0, 1), ops.reverseSequence(y, lens2, 1, 0)];
    await check(
      g,
      outs,
      { x: tensor(seeded(24, 16), [4, 3, 2]), lens: tensor([4, 0, 2], [3], 'int32'), y: tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 4], 'int32'), lens2: tensor([1, 3, 4], [3], 'int64') },
      ['reverseSequence'],
    );
  });

  test('cumSum: every axis, exclusive, reverse, both, negative axis, int32, a long line', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3, 4, 5], 'x');
    const i = g.placeholder('int32', [2, 6], 'i');
    const long = g.placeholder('float32', [2000], 'long');
    const outs: SymbolicTensor[] = [];
    for (const axis of [0, 1, 2, -1]) {
      for (const exclusive of [false, true]) for (const reverse of [false, true]) outs.push(ops.cumSum(x, axis, { exclusive, reverse }));
    }
    outs.push(ops.cumSum(i, 1), ops.cumSum(i, 0, { exclusive: true, reverse: true }), ops.cumSum(long, 0), ops.cumSum(long, 0, { reverse: true, exclusive: true }));
    await check(g, outs, { x: tensor(seeded(60, 17), [3, 4, 5]), i: tensor(ints(12, 18, -100, 100), [2, 6], 'int32'), long: tensor(seeded(2000, 19), [2000]) }, ['cumSum']);
  });

  test('topK: largest and smallest, ties keep index order, NaN counts as largest, a middle axis, int32 / int64', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3, 6], 'x');
    const m = g.placeholder('float32', [2, 5, 3], 'm');
    const i = g.placeholder('int32', [2, 5], 'i');
    const l = g.placeholder('int64', [7], 'l');
    const outs: SymbolicTensor[] = [];
    outs.push(...ops.topK(x, 3), ...ops.topK(x, 6, -1, false), ...ops.topK(x, 1, 0), ...ops.topK(m, 2, 1), ...ops.topK(m, 5, 1, false));
    outs.push(...ops.topK(i, 4), ...ops.topK(i, 2, 1, false), ...ops.topK(l, 3), ...ops.topK(l, 7, 0, false));
    await check(
      g,
      outs,
      {
        x: tensor([1, 3, 3, -1, 3, 0, NaN, 2, Infinity, 2, NaN, -Infinity, 0, -0, 0, 5, 5, -5], [3, 6]),
        m: tensor(seeded(30, 20), [2, 5, 3]),
        i: tensor([4, 4, 1, 9, 4, -3, 7, 7, 7, 0], [2, 5], 'int32'),
        l: tensor([5, -1, 5, 3, 3, 8, -1], [7], 'int64'),
      },
      ['topK'],
    );
  });
});
