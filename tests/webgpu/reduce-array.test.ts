import { Graph, SymbolicTensor, TensorValue, ops, tensor } from 'graphc';
import { describeGpu, expectClose, runBoth, seeded } from './helpers';

async function check(g: Graph, outs: SymbolicTensor[], feeds: Record<string, TensorValue>, rtol = 1e-4): Promise<void> {
  for (const optimize of [0, 2] as const) {
    const { cpu, gpu, exe } = await runBoth(g, outs, feeds, { optimize });
    outs.forEach((o, i) => expectClose(gpu[i], cpu[i], rtol, 1e-2, `${o.node.op} (O${optimize})`));
    expect(exe.fallbacks).toEqual([]);
  }
}

describeGpu('webgpu reductions', () => {
  test('sum, mean, max, min, prod over every axis set of a 3-d tensor, keepDims or not', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 5, 6], 'x');
    const outs: SymbolicTensor[] = [];
    for (const axes of [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]) {
      outs.push(ops.reduceSum(x, axes), ops.reduceMean(x, axes, true), ops.reduceMax(x, axes), ops.reduceMin(x, axes, true));
    }
    outs.push(ops.reduceProd(ops.add(ops.mul(x, 0.1), 1), [2]));
    await check(g, outs, { x: tensor(seeded(120, 1, 5), [4, 5, 6]) });
  });

  test('long reductions use workgroup trees and chunks (a full sum of 70k elements, rows of 3000)', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [7, 10000], 'x');
    const outs = [ops.reduceSum(x), ops.reduceMean(x, [1]), ops.reduceMax(x, [1]), ops.reduceSum(x, [0])];
    await check(g, outs, { x: tensor(seeded(70000, 2), [7, 10000]) });
  });

  test('reductions over outer dimensions of contiguous rows (bias gradients) take the column form: one chunk or many, every kind', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [600, 37], 'x');
    const y = g.placeholder('float32', [3, 150, 20], 'y');
    const i = g.placeholder('int32', [300, 6], 'i');
    const n = g.placeholder('float32', [200, 3], 'n');
    const outs = [
      ops.reduceSum(x, [0]),
      ops.reduceMean(x, [0], true),
      ops.reduceMax(x, [0]),
      ops.reduceMin(x, [0]),
      ops.reduceSum(y, [0, 1]),
      ops.reduceProd(ops.add(ops.mul(y, 0.001), 1), [1]),
      ops.sumToShapeOf(y, g.placeholder('float32', [20], 'like')),
      ops.reduceSum(i, [0]),
      ops.reduceMax(n, [0]),
    ];
    const nanCol = Float32Array.from(seeded(600, 9), (v, k) => (k === 301 ? NaN : v));
    const feeds = {
      x: tensor(seeded(600 * 37, 7, 2), [600, 37]),
      y: tensor(seeded(9000, 8), [3, 150, 20]),
      i: tensor(Array.from({ length: 1800 }, (_, k) => (k * 7919) % 201 - 100), [300, 6], 'int32'),
      n: tensor(nanCol, [200, 3]),
      like: tensor(seeded(20, 1), [20]),
    };
    await check(g, outs, feeds);
  });

  test('integer sums and max/min, int64 max on the device; NaN propagates through max', async () => {
    const g = new Graph();
    const i = g.placeholder('int32', [3, 4], 'i');
    const l = g.placeholder('int64', [3, 4], 'l');
    const f = g.placeholder('float32', [2, 3], 'f');
    const outs = [ops.reduceSum(i, [1]), ops.reduceMax(i, [0]), ops.reduceMin(l, [1]), ops.reduceMax(f, [1]), ops.reduceMin(f, [1])];
    const feeds = {
      i: tensor([1, -2, 3, 4, 5, 6, -7, 8, 9, 10, 11, -12], [3, 4], 'int32'),
      l: tensor([1, -2, 3, 4, 5, 6, -7, 8, 9, 10, 11, -12], [3, 4], 'int64'),
      f: tensor([1, NaN, 3, -1, -2, -3], [2, 3]),
    };
    await check(g, outs, feeds);
  });

  test('empty reductions give the identity (sum 0, max -inf, mean NaN)', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3, 0], 'x');
    await check(g, [ops.reduceSum(x, [1]), ops.reduceMax(x, [1]), ops.reduceMean(x, [1])], { x: tensor([], [3, 0]) });
  });

  test('argMax / argMin: first extreme wins, NaN wins, int32 and int64 outputs', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3, 4], 'x');
    const outs = [ops.argMax(x, 1), ops.argMin(x, 0, 'int32'), ops.argMax(x, 0)];
    await check(g, outs, { x: tensor([1, 5, 5, 2, NaN, 0, 3, 0, 2, 2, -1, 7], [3, 4]) });
  });

  test('sumToShapeOf (bias gradients) and broadcastToShapeOf', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [6, 4, 5], 'x');
    const b = g.placeholder('float32', [4, 1], 'b');
    const outs = [ops.sumToShapeOf(x, b), ops.broadcastToShapeOf(b, x)];
    await check(g, outs, { x: tensor(seeded(120, 3), [6, 4, 5]), b: tensor(seeded(4, 4), [4, 1]) });
  });
});

