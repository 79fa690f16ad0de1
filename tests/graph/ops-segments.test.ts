import { DTypeError, Graph, Session, ShapeError, TensorValue, checkGradients, ops, tensor } from 'graphc';
import { distinct, values } from '../passes/autodiff/helpers';

/** The reference: each row of `data` (rows of `rowSize` after ids.length leading elements) combined into its segment. */
function segmentReference(data: ArrayLike<number>, ids: number[], numSegments: number, rowSize: number, how: 'sum' | 'max' | 'min' | 'mean', empty: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < numSegments; s++) {
    const members = ids.flatMap((id, i) => (id === s ? [i] : []));
    for (let k = 0; k < rowSize; k++) {
      const column = members.map((i) => data[i * rowSize + k]);
      if (!column.length) out.push(empty);
      else if (how === 'max') out.push(Math.max(...column));
      else if (how === 'min') out.push(Math.min(...column));
      else out.push(column.reduce((a, b) => a + b, 0) / (how === 'mean' ? column.length : 1));
    }
  }
  return out;
}

async function runOnce(build: (g: Graph) => ReturnType<typeof ops.unsortedSegmentSum>, feeds: Record<string, TensorValue> = {}): Promise<TensorValue> {
  const g = new Graph();
  const y = build(g);
  return new Session(g).run(y, feeds);
}

describe('unsorted segment reductions (tf.math.unsorted_segment_*)', () => {
  const data = values([6, 3], 4, -5, 5);
  const ids = [0, 3, 0, -1, 3, 1];
  const FLOAT32_MAX = 3.4028234663852886e38;

  test.each([
    ['sum', ops.unsortedSegmentSum, 0],
    ['max', ops.unsortedSegmentMax, -Number.MAX_VALUE],
    ['min', ops.unsortedSegmentMin, Number.MAX_VALUE],
    ['mean', ops.unsortedSegmentMean, 0],
  ] as const)('%s: rows by segment, segment 2 empty, the row of id -1 dropped', async (how, reduce, empty) => {
    const g = new Graph();
    const x = g.placeholder('float64', [6, 3], 'x');
    const out = await new Session(g).run(reduce(x, tensor(ids, [6], 'int32'), 4), { x: data });
    expect(out.shape).toEqual([4, 3]);
    const expected = segmentReference(data.data, ids, 4, 3, how, empty);
    expected.forEach((e, i) => expect(out.data[i]).toBeCloseTo(e, 12));
  });

  test('ids over two leading dimensions, fed at run time, with the rows of unknown size', async () => {
    const x = values([2, 3, 2], 7);
    const idValues = [1, 0, 1, -2, 2, 1];
    const g = new Graph();
    const data = g.placeholder('float64', [null, null, null], 'x');
    const segmentIds = g.placeholder('int64', [null, null], 'ids');
    const [sum, max] = await new Session(g).run([ops.unsortedSegmentSum(data, segmentIds, 4), ops.unsortedSegmentMax(data, segmentIds, 4)], {
      x,
      ids: tensor(idValues, [2, 3], 'int64'),
    });
    expect(sum.shape).toEqual([4, 2]);
    segmentReference(x.data, idValues, 4, 2, 'sum', 0).forEach((e, i) => expect(sum.data[i]).toBeCloseTo(e, 12));
    segmentReference(x.data, idValues, 4, 2, 'max', -Number.MAX_VALUE).forEach((e, i) => expect(max.data[i]).toBeCloseTo(e, 12));
  });

  test("an empty segment holds the dtype's identity: float32's and int32's extremes for max and min", async () => {
    const x = tensor([4, -7, 2], [3], 'int32');
    const [max, min] = await runOnce((g) => {
      const d = g.constant(x);
      return ops.concat([ops.unsortedSegmentMax(d, [1, 1, 0], 3), ops.unsortedSegmentMin(d, [1, 1, 0], 3)]);
    }).then((t) => [Array.from(t.data.slice(0, 3)), Array.from(t.data.slice(3))]);
    expect(max).toEqual([2, 4, -2147483648]);
    expect(min).toEqual([2, -7, 2147483647]);
    const f = await runOnce((g) => ops.unsortedSegmentMax(g.constant(tensor([1.5], [1])), [0], 2));
    expect(Array.from(f.data)).toEqual([1.5, -FLOAT32_MAX]);
  });

  test('gradients: sum and mean spread each segment back to its rows, max and min go to the winning rows', async () => {
    const segmentIds = tensor([2, 0, 2, -1, 0, 2, 1], [7], 'int32');
    for (const reduce of [ops.unsortedSegmentSum, ops.unsortedSegmentMean, ops.unsortedSegmentMax, ops.unsortedSegmentMin]) {
      // distinct values, so no two rows of a segment tie; every segment has a row (an empty max segment's
      // lowest float would overflow the differences); the weights make each output element count differently
      await checkGradients((d, i) => ops.mul(reduce(d, i, 3), values([3, 2], 9)), [distinct([7, 2], 5), segmentIds], { wrt: [0] });
    }
  });

  test('bad ids and sizes are named errors', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 2], 'x');
    expect(() => ops.unsortedSegmentSum(x, tensor([0, 1, 0, 1], [4], 'float32'), 2)).toThrow(DTypeError);
    expect(() => ops.unsortedSegmentSum(x, [0, 1, 0], 2)).toThrow(ShapeError);
    expect(() => ops.unsortedSegmentSum(x, [0, 1, 0, 1], 1.5)).toThrow(/numSegments/);
    expect(() => ops.unsortedSegmentMean(g.placeholder('int32', [2], 'n'), [0, 1], 2)).toThrow(DTypeError);
    const y = ops.unsortedSegmentSum(x, [0, 1, 0, 5], 2, 'segments');
    await expect(new Session(g).run(y, { x: tensor(new Float32Array(8), [4, 2]) })).rejects.toThrow(/segments.*index 5 is out of range/);
  });
});
