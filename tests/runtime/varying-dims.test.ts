import { Graph, Session, ShapeError, TensorValue, ops, tensor } from 'graphc';
import { VaryingDims } from '@graphc/runtime';
import { seeded } from '../webgpu/helpers';

/**
 * A graph over x [batch, 3] that reads its batch as a value (shapeOf, gathered, cast): optimized at a
 * static batch, constant folding makes that a constant, so a graph optimized for one batch and run
 * at another would add the wrong number.
 */
function batchReadingGraph() {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 3], 'x');
  const w = g.constant(tensor(seeded(12, 5), [3, 4]), 'w');
  const batch = ops.cast(ops.gather(ops.shapeOf(x), 0), 'float32');
  const y = ops.tanh(ops.add(ops.matmul(x, w), ops.mul(batch, 0.25)), 'y');
  return { g, y };
}

const feed = (batch: number) => ({ x: tensor(seeded(batch * 3, batch), [batch, 3]) });

/** The largest elementwise difference. */
function maxDiff(a: TensorValue, b: TensorValue): number {
  expect(a.shape).toEqual(b.shape);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return worst;
}

describe('VaryingDims: which feed dimensions the passes leave unknown', () => {
  test('the first two shapes of a feed list optimize static; the third leaves unknown the dimensions that changed since the second', () => {
    const dims = new VaryingDims();
    expect(dims.passShapes('k', [[1, 4], [7]])).toEqual([[1, 4], [7]]);
    expect(dims.passShapes('k', [[1, 5], [7]])).toEqual([[1, 5], [7]]);
    const pattern = dims.passShapes('k', [[1, 6], [7]]);
    expect(pattern).toEqual([[1, null], [7]]);
    // a later shape that fits it gets the same array (it keys the shared graph)
    expect(dims.passShapes('k', [[1, 9], [7]])).toBe(pattern);
    // one that does not fit (another dimension changed) gets its own, from the shape before it
    expect(dims.passShapes('k', [[2, 9], [7]])).toEqual([[null, 9], [7]]);
    // another feed list starts over
    expect(dims.passShapes('other', [[1, 6], [7]])).toEqual([[1, 6], [7]]);
  });

  test('a shape equal to the one before (recompiled after eviction), or of another rank, stays static', () => {
    const dims = new VaryingDims();
    dims.passShapes('k', [[2]]);
    dims.passShapes('k', [[3]]);
    expect(dims.passShapes('k', [[3]])).toEqual([[3]]);
    expect(dims.passShapes('k', [[3, 1]])).toEqual([[3, 1]]);
  });

  test('keeps the four patterns used last', () => {
    const dims = new VaryingDims(0);
    let shape = [1, 1, 1, 1, 1];
    dims.passShapes('k', [shape]);
    // five shapes, each one dimension away from the one before: five patterns, one null each
    const patterns = [0, 1, 2, 3, 4].map((axis) => {
      shape = shape.map((d, i) => (i === axis ? 2 : d));
      return dims.passShapes('k', [shape]);
    });
    expect(patterns[0]).toEqual([[null, 1, 1, 1, 1]]);
    expect(patterns[1]).toEqual([[2, null, 1, 1, 1]]);
    expect(dims.passShapes('k', [[2, 7, 1, 1, 1]])).toBe(patterns[1]);
    // the first went when the fifth came: a shape only it fitted gets a new one, from the shape before
    expect(dims.passShapes('k', [[5, 1, 1, 1, 1]])).toEqual([[null, null, 1, 1, 1]]);
  });
});

