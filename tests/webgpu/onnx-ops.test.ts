import { Graph, Session, SymbolicTensor, TensorValue, applyOp, gradients, ops, tensor } from 'graphc';
import { checkOnGpu, describeGpu, seeded, seededInts } from './helpers';

/**
 * The WGSL kernels of the ops ONNX models bring, each against the cpu backend (the reference) on
 * several shapes and attribute variants, at O0 and O2; every listed op must run on the device (no
 * CPU fallback anywhere in the plan).
 */
const check = checkOnGpu;
const ints = seededInts;

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

  test('unsorted segment reductions (scatterNd over rows, a negative id dropped) and their gradients', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [6, 3], 'x');
    const ids = g.placeholder('int32', [6], 'ids');
    const reduced = [ops.unsortedSegmentSum(x, ids, 4), ops.unsortedSegmentMean(x, ids, 4), ops.unsortedSegmentMax(x, ids, 4), ops.unsortedSegmentMin(x, ids, 4)];
    const weights = tensor(seeded(9, 21, 2), [3, 3]);
    // the empty segment 2 holds max's and min's extremes: left out of the loss, which weights the rest
    const loss = reduced.map((r) => ops.reduceSum(ops.mul(ops.gather(r, tensor([0, 1, 3], [3], 'int32')), weights))).reduce((a, b) => ops.add(a, b));
    const grads = gradients(loss, [x]);
    await check(g, [...reduced, ...grads], { x: tensor(seeded(18, 20, 4), [6, 3]), ids: tensor([1, 3, 0, -1, 3, 1], [6], 'int32') }, ['scatterNd', 'gatherNd']);
  });

  test('trilu: upper and lower, positive and negative k, batched, wide and tall, int32', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 5], 'x');
    const t = g.placeholder('float32', [5, 2], 't');
    const i = g.placeholder('int32', [3, 3], 'i');
    const outs = [ops.triu(x), ops.tril(x), ops.triu(x, 2), ops.tril(x, -1), ops.triu(t, -2), ops.tril(t, 1), ops.triu(i, 1), ops.tril(i, 7)];
    await check(g, outs, { x: tensor(seeded(30, 14), [2, 3, 5]), t: tensor(seeded(10, 15), [5, 2]), i: tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3], 'int32') }, ['trilu']);
  });

  test('tfIdfVectorizer: 1- to 3-grams, skips, TF, IDF and TFIDF, shared output indexes, int64 rows', async () => {
    const g = new Graph();
    const rows = g.placeholder('int32', [3, 25], 'rows');
    const line = g.placeholder('int64', [30], 'line');
    const ngrams = [[1], [3], [0, 1], [2, 2], [1, 0, 1], [4, 4], [3, 0, 2]];
    const weights = [0.5, 1.5, 2, 0.25, 3, 1, 0.75];
    const outs = [
      ops.tfIdfVectorizer(rows, { ngrams, maxSkipCount: 2 }),
      ops.tfIdfVectorizer(rows, { ngrams, indexes: [4, 0, 2, 2, 1, 6, 3], mode: 'TFIDF', weights, minGramLength: 2, maxSkipCount: 1 }),
      ops.tfIdfVectorizer(line, { ngrams, mode: 'IDF', weights, maxGramLength: 2 }),
    ];
    const tokens = (n: number, seed: number) => Array.from(seeded(n, seed), (v) => Math.floor((v + 1) * 2.5));
    await check(g, outs, { rows: tensor(tokens(75, 31), [3, 25], 'int32'), line: tensor(tokens(30, 32), [30], 'int64') }, ['tfIdfVectorizer']);
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
    const sess = new Session(g, { backend: 'webgpu' });
    await expect(sess.run(outs[0], { x: tensor(seeded(24, 16), [4, 3, 2]), lens: tensor([4, 5, 2], [3], 'int32') })).rejects.toThrow(/length 5 is outside \[0, 4\]/);
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

describeGpu('webgpu ONNX nn ops (channels first)', () => {
  test('convNchw: 2-d GEMM path with bias, pads, strides, dilations; groups (GEMM and direct), depthwise; 1-d and 3-d; autoPad', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 8, 9, 10], 'x');
    const w = g.placeholder('float32', [16, 8, 3, 3], 'w');
    const b = g.placeholder('float32', [16], 'b');
    const wg = g.placeholder('float32', [16, 4, 3, 2], 'wg');
    const wd = g.placeholder('float32', [8, 1, 3, 3], 'wd');
    const w2 = g.placeholder('float32', [16, 2, 1, 3], 'w2');
    const x1 = g.placeholder('float32', [2, 3, 17], 'x1');
    const w1 = g.placeholder('float32', [6, 3, 4], 'w1');
    const x3 = g.placeholder('float32', [1, 2, 5, 6, 7], 'x3');
    const w3 = g.placeholder('float32', [4, 2, 2, 3, 2], 'w3');
    const outs = [
      ops.convNchw(x, w, b, { pads: [1, 1, 1, 1] }),
      ops.convNchw(x, w, null, { strides: [2, 3], dilations: [2, 1], pads: [0, 2, 1, 0] }),
      ops.convNchw(x, wg, b, { group: 2, pads: [1, 0, 1, 1] }),
      ops.convNchw(x, wd, null, { group: 8, pads: [1, 1, 1, 1], strides: [2, 2] }),
      ops.convNchw(x, wd, ops.slice(b, [0], [8]), { group: 8, dilations: [2, 3], autoPad: 'SAME_UPPER' }),
      ops.convNchw(x, w2, null, { group: 4, autoPad: 'SAME_LOWER', strides: [2, 2] }),
      ops.convNchw(x, ops.slice(w, [0, 0, 1, 1], [16, 8, 1, 1]), b),
      ops.convNchw(x1, w1, null, { pads: [2, 1], strides: [2] }),
      ops.convNchw(x3, w3, null, { pads: [1, 0, 1, 0, 1, 1], dilations: [1, 2, 1] }),
    ];
    await check(
      g,
      outs,
      {
        x: tensor(seeded(2 * 8 * 90, 30), [2, 8, 9, 10]),
        w: tensor(seeded(16 * 72, 31), [16, 8, 3, 3]),
        b: tensor(seeded(16, 32), [16]),
        wg: tensor(seeded(16 * 24, 33), [16, 4, 3, 2]),
        wd: tensor(seeded(72, 34), [8, 1, 3, 3]),
        w2: tensor(seeded(96, 35), [16, 2, 1, 3]),
        x1: tensor(seeded(102, 36), [2, 3, 17]),
        w1: tensor(seeded(72, 37), [6, 3, 4]),
        x3: tensor(seeded(420, 38), [1, 2, 5, 6, 7]),
        w3: tensor(seeded(96, 39), [4, 2, 2, 3, 2]),
      },
      ['convNchw'],
    );
  });

  test('convTransposeNchw: strides, pads, outputPadding, dilations, groups, outputShape, bias; GEMM and direct', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 8, 5, 6], 'x');
    const w = g.placeholder('float32', [8, 12, 3, 3], 'w');
    const b = g.placeholder('float32', [12], 'b');
    const wg = g.placeholder('float32', [8, 3, 2, 3], 'wg');
    const wd = g.placeholder('float32', [8, 1, 3, 3], 'wd');
    const x1 = g.placeholder('float32', [1, 4, 7], 'x1');
    const w1 = g.placeholder('float32', [4, 8, 3], 'w1');
    const outs = [
      ops.convTransposeNchw(x, w, b),
      ops.convTransposeNchw(x, w, null, { strides: [2, 2], pads: [1, 0, 1, 1], outputPadding: [1, 0] }),
      ops.convTransposeNchw(x, w, b, { strides: [3, 2], dilations: [2, 1], pads: [0, 1, 2, 0] }),
      ops.convTransposeNchw(x, wg, null, { group: 2, strides: [2, 1] }),
      ops.convTransposeNchw(x, wd, null, { group: 8, strides: [2, 2], outputShape: [10, 12] }),
      ops.convTransposeNchw(x1, w1, null, { strides: [2], autoPad: 'SAME_UPPER' }),
    ];
    await check(
      g,
      outs,
      {
        x: tensor(seeded(480, 40), [2, 8, 5, 6]),
        w: tensor(seeded(864, 41), [8, 12, 3, 3]),
        b: tensor(seeded(12, 42), [12]),
        wg: tensor(seeded(144, 43), [8, 3, 2, 3]),
        wd: tensor(seeded(72, 44), [8, 1, 3, 3]),
        x1: tensor(seeded(28, 45), [1, 4, 7]),
        w1: tensor(seeded(96, 46), [4, 8, 3]),
      },
      ['convTransposeNchw'],
    );
  });

  test('maxPoolNchw / avgPoolNchw / lpPoolNchw: pads, strides, dilations, ceilMode, countIncludePad, 1-d and 3-d, indices', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 7, 8], 'x');
    const x1 = g.placeholder('float32', [1, 2, 9], 'x1');
    const x3 = g.placeholder('float32', [1, 1, 4, 5, 6], 'x3');
    const xi = g.placeholder('int32', [1, 2, 4, 4], 'xi');
    const xn = g.placeholder('float32', [1, 1, 3, 3], 'xn');
    const outs: SymbolicTensor[] = [
      ops.maxPoolNchw(x, [3, 3], { pads: [1, 1, 1, 1], strides: [2, 2] }),
      ops.maxPoolNchw(x, [2, 3], { dilations: [2, 2], ceilMode: true, strides: [2, 2] }),
      ops.maxPoolNchw(x1, [3], { autoPad: 'SAME_UPPER', strides: [2] }),
      ops.maxPoolNchw(x3, [2, 2, 3], { pads: [0, 1, 1, 1, 0, 1] }),
      ops.maxPoolNchw(xi, [2, 2], { pads: [1, 1, 0, 0] }),
      ops.maxPoolNchw(xn, [2, 2], { strides: [1, 1] }),
      ops.avgPoolNchw(x, [3, 3], { pads: [1, 1, 1, 1], strides: [2, 2] }),
      ops.avgPoolNchw(x, [3, 3], { pads: [1, 1, 1, 1], strides: [2, 2], countIncludePad: true }),
      ops.avgPoolNchw(x, [3, 2], { ceilMode: true, strides: [2, 3], pads: [0, 1, 0, 1], countIncludePad: true }),
      ops.avgPoolNchw(x3, [2, 3, 2], { autoPad: 'SAME_LOWER' }),
      applyOp('lpPoolNchw', [x], { kernel: [2, 2], strides: [2, 2], p: 2 }).output(0),
      applyOp('lpPoolNchw', [x1], { kernel: [3], pads: [1, 1], p: 3 }).output(0),
      applyOp('lpPoolNchw', [x], { kernel: [3, 3], p: 1.5 }).output(0),
    ];
    const withIdx = applyOp('maxPoolNchw', [x], { kernel: [3, 2], pads: [1, 0, 1, 1], strides: [2, 2], withIndices: true });
    const colMajor = applyOp('maxPoolNchw', [x3], { kernel: [2, 2, 2], strides: [2, 2, 2], withIndices: true, storageOrder: 1 });
    outs.push(withIdx.output(0), withIdx.output(1), colMajor.output(1));
    await check(
      g,
      outs,
      {
        x: tensor(seeded(336, 50, 3), [2, 3, 7, 8]),
        x1: tensor(seeded(18, 51), [1, 2, 9]),
        x3: tensor(seeded(120, 52), [1, 1, 4, 5, 6]),
        xi: tensor(ints(32, 53, -9, 9), [1, 2, 4, 4], 'int32'),
        xn: tensor([1, NaN, 2, 3, 4, 5, -Infinity, 6, NaN], [1, 1, 3, 3]),
      },
      ['maxPoolNchw', 'avgPoolNchw', 'lpPoolNchw'],
    );
  });

  test('lrnNchw: odd and even sizes, 2-d and 4-d', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 7, 3, 4], 'x');
    const y = g.placeholder('float32', [3, 5], 'y');
    const outs = [ops.lrnNchw(x, 3), ops.lrnNchw(x, 4, 0.01, 0.5, 2), ops.lrnNchw(y, 5, 1e-3, 0.75, 1)];
    await check(g, outs, { x: tensor(seeded(168, 54, 4), [2, 7, 3, 4]), y: tensor(seeded(15, 55, 4), [3, 5]) }, ['lrnNchw']);
  });

  test('layerNorm: last axis, several axes, broadcast scale, no bias, long rows (tree), all three outputs', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 5, 6], 'x');
    const s6 = g.placeholder('float32', [6], 's6');
    const b6 = g.placeholder('float32', [6], 'b6');
    const s56 = g.placeholder('float32', [5, 1], 's56');
    const long = g.placeholder('float32', [3, 1000], 'long');
    const sl = g.placeholder('float32', [1000], 'sl');
    const outs: SymbolicTensor[] = [ops.layerNorm(x, s6, b6), ops.layerNorm(x, s56, null, 1, 1e-3), ops.layerNorm(x, s6, b6, -2)];
    const full = applyOp('layerNorm', [long, sl, sl], { axis: -1, epsilon: 1e-5 });
    const mid = applyOp('layerNorm', [x, s6], { axis: 1, epsilon: 1e-5 });
    outs.push(full.output(0), full.output(1), full.output(2), mid.output(0), mid.output(1), mid.output(2));
    await check(
      g,
      outs,
      {
        x: tensor(seeded(120, 56, 3), [4, 5, 6]),
        s6: tensor(seeded(6, 57), [6]),
        b6: tensor(seeded(6, 58), [6]),
        s56: tensor(seeded(5, 59), [5, 1]),
        long: tensor(Float32Array.from(seeded(3000, 60), (v, i) => v + (i % 7)), [3, 1000]),
        sl: tensor(seeded(1000, 61), [1000]),
      },
      ['layerNorm'],
    );
  });

  test('rmsNorm: last axis, several axes, broadcast scale, long rows (tree), both outputs', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 5, 6], 'x');
    const s6 = g.placeholder('float32', [6], 's6');
    const s56 = g.placeholder('float32', [5, 1], 's56');
    const long = g.placeholder('float32', [3, 1000], 'long');
    const sl = g.placeholder('float32', [1000], 'sl');
    const outs: SymbolicTensor[] = [ops.rmsNorm(x, s6), ops.rmsNorm(x, s56, 1, 1e-3)];
    const full = applyOp('rmsNorm', [long, sl], { axis: -1, epsilon: 1e-5 });
    const last = applyOp('rmsNorm', [x, s6], { axis: -1, epsilon: 1e-5 });
    outs.push(full.output(0), full.output(1), last.output(1));
    await check(
      g,
      outs,
      {
        x: tensor(seeded(120, 62, 3), [4, 5, 6]),
        s6: tensor(seeded(6, 63), [6]),
        s56: tensor(seeded(5, 64), [5, 1]),
        long: tensor(Float32Array.from(seeded(3000, 65), (v, i) => v + (i % 7)), [3, 1000]),
        sl: tensor(seeded(1000, 66), [1000]),
      },
      ['rmsNorm'],
    );
  });

  test('nllLoss: none, sum, mean; weights; ignoreIndex; spatial dims; int64 targets', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 5], 'x');
    const t = g.placeholder('int32', [4], 't');
    const w = g.placeholder('float32', [5], 'w');
    const xs = g.placeholder('float32', [2, 3, 2, 2], 'xs');
    const ts = g.placeholder('int64', [2, 2, 2], 'ts');
    const big = g.placeholder('float32', [300, 3], 'big');
    const tb = g.placeholder('int32', [300], 'tb');
    const outs: SymbolicTensor[] = [];
    for (const reduction of ['none', 'sum', 'mean'] as const) {
      outs.push(ops.nllLoss(x, t, null, { reduction }), ops.nllLoss(x, t, w, { reduction, ignoreIndex: 2 }), ops.nllLoss(xs, ts, null, { reduction, ignoreIndex: -1 }));
      outs.push(ops.nllLoss(big, tb, null, { reduction }));
    }
    await check(
      g,
      outs,
      {
        x: tensor(seeded(20, 62), [4, 5]),
        t: tensor([0, 2, 4, 2], [4], 'int32'),
        w: tensor([0.5, 1, 2, 3, 0.25], [5]),
        xs: tensor(seeded(24, 63), [2, 3, 2, 2]),
        ts: tensor([0, 1, -1, 2, 2, -1, 0, 1], [2, 2, 2], 'int64'),
        big: tensor(seeded(900, 64), [300, 3]),
        tb: tensor(ints(300, 65, 0, 3), [300], 'int32'),
      },
      ['nllLoss'],
    );
    const sess = new Session(g, { backend: 'webgpu' });
    await expect(sess.run(outs[0], { x: tensor(seeded(20, 62), [4, 5]), t: tensor([0, 5, 1, 1], [4], 'int32') })).rejects.toThrow(/target 5 is outside \[0, 5\)/);
  });

  test('resize: nearest (every nearestMode), linear and cubic under every coordinate transform, excludeOutside, crop and resize, int32', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [1, 2, 5, 6], 'x');
    const xi = g.placeholder('int32', [1, 1, 3, 4], 'xi');
    const outs: SymbolicTensor[] = [];
    const coords = ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn'];
    for (const nearestMode of ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']) {
      outs.push(ops.resize(x, [1, 2, 10, 9], { mode: 'nearest', nearestMode, coordinateTransformationMode: 'asymmetric' }));
      outs.push(ops.resize(x, [1, 2, 3, 4], { mode: 'nearest', nearestMode }));
    }
    for (const coordinateTransformationMode of coords) {
      outs.push(ops.resize(x, [1, 2, 8, 13], { mode: 'linear', coordinateTransformationMode }));
      outs.push(ops.resize(x, [1, 2, 3, 1], { mode: 'cubic', coordinateTransformationMode }));
    }
    outs.push(ops.resize(x, [1, 2, 9, 11], { mode: 'cubic', excludeOutside: true, cubicCoeffA: -0.5 }));
    outs.push(ops.resize(x, [2, 3, 10, 12], { mode: 'linear', scales: [2, 1.5, 2, 2] }));
    outs.push(ops.resize(x, [1, 2, 4, 7], { mode: 'linear', coordinateTransformationMode: 'tf_crop_and_resize', roi: [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3], extrapolationValue: 7.5 }));
    outs.push(ops.resize(x, [1, 2, 4, 7], { mode: 'nearest', coordinateTransformationMode: 'tf_crop_and_resize', roi: [0, 0, 0.1, -0.4, 1, 1, 1.2, 0.8] }));
    outs.push(ops.resize(xi, [1, 1, 7, 5], { mode: 'nearest' }), ops.resize(xi, [2, 1, 2, 9], { mode: 'nearest', nearestMode: 'ceil', coordinateTransformationMode: 'align_corners' }));
    outs.push(ops.resize(xi, [1, 1, 5, 5], { mode: 'nearest', coordinateTransformationMode: 'tf_crop_and_resize', roi: [0, 0, -0.5, 0, 1, 1, 1, 1.5], extrapolationValue: -3 }));
    await check(g, outs, { x: tensor(seeded(60, 66, 5), [1, 2, 5, 6]), xi: tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 1, 3, 4], 'int32') }, ['resize']);
  });
});

