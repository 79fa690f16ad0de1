import { Graph, Session, checkGradients, gradients, ops, tensor } from 'graphc';
import { distinct, values } from './helpers';

describe('array op gradients (float64, central differences)', () => {
  test('reshape, expandDims, squeeze', async () => {
    await checkGradients((x) => ops.mul(ops.reshape(x, [4, -1]), ops.reshape(x, [4, 3])), [values([2, 6], 1)]);
    await checkGradients((x) => ops.square(ops.expandDims(x, 1)), [values([3, 2], 2)]);
    await checkGradients((x) => ops.square(ops.squeeze(x, [0, 2])), [values([1, 3, 1, 2], 3)]);
  });

  test('reshape with two unknown dimensions uses the run-time shape', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [null, null, 2], 'x');
    const y = ops.square(ops.reshape(x, [-1]));
    const [dx] = gradients(y, [x]);
    expect(dx.shape).toEqual([null, null, 2]);
    const out = await new Session(g).run(dx, { x: tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2], 'float64') });
    expect(out.shape).toEqual([2, 2, 2]);
    expect(Array.from(out.data)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
  });

  test('transpose', async () => {
    await checkGradients((x) => ops.mul(ops.transpose(x, [2, 0, 1]), values([4, 2, 3], 9).data.length ? ops.transpose(x, [2, 0, 1]) : x), [values([2, 3, 4], 4)]);
    await checkGradients((x, w) => ops.mul(ops.transpose(x), w), [values([2, 3], 5), values([3, 2], 6)]);
  });

  test('cast float64 -> float32 -> float64 passes the gradient through', async () => {
    await checkGradients((x) => ops.square(ops.cast(ops.cast(x, 'float32'), 'float64')), [values([4], 7)], { atol: 1e-5, rtol: 1e-5, eps: 1e-3 });
  });

  test('concat and split', async () => {
    await checkGradients((a, b, c) => ops.square(ops.concat([a, b, c], 1)), [values([2, 1], 1), values([2, 3], 2), values([2, 2], 3)]);
    await checkGradients((x) => {
      const [p, q, r] = ops.split(x, [1, 2, -1], 1);
      return ops.add(ops.mul(p, q.shape[1] === 2 ? ops.reduceSum(q, 1, true) : q), ops.square(r));
    }, [values([3, 5], 4)]);
    // a part that is not used receives zeros
    await checkGradients((x) => ops.square(ops.split(x, 2, 0)[1]), [values([4, 2], 5)]);
  });

  test('concat along an axis with one unknown size', async () => {
    const g = new Graph();
    const a = g.placeholder('float64', [null, 2], 'a');
    const b = g.placeholder('float64', [3, 2], 'b');
    const y = ops.mul(ops.concat([a, b], 0), 2);
    const [da, db] = gradients(y, [a, b]);
    const out = await new Session(g).run([da, db], { a: values([4, 2], 1), b: values([3, 2], 2) });
    expect(out[0].shape).toEqual([4, 2]);
    expect(Array.from(out[1].data)).toEqual([2, 2, 2, 2, 2, 2]);
  });

  test('slice', async () => {
    await checkGradients((x) => ops.square(ops.slice(x, [1, 0, 2], [2, -1, 2])), [values([3, 2, 5], 6)]);
  });

  test('gather, with repeated and negative indices', async () => {
    const idx = tensor([2, 0, 2, -1], [2, 2], 'int32');
    await checkGradients((p, i) => ops.square(ops.gather(p, i, 0)), [values([4, 3], 7), idx]);
    await checkGradients((p, i) => ops.square(ops.gather(p, i, 1)), [values([2, 4, 3], 8), idx]);
  });

  test('pad (constant, reflect, symmetric, edge, wrap) and tile', async () => {
    for (const mode of ['constant', 'reflect', 'symmetric', 'edge', 'wrap'] as const) {
      await checkGradients((x) => ops.mul(ops.pad(x, [[1, 2], [2, 1]], 0.5, mode), values([6, 6], 3)), [values([3, 3], 9)]);
    }
    // edge padding wider than the dimension, and a dimension of one (its only element is both edges)
    await checkGradients((x) => ops.mul(ops.pad(x, [[4, 3], [0, 2]], 0, 'edge'), values([9, 3], 5)), [values([2, 1], 6)]);
    // wrapped more than once around
    await checkGradients((x) => ops.mul(ops.pad(x, [[5, 3], [1, 4]], 0, 'wrap'), values([10, 7], 7)), [values([2, 2], 8)]);
    await checkGradients((x) => ops.mul(ops.tile(x, [2, 3]), values([4, 6], 4)), [values([2, 2], 10)]);
  });

  test('second order through pad, tile, slice and gather helpers', async () => {
    const w = values([6, 6], 3);
    await checkGradients(
      (x) => {
        const y = ops.reduceSum(ops.mul(ops.square(ops.pad(x, [[1, 2], [2, 1]], 0, 'reflect')), w));
        const [dx] = gradients(y, [x]);
        const [dx2] = gradients(ops.reduceSum(ops.mul(ops.square(ops.tile(x, [1, 2])), 1)), [x]);
        const sl = gradients(ops.reduceSum(ops.square(ops.slice(x, [1, 1], [2, 2]))), [x])[0];
        const ga = gradients(ops.reduceSum(ops.square(ops.gather(x, [0, 0, 2]))), [x])[0];
        return ops.add(ops.add(ops.square(dx), ops.square(dx2)), ops.add(ops.square(sl), ops.square(ga)));
      },
      [values([3, 3], 11)],
    );
  });
});

describe('reduction gradients', () => {
  const shapes: [string, number[], number | number[] | undefined, boolean][] = [
    ['all axes', [3, 4], undefined, false],
    ['axis 1', [3, 4], 1, false],
    ['axes [0, 2] keepDims', [2, 3, 4], [0, 2], true],
    ['negative axis', [2, 3, 4], -2, false],
  ];
  for (const op of ['reduceSum', 'reduceMean', 'reduceMax', 'reduceMin', 'reduceProd'] as const) {
    test.each(shapes)(`${op}: %s`, async (_l, shape, axes, keep) => {
      const x = op === 'reduceProd' ? values(shape, 5, 0.5, 1.5) : distinct(shape, 5);
      await checkGradients((t) => ops[op](t, axes, keep), [x]);
    });
  }

  test('reduceMean over an unknown batch dimension counts it at run time', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [null, 2], 'x');
    const [dx] = gradients(ops.reduceMean(x), [x]);
    const out = await new Session(g).run(dx, { x: values([4, 2], 1) });
    expect(Array.from(out.data)).toEqual(new Array(8).fill(1 / 8));
  });

  test('reduceMax shares the gradient among ties', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [4], 'x');
    const [dx] = gradients(ops.reduceMax(x), [x]);
    const out = await new Session(g).run(dx, { x: tensor([1, 3, 3, 2], [4], 'float64') });
    expect(Array.from(out.data)).toEqual([0, 0.5, 0.5, 0]);
  });

  test('reduceProd with zeros: one zero gets the product of the rest, two zeros give all 0', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [2, 3], 'x');
    const [dx] = gradients(ops.reduceProd(x, 1), [x]);
    const out = await new Session(g).run(dx, { x: tensor([2, 0, 3, 0, 5, 0], [2, 3], 'float64') });
    expect(Array.from(out.data)).toEqual([0, 6, 0, 0, 0, 0]);
  });
});