describeGpu('webgpu softmax and cross entropy', () => {
  test('softmax and logSoftmax along the last axis (short and long rows) and a middle axis', async () => {
    const g = new Graph();
    const s = g.placeholder('float32', [5, 7], 's');
    const l = g.placeholder('float32', [3, 1000], 'l');
    const m = g.placeholder('float32', [2, 6, 3], 'm');
    const outs = [ops.softmax(s), ops.logSoftmax(s), ops.softmax(l), ops.logSoftmax(l), ops.softmax(m, 1), ops.logSoftmax(m, 1)];
    await check(g, outs, { s: tensor(seeded(35, 5, 10), [5, 7]), l: tensor(seeded(3000, 6, 20), [3, 1000]), m: tensor(seeded(36, 7, 3), [2, 6, 3]) });
  });

  test('sparse and dense softmax cross entropy', async () => {
    const g = new Graph();
    const logits = g.placeholder('float32', [6, 10], 'logits');
    const y = g.placeholder('int32', [6], 'y');
    const p = g.placeholder('float32', [6, 10], 'p');
    const outs = [ops.sparseSoftmaxCrossEntropyWithLogits(y, logits), ops.softmaxCrossEntropyWithLogits(ops.softmax(p), logits)];
    await check(g, outs, { logits: tensor(seeded(60, 8, 5), [6, 10]), y: tensor([0, 9, 3, 3, 5, 1], [6], 'int32'), p: tensor(seeded(60, 9), [6, 10]) });
  });

  test("the sparse cross entropy's logits gradient in one kernel, short rows (a thread each) and long (a workgroup each)", async () => {
    const g = new Graph();
    const short = g.placeholder('float32', [6, 10], 'short');
    const long = g.placeholder('float32', [3, 700], 'long');
    const ys = g.placeholder('int32', [6], 'ys');
    const yl = g.placeholder('int32', [3], 'yl');
    const dys = g.placeholder('float32', [6], 'dys');
    const dyl = g.placeholder('float32', [3], 'dyl');
    const outs = [ops.sparseSoftmaxCrossEntropyWithLogitsGrad(ys, short, dys), ops.sparseSoftmaxCrossEntropyWithLogitsGrad(yl, long, dyl)];
    await check(g, outs, {
      short: tensor(seeded(60, 8, 5), [6, 10]),
      long: tensor(seeded(2100, 9, 8), [3, 700]),
      ys: tensor([0, 9, 3, 3, 5, 1], [6], 'int32'),
      yl: tensor([0, 699, 350], [3], 'int32'),
      dys: tensor(seeded(6, 10), [6]),
      dyl: tensor(seeded(3, 11), [3]),
    });
  });

  test('a fed label out of range is an error naming the node, as on the cpu', async () => {
    const g = new Graph();
    const logits = g.placeholder('float32', [2, 3], 'logits');
    const y = g.placeholder('int32', [2], 'y');
    const loss = ops.sparseSoftmaxCrossEntropyWithLogits(y, logits, 'xent');
    const { session } = await runBoth(g, [loss], { logits: tensor(seeded(6, 1), [2, 3]), y: tensor([0, 2], [2], 'int32') });
    await expect(session.run(loss, { logits: tensor(seeded(6, 1), [2, 3]), y: tensor([0, 3], [2], 'int32') })).rejects.toThrow(
      /node 'xent'.*label 3 at row 1 is outside the 3 classes/,
    );
  });
});