describeGpu('webgpu ONNX math ops', () => {
  test('einsum on the GEMM path: matmul, transposed operands, batched with broadcasting, attention scores, an outer product, a dot', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [5, 7], 'a');
    const b = g.placeholder('float32', [7, 6], 'b');
    const q = g.placeholder('float32', [2, 3, 5, 8], 'q');
    const k = g.placeholder('float32', [2, 3, 6, 8], 'k');
    const bb = g.placeholder('float32', [1, 7, 6], 'bb');
    const ab = g.placeholder('float32', [3, 5, 7], 'ab');
    const u = g.placeholder('float32', [5], 'u');
    const v = g.placeholder('float32', [6], 'v');
    const outs = [
      ops.einsum('ij,jk->ik', a, b),
      ops.einsum('ij,jk->ki', a, b),
      ops.einsum('ji,ki->jk', a, ops.transpose(b, [1, 0])),
      ops.einsum('bhqd,bhkd->bhqk', q, k),
      ops.einsum('...ij,...jk->...ik', ab, bb),
      ops.einsum('i,j->ij', u, v),
      ops.einsum('i,i->', u, u),
      ops.einsum('bij,bjk->bik', ab, ops.expand(bb, [3, 7, 6])),
    ];
    await check(
      g,
      outs,
      {
        a: tensor(seeded(35, 70), [5, 7]),
        b: tensor(seeded(42, 71), [7, 6]),
        q: tensor(seeded(240, 72), [2, 3, 5, 8]),
        k: tensor(seeded(288, 73), [2, 3, 6, 8]),
        bb: tensor(seeded(42, 74), [1, 7, 6]),
        ab: tensor(seeded(105, 75), [3, 5, 7]),
        u: tensor(seeded(5, 76), [5]),
        v: tensor(seeded(6, 77), [6]),
      },
      ['einsum'],
    );
  });

  test('einsum, generic kernel: trace, diagonal, transpose, sums within an input, three inputs, int32', async () => {
    const g = new Graph();
    const s = g.placeholder('float32', [4, 4], 's');
    const t = g.placeholder('float32', [2, 3, 4], 't');
    const a = g.placeholder('float32', [3, 4], 'a');
    const b = g.placeholder('float32', [4, 5], 'b');
    const c = g.placeholder('float32', [5, 2], 'c');
    const i = g.placeholder('int32', [3, 3], 'i');
    const outs = [
      ops.einsum('ii->', s),
      ops.einsum('ii->i', s),
      ops.einsum('bij->jib', t),
      ops.einsum('bij->j', t),
      ops.einsum('ij,jk,kl->il', a, b, c),
      ops.einsum('ij,jk', a, b),
      ops.einsum('bij,kj->bk', t, a),
      ops.einsum('ij,jk->ik', i, i),
      ops.einsum('ii', i),
    ];
    await check(
      g,
      outs,
      {
        s: tensor(seeded(16, 78), [4, 4]),
        t: tensor(seeded(24, 79), [2, 3, 4]),
        a: tensor(seeded(12, 80), [3, 4]),
        b: tensor(seeded(20, 81), [4, 5]),
        c: tensor(seeded(10, 82), [5, 2]),
        i: tensor([1, -2, 3, 4, 5, -6, 7, 8, 9], [3, 3], 'int32'),
      },
      ['einsum'],
    );
  });

  test('det: batches of 1x1 .. 6x6 matrices, pivoting, a singular matrix, a permutation', async () => {
    const g = new Graph();
    const one = g.placeholder('float32', [3, 1, 1], 'one');
    const two = g.placeholder('float32', [2, 2], 'two');
    const five = g.placeholder('float32', [2, 3, 5, 5], 'five');
    const sing = g.placeholder('float32', [3, 3], 'sing');
    const perm = g.placeholder('float32', [3, 3], 'perm');
    const six = g.placeholder('float32', [6, 6], 'six');
    const outs = [ops.det(one), ops.det(two), ops.det(five), ops.det(sing), ops.det(perm), ops.det(six)];
    const eye6 = Array.from({ length: 36 }, (_, e) => (e % 7 === 0 ? 3 : 0));
    await check(
      g,
      outs,
      {
        one: tensor([2, -3, 0.5], [3, 1, 1]),
        two: tensor([0, 2, 3, 4], [2, 2]),
        five: tensor(seeded(150, 83, 2), [2, 3, 5, 5]),
        sing: tensor([1, 2, 3, 2, 4, 6, 1, 0, 1], [3, 3]),
        perm: tensor([0, 1, 0, 0, 0, 1, 1, 0, 0], [3, 3]),
        six: tensor(Float32Array.from(seeded(36, 84), (v, e) => v + eye6[e]), [6, 6]),
      },
      ['det'],
    );
  });
});

