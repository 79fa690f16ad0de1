import { Graph, Session, ShapeError, TensorValue, checkGradients, ops, tensor } from 'graphc';
import { values } from '../passes/autodiff/helpers';

/** matrixBandPart, matrixDiagPart, matrixDiag, matrixSetDiag and trace (tf.linalg). */

async function run1(build: (g: Graph) => ReturnType<typeof ops.trace>, feeds: Record<string, TensorValue> = {}): Promise<TensorValue> {
  const g = new Graph();
  return new Session(g).run(build(g), feeds);
}

// [2, 3, 4]: entry (b, r, c) = 100 b + 10 r + c
const X = tensor(Array.from({ length: 24 }, (_, e) => 100 * Math.floor(e / 12) + 10 * (Math.floor(e / 4) % 3) + (e % 4)), [2, 3, 4], 'float64');

describe('matrix helpers', () => {
  test('matrixBandPart: one below and none above, all below, the diagonal alone; infinities outside stay out', async () => {
    const feed = (g: Graph) => g.placeholder('float64', [2, 3, 4], 'x');
    const band = await run1((g) => ops.matrixBandPart(feed(g), 1, 0), { x: X });
    expect(Array.from(band.data.slice(0, 12))).toEqual([0, 0, 0, 0, 10, 11, 0, 0, 0, 21, 22, 0]);
    const lower = await run1((g) => ops.matrixBandPart(feed(g), -1, 0), { x: X });
    expect(Array.from(lower.data.slice(12))).toEqual([100, 0, 0, 0, 110, 111, 0, 0, 120, 121, 122, 0]);
    const inf = tensor([1, Infinity, NaN, 4], [2, 2], 'float64');
    const diag = await run1((g) => ops.matrixBandPart(g.placeholder('float64', [2, 2], 'y'), 0, 0), { y: inf });
    expect(Array.from(diag.data)).toEqual([1, 0, 0, 4]);
  });

  test('matrixDiagPart and trace of wide and tall matrices, with an unknown batch; off-diagonal infinities do not reach them', async () => {
    const wide = await run1((g) => ops.matrixDiagPart(g.placeholder('float64', [null, 3, 4], 'x')), { x: X });
    expect(wide.shape).toEqual([2, 3]);
    expect(Array.from(wide.data)).toEqual([0, 11, 22, 100, 111, 122]);
    const tall = await run1((g) => ops.matrixDiagPart(ops.transpose(g.placeholder('float64', [2, 3, 4], 'x'), [0, 2, 1])), { x: X });
    expect(Array.from(tall.data)).toEqual([0, 11, 22, 100, 111, 122]);
    const tr = await run1((g) => ops.trace(g.placeholder('float64', [2, 3, 4], 'x')), { x: X });
    expect(Array.from(tr.data)).toEqual([33, 333]);
    const withInf = await run1((g) => ops.trace(g.placeholder('float32', [2, 2], 'y')), { y: tensor([1, Infinity, -Infinity, 2], [2, 2]) });
    expect(Array.from(withInf.data)).toEqual([3]);
  });

  test('matrixDiag builds square matrices; matrixSetDiag replaces the diagonal of wide and tall ones', async () => {
    const d = await run1((g) => ops.matrixDiag(g.placeholder('int32', [2, 2], 'd')), { d: tensor([1, 2, 3, 4], [2, 2], 'int32') });
    expect(d.shape).toEqual([2, 2, 2]);
    expect(Array.from(d.data)).toEqual([1, 0, 0, 2, 3, 0, 0, 4]);
    const diagonal = tensor([-1, -2, -3, -4, -5, -6], [2, 3], 'float64');
    const set = await run1((g) => ops.matrixSetDiag(g.placeholder('float64', [2, 3, 4], 'x'), g.placeholder('float64', [2, 3], 'd')), { x: X, d: diagonal });
    expect(Array.from(set.data.slice(0, 12))).toEqual([-1, 1, 2, 3, 10, -2, 12, 13, 20, 21, -3, 23]);
    const tall = await run1((g) => ops.matrixSetDiag(ops.transpose(g.placeholder('float64', [2, 3, 4], 'x'), [0, 2, 1]), g.placeholder('float64', [2, 3], 'd')), { x: X, d: diagonal });
    expect(tall.shape).toEqual([2, 4, 3]);
    expect(Array.from(tall.data.slice(0, 12))).toEqual([-1, 10, 20, 1, -2, 21, 2, 12, -3, 3, 13, 23]);
  });

  test('sizes are checked when the graph is built', () => {
    const g = new Graph();
    expect(() => ops.matrixDiagPart(g.placeholder('float32', [3, null], 'a'))).toThrow(/needs known matrix sizes/);
    expect(() => ops.matrixDiag(g.placeholder('float32', [null], 'b'))).toThrow(ShapeError);
    expect(() => ops.matrixSetDiag(g.placeholder('float32', [3, 4], 'c'), g.placeholder('float32', [4], 'd'))).toThrow(/must end in min\(m, n\) = 3/);
    expect(() => ops.matrixBandPart(g.placeholder('float32', [5], 'e'), 1, 1)).toThrow(ShapeError);
  });

  test('gradients (float64, central differences)', async () => {
    await checkGradients((x) => ops.matrixBandPart(x, 1, 2), [values([2, 4, 5], 1)]);
    await checkGradients((x) => ops.matrixDiagPart(x), [values([2, 5, 3], 2)]);
    await checkGradients((x) => ops.trace(x), [values([3, 4, 4], 3)]);
    await checkGradients((d) => ops.matrixDiag(d), [values([2, 3], 4)]);
    await checkGradients((x, d) => ops.matrixSetDiag(x, d), [values([2, 4, 3], 5), values([2, 3], 6)]);
  });
});
