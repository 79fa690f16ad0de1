import { Graph, Session, ShapeError, TensorValue, checkGradients, ops, tensor } from 'graphc';
import { values } from '../passes/autodiff/helpers';

/** tensordot, depthToSpace / spaceToDepth, separableConv2d, confusionMatrix and bincount (TensorFlow's names). */

async function run(build: (g: Graph) => ReturnType<typeof ops.tensordot>[], feeds: Record<string, TensorValue> = {}): Promise<TensorValue[]> {
  const g = new Graph();
  return new Session(g).run(build(g), feeds);
}

/** Sum over k of a[..., k] b[k, ...] for a [I, K] and b [K, J] given flat, row-major. */
function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, I: number, K: number, J: number): number[] {
  return Array.from({ length: I * J }, (_, e) => {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[Math.floor(e / J) * K + k] * b[k * J + (e % J)];
    return s;
  });
}

describe('tensordot', () => {
  const a = values([2, 3, 4], 1);
  const b = values([3, 4, 5], 2);

  test('axes 2 (a matmul of the flattened pairs), axes 0 (an outer product), and lists of axes out of order', async () => {
    const [two, zero, listed] = await run((g) => {
      const [x, y] = [g.placeholder('float64', [2, 3, 4], 'a'), g.placeholder('float64', [3, 4, 5], 'b')];
      return [ops.tensordot(x, y, 2), ops.tensordot(ops.reshape(x, [24]), ops.reshape(y, [60]), 0), ops.tensordot(y, x, [[1, 0], [2, 1]])];
    }, { a, b });
    expect(two.shape).toEqual([2, 5]);
    matmulRef(a.data, b.data, 2, 12, 5).forEach((v, i) => expect(two.data[i]).toBeCloseTo(v, 12));
    expect(zero.shape).toEqual([24, 60]);
    expect(zero.data[5 * 60 + 7]).toBeCloseTo(a.data[5] * b.data[7], 14);
    // y's axes (1, 0) with x's (2, 1): result [5 (y's axis 2), 2 (x's axis 0)] = two transposed
    expect(listed.shape).toEqual([5, 2]);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 5; j++) expect(listed.data[j * 2 + i]).toBeCloseTo(two.data[i * 5 + j], 12);
  });

  test('an unknown batch passes through; mismatched or unknown summed axes are ShapeErrors', async () => {
    const [out] = await run((g) => [ops.tensordot(g.placeholder('float64', [null, 3, 4], 'a'), g.placeholder('float64', [3, 4, 5], 'b'), 2)], { a, b });
    expect(out.shape).toEqual([2, 5]);
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3], 'x');
    expect(() => ops.tensordot(x, g.placeholder('float32', [4, 2], 'y'), 1)).toThrow(/axis 1 of a \(3\) and axis 0 of b \(4\) differ/);
    expect(() => ops.tensordot(x, g.placeholder('float32', [null, 2], 'z'), 1)).toThrow(/summed axes must be known/);
    expect(() => ops.tensordot(g.placeholder('float32', [null, 3], 'u'), g.placeholder('float32', [3, null], 'v'), 1)).toThrow(ShapeError);
    expect(() => ops.tensordot(x, x, [[0], [0, 1]])).toThrow(/differ in length/);
  });

  test('gradients (float64, central differences)', async () => {
    await checkGradients((x, y) => ops.tensordot(x, y, [[0, 2], [1, 0]]), [values([4, 2, 3], 3), values([3, 4, 2], 4)]);
  });
});