describeGpu('webgpu ONNX recurrent ops', () => {
  const seq = 5;
  const batch = 3;
  const inSize = 4;
  const H = 3;
  function recurrentGraph(op: 'rnn' | 'gru' | 'lstm', gates: number, dirs: number, layout = 0) {
    const g = new Graph();
    const x = g.placeholder('float32', layout === 1 ? [batch, seq, inSize] : [seq, batch, inSize], 'x');
    const w = g.placeholder('float32', [dirs, gates * H, inSize], 'w');
    const r = g.placeholder('float32', [dirs, gates * H, H], 'r');
    const b = g.placeholder('float32', [dirs, 2 * gates * H], 'b');
    const lens = g.placeholder('int32', [batch], 'lens');
    const h0 = g.placeholder('float32', layout === 1 ? [batch, dirs, H] : [dirs, batch, H], 'h0');
    const c0 = g.placeholder('float32', layout === 1 ? [batch, dirs, H] : [dirs, batch, H], 'c0');
    const p = g.placeholder('float32', [dirs, 3 * H], 'p');
    const feeds: Record<string, TensorValue> = {
      x: tensor(seeded(seq * batch * inSize, 90, 1), layout === 1 ? [batch, seq, inSize] : [seq, batch, inSize]),
      w: tensor(seeded(dirs * gates * H * inSize, 91, 0.6), [dirs, gates * H, inSize]),
      r: tensor(seeded(dirs * gates * H * H, 92, 0.6), [dirs, gates * H, H]),
      b: tensor(seeded(dirs * 2 * gates * H, 93, 0.3), [dirs, 2 * gates * H]),
      lens: tensor([5, 2, 0], [batch], 'int32'),
      h0: tensor(seeded(dirs * batch * H, 94, 0.5), layout === 1 ? [batch, dirs, H] : [dirs, batch, H]),
      c0: tensor(seeded(dirs * batch * H, 95, 0.5), layout === 1 ? [batch, dirs, H] : [dirs, batch, H]),
      p: tensor(seeded(dirs * 3 * H, 96, 0.4), [dirs, 3 * H]),
    };
    const all = { x, w, r, b, sequenceLens: lens, initialH: h0, initialC: c0, p };
    const make = (names: (keyof typeof all)[], attrs: Record<string, unknown>): SymbolicTensor[] => {
      const node = applyOp(op, names.map((n) => all[n]), { hiddenSize: H, inputs: names, layout, ...attrs } as never);
      return node.outputs.map((_, i) => node.output(i));
    };
    return { g, feeds, make };
  }

  test('rnn: forward without bias, bidirectional with lengths and initial state, reverse with other activations and clip, batch-major layout', async () => {
    const one = recurrentGraph('rnn', 1, 1);
    const outs = [
      ...one.make(['x', 'w', 'r'], {}),
      ...one.make(['x', 'w', 'r', 'b', 'sequenceLens', 'initialH'], { direction: 'reverse', activations: ['Relu'], clip: 0.8 }),
      ...one.make(['x', 'w', 'r', 'b'], { activations: ['LeakyRelu'], activationAlpha: [0.2] }),
      ...one.make(['x', 'w', 'r', 'b'], { activations: ['Softsign'] }),
      ...one.make(['x', 'w', 'r', 'b'], { activations: ['Softplus'] }),
    ];
    await check(one.g, outs, { x: one.feeds.x, w: one.feeds.w, r: one.feeds.r, b: one.feeds.b, lens: one.feeds.lens, h0: one.feeds.h0 }, ['rnn']);
    const sess = new Session(one.g, { backend: 'webgpu' });
    const feeds = { x: one.feeds.x, w: one.feeds.w, r: one.feeds.r, b: one.feeds.b, lens: tensor([5, 6, 0], [3], 'int32'), h0: one.feeds.h0 };
    await expect(sess.run(outs[2], feeds)).rejects.toThrow(/sequence length 6 is outside \[0, 5\]/);
    const two = recurrentGraph('rnn', 1, 2);
    const outs2 = two.make(['x', 'w', 'r', 'b', 'sequenceLens', 'initialH'], { direction: 'bidirectional', activations: ['Tanh', 'Elu'], activationAlpha: [0.7] });
    await check(two.g, outs2, { x: two.feeds.x, w: two.feeds.w, r: two.feeds.r, b: two.feeds.b, lens: two.feeds.lens, h0: two.feeds.h0 }, ['rnn']);
    const bm = recurrentGraph('rnn', 1, 2, 1);
    const outs3 = bm.make(['x', 'w', 'r', 'b', 'sequenceLens', 'initialH'], { direction: 'bidirectional' });
    await check(bm.g, outs3, { x: bm.feeds.x, w: bm.feeds.w, r: bm.feeds.r, b: bm.feeds.b, lens: bm.feeds.lens, h0: bm.feeds.h0 }, ['rnn']);
  });

  test('gru: linearBeforeReset either way, reverse, bidirectional with lengths and initial state, batch-major layout', async () => {
    const one = recurrentGraph('gru', 3, 1);
    const outs = [
      ...one.make(['x', 'w', 'r'], {}),
      ...one.make(['x', 'w', 'r', 'b'], { linearBeforeReset: true }),
      ...one.make(['x', 'w', 'r', 'b', 'sequenceLens', 'initialH'], { direction: 'reverse', clip: 0.5 }),
      ...one.make(['x', 'w', 'r', 'b'], { activations: ['HardSigmoid', 'ScaledTanh'], activationAlpha: [0.3, 1.5], activationBeta: [0.4, 0.8] }),
    ];
    await check(one.g, outs, { x: one.feeds.x, w: one.feeds.w, r: one.feeds.r, b: one.feeds.b, lens: one.feeds.lens, h0: one.feeds.h0 }, ['gru']);
    const two = recurrentGraph('gru', 3, 2, 1);
    const outs2 = [
      ...two.make(['x', 'w', 'r', 'b', 'sequenceLens', 'initialH'], { direction: 'bidirectional' }),
      ...two.make(['x', 'w', 'r', 'b'], { direction: 'bidirectional', linearBeforeReset: true }),
    ];
    await check(two.g, outs2, { x: two.feeds.x, w: two.feeds.w, r: two.feeds.r, b: two.feeds.b, lens: two.feeds.lens, h0: two.feeds.h0 }, ['gru']);
  });

  test('lstm: all inputs with peepholes, coupled input-forget, reverse, bidirectional, batch-major, other activations', async () => {
    const one = recurrentGraph('lstm', 4, 1);
    const outs = [
      ...one.make(['x', 'w', 'r'], {}),
      ...one.make(['x', 'w', 'r', 'b', 'sequenceLens', 'initialH', 'initialC', 'p'], {}),
      ...one.make(['x', 'w', 'r', 'b', 'sequenceLens', 'initialH', 'initialC', 'p'], { direction: 'reverse', inputForget: true, clip: 0.9 }),
      ...one.make(['x', 'w', 'r', 'b'], { activations: ['Sigmoid', 'Affine', 'ThresholdedRelu'], activationAlpha: [0.5, 0.1], activationBeta: [0.2] }),
    ];
    await check(one.g, outs, one.feeds, ['lstm']);
    const two = recurrentGraph('lstm', 4, 2);
    await check(two.g, two.make(['x', 'w', 'r', 'b', 'sequenceLens', 'initialH', 'initialC', 'p'], { direction: 'bidirectional' }), two.feeds, ['lstm']);
    const bm = recurrentGraph('lstm', 4, 2, 1);
    const { p: _unused, ...withoutP } = bm.feeds;
    await check(bm.g, bm.make(['x', 'w', 'r', 'b', 'sequenceLens', 'initialH', 'initialC'], { direction: 'bidirectional' }), withoutP, ['lstm']);
  });
});