describe('a session fed a new shape at every run', () => {
  test('runs the passes for the first three shapes only, and every shape gets what O0 computes', async () => {
    const { g, y } = batchReadingGraph();
    const session = new Session(g);
    const reference = new Session(g, { optimize: 0 });
    for (const batch of [2, 3, 4, 5, 2, 6, 7]) {
      const [ours, theirs] = [await session.run(y, feed(batch)), await reference.run(y, feed(batch))];
      expect(maxDiff(ours, theirs)).toBeLessThan(1e-6);
    }
    // batches 2 and 3 compiled at their static shapes; 4, 5, 6 and 7, each seen once, ran on the one
    // plan of the graph optimized with the batch unknown, unspecialized
    expect(session.compileCount).toBe(3);
    expect(session.optimizeCount).toBe(3);
    const plans = session.plans();
    const shared = plans.filter((p) => p.feeds[0].shape[0] === null);
    expect(shared).toHaveLength(1);
    expect(shared[0].outputInfo.size).toBe(0);
    expect(shared[0].memory).toBeUndefined();
    expect(plans.find((p) => p.outputInfo.get(p.fetches[0].node)?.[0].shape[0] === 2)!.feeds[0].shape).toEqual([2, 3]);
  });

  test('a shape that comes back specializes a plan of its own from the shared graph', async () => {
    const { g, y } = batchReadingGraph();
    const session = new Session(g);
    const reference = new Session(g, { optimize: 0 });
    for (const batch of [2, 3, 4, 5, 4, 4]) {
      const [ours, theirs] = [await session.run(y, feed(batch)), await reference.run(y, feed(batch))];
      expect(maxDiff(ours, theirs)).toBeLessThan(1e-6);
    }
    // 2, 3, the unspecialized plan (4 and 5), then 4's own when it came back; its third run reuses it
    expect(session.compileCount).toBe(4);
    expect(session.optimizeCount).toBe(3);
    const own = session.plans().find((p) => p.outputInfo.get(p.fetches[0].node)?.[0].shape[0] === 4)!;
    expect(own.feeds[0].shape).toEqual([null, 3]);
    expect(own.memory).toBeDefined();
  });

  test('a new shape whose tensors are large specializes at once', async () => {
    const wide = (width: number, reduced: boolean) => {
      const g = new Graph();
      const x = g.placeholder('float32', [null, width], 'x');
      return { g, y: reduced ? ops.reduceSum(x, [1]) : ops.tanh(ops.mul(x, 2)) };
    };
    const shapesOfLastPlan = async (width: number, reduced = false): Promise<{ compiles: number; specialized: boolean }> => {
      const { g, y } = wide(width, reduced);
      const session = new Session(g);
      for (const batch of [1, 2, 4]) await session.run(y, { x: tensor(seeded(batch * width, batch), [batch, width]) });
      const last = session.plans().at(-1)!;
      return { compiles: session.compileCount, specialized: last.outputInfo.size > 0 };
    };
    // a batch of 4 rows of 100,000 floats: 1.6 MB from its one kernel, past 64 KB a node
    expect(await shapesOfLastPlan(100_000)).toEqual({ compiles: 3, specialized: true });
    expect(await shapesOfLastPlan(8)).toEqual({ compiles: 3, specialized: false });
    // what the kernels allocate counts, not the feeds: the same rows summed leave 16 bytes
    expect(await shapesOfLastPlan(100_000, true)).toEqual({ compiles: 3, specialized: false });
  });

  test('an unspecialized run checks its shapes as a plan does: a clear error naming the node', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [null, 3], 'a');
    const b = g.placeholder('float32', [null, 3], 'b');
    const sum = ops.add(a, b, 'sum');
    const session = new Session(g);
    const fed = (m: number, n: number) => ({ a: tensor(seeded(m * 3, m), [m, 3]), b: tensor(seeded(n * 3, n), [n, 3]) });
    for (const batch of [1, 2, 3]) await session.run(sum, fed(batch, batch));
    // the shared graph's pattern leaves both batches unknown: 4 and 5 fit it, and cannot be added
    await expect(session.run(sum, fed(4, 5))).rejects.toThrow(/node 'sum'/);
    await expect(session.run(sum, fed(4, 5))).rejects.toBeInstanceOf(ShapeError);
  });

  test('a backend that compiles static shapes only optimizes every shape at its own', async () => {
    const { g, y } = batchReadingGraph();
    const session = new Session(g, { backend: 'gpujs' });
    for (const batch of [2, 3, 4, 5]) await session.run(y, feed(batch));
    expect(session.optimizeCount).toBe(4);
    session.close();
  });
});