describe('depthToSpace and spaceToDepth', () => {
  test('TensorFlow\'s order: depth index (i * b + j) * c + k is pixel (i, j) of the block, channel k; the two invert each other', async () => {
    // [1, 1, 2, 8]: two pixels of 8 channels, b = 2, c = 2
    const x = tensor(Array.from({ length: 16 }, (_, e) => e), [1, 1, 2, 8], 'float32');
    const [d2s, back] = await run((g) => {
      const p = g.placeholder('float32', [null, 1, 2, 8], 'x');
      const s = ops.depthToSpace(p, 2);
      return [s, ops.spaceToDepth(s, 2)];
    }, { x });
    expect(d2s.shape).toEqual([1, 2, 4, 2]);
    // row 0: pixel 0's block row 0 ((0,0), (0,1)), then pixel 1's; row 1: their block rows 1
    expect(Array.from(d2s.data)).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15]);
    expect(Array.from(back.data)).toEqual(Array.from(x.data));
    const g = new Graph();
    expect(() => ops.depthToSpace(g.placeholder('float32', [1, 2, 2, 6], 'a'), 2)).toThrow(/6 channels do not divide/);
    expect(() => ops.spaceToDepth(g.placeholder('float32', [1, 3, 2, 6], 'b'), 2)).toThrow(/must divide by blockSize 2/);
    expect(() => ops.spaceToDepth(g.placeholder('float32', [1, 2, 2, 1], 'c'), 1)).toThrow(/at least 2/);
  });

  test('gradients', async () => {
    await checkGradients((x) => ops.depthToSpace(x, 2), [values([2, 2, 3, 8], 5)]);
    await checkGradients((x) => ops.spaceToDepth(x, 3), [values([1, 3, 6, 2], 6)]);
  });
});

describe('separableConv2d', () => {
  test('a depthwise convolution, then a 1x1 convolution: the same values as the two ops, and gradients', async () => {
    const x = values([2, 6, 6, 3], 7);
    const dw = values([3, 3, 3, 2], 8);
    const pw = values([1, 1, 6, 4], 9);
    const [sep, two] = await run((g) => {
      const p = g.placeholder('float64', [2, 6, 6, 3], 'x');
      const [d, q] = [g.constant(dw), g.constant(pw)];
      return [ops.separableConv2d(p, d, q, 2, 'SAME'), ops.conv2d(ops.depthwiseConv2d(p, d, 2, 'SAME'), q, 1, 'VALID')];
    }, { x });
    expect(sep.shape).toEqual([2, 3, 3, 4]);
    expect(Array.from(sep.data)).toEqual(Array.from(two.data));
    await checkGradients((a, d, q) => ops.separableConv2d(a, d, q, 1, 'VALID', { dilations: 2 }), [values([1, 6, 6, 2], 10), values([2, 2, 2, 1], 11), values([1, 1, 2, 3], 12)]);
  });
});

describe('confusionMatrix and bincount', () => {
  test('counts by (label, prediction), weighted and not', async () => {
    const labels = tensor([0, 1, 2, 2, 1, 0, 2], [7], 'int32');
    const preds = tensor([0, 2, 2, 1, 1, 0, 2], [7], 'int32');
    const [counts, weighted] = await run((g) => {
      const [l, p] = [g.placeholder('int32', [null], 'l'), g.placeholder('int32', [null], 'p')];
      return [ops.confusionMatrix(l, p, 3), ops.confusionMatrix(l, p, 3, tensor([1, 0.5, 2, 1, 1, 3, 0.25], [7]))];
    }, { l: labels, p: preds });
    expect(counts.dtype).toBe('int32');
    expect(Array.from(counts.data)).toEqual([2, 0, 0, 0, 1, 1, 0, 1, 2]);
    expect(weighted.dtype).toBe('float32');
    expect(Array.from(weighted.data)).toEqual([4, 0, 0, 0, 1, 0.5, 0, 1, 2.25]);
  });

  test('bincount: values at or past size are left out, weights sum', async () => {
    const [counts, weighted] = await run((g) => {
      const x = g.placeholder('int32', [2, 4], 'x');
      return [ops.bincount(x, 4), ops.bincount(x, 3, ops.cast(x, 'float32'))];
    }, { x: tensor([1, 1, 3, 7, 0, 3, 2, 1], [2, 4], 'int32') });
    expect(Array.from(counts.data)).toEqual([1, 3, 1, 2]);
    expect(Array.from(weighted.data)).toEqual([0, 3, 2]);
  });
});