describeGpu('webgpu array ops', () => {
  test('transpose, slice, tile, pad (all modes), concat, split, reshape views', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 4], 'x');
    const y = g.placeholder('float32', [2, 2, 4], 'y');
    const parts = ops.split(x, [1, 2], 1);
    const outs = [
      ops.transpose(x, [2, 0, 1]),
      ops.slice(x, [1, 0, 1], [1, 2, -1]),
      ops.tile(x, [2, 1, 3]),
      ops.pad(x, [[1, 0], [2, 1], [0, 3]], 1.5),
      ops.pad(x, [[0, 1], [2, 2], [3, 1]], 0, 'reflect'),
      ops.pad(x, [[1, 1], [3, 0], [0, 4]], 0, 'symmetric'),
      ops.pad(x, [[3, 1], [0, 4], [2, 0]], 0, 'edge'),
      ops.pad(x, [[3, 2], [4, 1], [0, 9]], 0, 'wrap'),
      ops.concat([x, y, x], 1),
      parts[0],
      parts[1],
      ops.reshape(ops.transpose(x, [1, 0, 2]), [6, 4]),
      ops.expandDims(ops.squeeze(ops.slice(x, [0, 0, 0], [1, 3, 4]), [0]), 2),
    ];
    await check(g, outs, { x: tensor(seeded(24, 1), [2, 3, 4]), y: tensor(seeded(16, 2), [2, 2, 4]) });
  });

  test('gather (negative indices, any axis), oneHot, fill, range, cast of int data', async () => {
    const g = new Graph();
    const p = g.placeholder('float32', [5, 3], 'p');
    const ids = g.placeholder('int32', [2, 2], 'ids');
    const cols = g.placeholder('int32', [3], 'cols');
    const outs = [
      ops.gather(p, ids, 0),
      ops.gather(p, cols, 1),
      ops.oneHot(ops.reshape(ids, [4]), 5, 2, -1),
      ops.oneHot(ops.reshape(ids, [4]), 4, 1, 0, 0, 'int32'),
      ops.add(ops.fill([2, 3], 7, 'float32', { graph: g }), ops.reshape(ops.cast(ops.range(6, undefined, 1, 'int32', { graph: g }), 'float32'), [2, 3])),
      ops.range(0.5, 2, 0.25, 'float32', { graph: g }),
    ];
    await check(g, outs, { p: tensor(seeded(15, 3), [5, 3]), ids: tensor([4, -1, 0, 2], [2, 2], 'int32'), cols: tensor([2, -3, 1], [3], 'int32') });
  });

  test('gradient helpers: sliceGrad, gatherGrad (repeated indices add), padGrad (all modes), tileGrad', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 5], 'x');
    const ids = g.placeholder('int32', [3], 'ids');
    const dyS = g.placeholder('float32', [2, 3], 'dyS');
    const dyG = g.placeholder('float32', [3, 5], 'dyG');
    const dyT = g.placeholder('float32', [8, 15], 'dyT');
    const padded = (mode: 'constant' | 'reflect' | 'symmetric' | 'edge' | 'wrap') => ops.pad(x, [[1, 2], [3, 2]], 0, mode);
    const outs = [
      ops.sliceGrad(dyS, x, [1, 2], [2, 3]),
      ops.gatherGrad(dyG, ids, x, 0),
      ops.tileGrad(dyT, x, [2, 3]),
      ...(['constant', 'reflect', 'symmetric', 'edge', 'wrap'] as const).map((mode) =>
        ops.padGrad(ops.mul(padded(mode), 1.5), x, [1, 2, 3, 2], mode),
      ),
      // edge padding wider than the dimension
      ops.padGrad(ops.mul(ops.pad(x, [[5, 6], [0, 7]], 0, 'edge'), 0.5), x, [5, 6, 0, 7], 'edge'),
      ops.padGrad(ops.mul(ops.pad(x, [[5, 6], [0, 12]], 0, 'wrap'), 0.5), x, [5, 6, 0, 12], 'wrap'),
    ];
    await check(g, outs, {
      x: tensor(seeded(20, 1), [4, 5]),
      ids: tensor([2, -1, 2], [3], 'int32'),
      dyS: tensor(seeded(6, 2), [2, 3]),
      dyG: tensor(seeded(15, 3), [3, 5]),
      dyT: tensor(seeded(120, 4), [8, 15]),
    });
  });

  test('a fed gather index out of range is an error naming the node', async () => {
    const g = new Graph();
    const p = g.placeholder('float32', [3, 2], 'p');
    const ids = g.placeholder('int32', [2], 'ids');
    const y = ops.gather(p, ids, 0, 'pick');
    const { session } = await runBoth(g, [y], { p: tensor(seeded(6, 1), [3, 2]), ids: tensor([0, 2], [2], 'int32') });
    await expect(session.run(y, { p: tensor(seeded(6, 1), [3, 2]), ids: tensor([0, 3], [2], 'int32') })).rejects.toThrow(
      /node 'pick'.*index 3 .* out of range \[-3, 3\)/,
    );
  });
});
