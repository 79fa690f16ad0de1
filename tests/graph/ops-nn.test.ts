import { DType, Graph, Session, ShapeError, SymbolicTensor, TensorValue, ops, tensor } from 'graphc';
import { naiveConv, samePads } from './conv-reference';

/** Builds `f(placeholders)` (shapes left unknown) and runs it once on the cpu backend. */
async function run(inputs: TensorValue[], f: (...xs: SymbolicTensor[]) => SymbolicTensor): Promise<TensorValue> {
  const g = new Graph();
  const xs = inputs.map((v, i) => g.placeholder(v.dtype, v.shape.map(() => null), `in${i}`));
  const y = f(...xs);
  const feeds = Object.fromEntries(inputs.map((v, i) => [`in${i}`, v]));
  return new Session(g, { optimize: 0 }).run(y, feeds);
}

const f32 = (data: ArrayLike<number> | number[], shape = [data.length]): TensorValue => tensor(Array.from(data), shape, 'float32');
const f64 = (data: ArrayLike<number> | number[], shape = [data.length]): TensorValue => tensor(Array.from(data), shape, 'float64');

function expectClose(actual: TensorValue, expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual.data.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual.data[i];
    if (Math.abs(a - e) > tol * Math.max(1, Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (tolerance ${tol})`);
    }
  }
}

/** Deterministic pseudo-random values in [-1, 1) for reference comparisons. */
function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

// ---- independent references: plain loops over the definitions (conv-reference.ts) -----------

// ---- softmax ---------------------------------------------------------------------------------

describe('softmax and logSoftmax', () => {
  test('hand-computed rows, and stability at large logits', async () => {
    // exp(x - 3) = [e^-2, e^-1, 1]; sum = 1.5032147244
    const y = await run([f32([1, 2, 3, 1000, 1000, 1000], [2, 3])], (x) => ops.softmax(x));
    expect(y.shape).toEqual([2, 3]);
    expectClose(y, [0.09003057, 0.24472847, 0.66524096, 1 / 3, 1 / 3, 1 / 3]);
    const l = await run([f64([1, 2, 3, -1000, 0, 1000], [2, 3])], (x) => ops.logSoftmax(x));
    expectClose(l, [-2.40760596, -1.40760596, -0.40760596, -2000, -1000, 0], 1e-8);
  });

  test('along a non-last axis', async () => {
    // columns [1, 3] and [2, 5]: softmax = [1/(1+e^2), e^2/(1+e^2)], [1/(1+e^3), e^3/(1+e^3)]
    const y = await run([f64([1, 2, 3, 5], [2, 2])], (x) => ops.softmax(x, 0));
    expectClose(y, [0.11920292, 0.04742587, 0.88079708, 0.95257413], 1e-7);
    const x3 = values(2 * 3 * 4, 3);
    const z = await run([f64(x3, [2, 3, 4])], (x) => ops.logSoftmax(x, 1));
    const expected: number[] = new Array(24);
    for (let o = 0; o < 2; o++)
      for (let i = 0; i < 4; i++) {
        const col = [0, 1, 2].map((a) => x3[o * 12 + a * 4 + i]);
        const lse = Math.log(col.reduce((s, v) => s + Math.exp(v), 0));
        col.forEach((v, a) => (expected[o * 12 + a * 4 + i] = v - lse));
      }
    expectClose(z, expected, 1e-12);
  });

  test('rejects integer inputs and bad axes at build time', () => {
    const g = new Graph();
    expect(() => ops.softmax(g.placeholder('int32', [2, 3], 'i'))).toThrow(/softmax.*float32 or float64/);
    expect(() => ops.softmax(g.placeholder('float32', [2, 3], 'x'), 2)).toThrow(/axis 2 is out of range for rank 2/);
  });
});

// ---- conv2d ----------------------------------------------------------------------------------

describe('conv2d', () => {
  const img = f32([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);

  test('hand-computed VALID, SAME and strided SAME', async () => {
    const diag = f32([1, 0, 0, 1], [2, 2, 1, 1]);
    const v = await run([img, diag], (x, f) => ops.conv2d(x, f, 1, 'VALID'));
    expect(v.shape).toEqual([1, 2, 2, 1]);
    expectClose(v, [6, 8, 12, 14]);
    const ones = f32(new Array(9).fill(1), [3, 3, 1, 1]);
    const s = await run([img, ones], (x, f) => ops.conv2d(x, f, 1, 'SAME'));
    expectClose(s, [12, 21, 16, 27, 45, 33, 24, 39, 28]);
    // out ceil(3/2) = 2, total padding 2 -> one row/column each side: windows centred on corners
    const s2 = await run([img, ones], (x, f) => ops.conv2d(x, f, 2, 'SAME'));
    expect(s2.shape).toEqual([1, 2, 2, 1]);
    expectClose(s2, [12, 16, 24, 28]);
  });

  test('SAME pads the extra row and column at the bottom/right, as TensorFlow', async () => {
    // 1x4 input, kernel width 2: total padding 1 goes right; out[j] = x[j] + x[j+1] (x[4] = 0)
    const x = f32([1, 2, 3, 4], [1, 1, 4, 1]);
    const y = await run([x, f32([1, 1], [1, 2, 1, 1])], (a, f) => ops.conv2d(a, f, 1, 'SAME'));
    expectClose(y, [3, 5, 7, 4]);
  });

  test('explicit padding and dilation (hand-computed)', async () => {
    // pad 1 on the left only; filter [1, 10] dilated by 2 -> out[j] = xp[j] + 10 * xp[j + 2]
    const x = f32([1, 2, 3, 4], [1, 1, 4, 1]);
    const y = await run([x, f32([1, 10], [1, 2, 1, 1])], (a, f) =>
      ops.conv2d(a, f, 1, [[0, 0], [1, 0]], { dilations: [1, 2] }),
    );
    // xp = [0, 1, 2, 3, 4], out width (5 - 3) + 1 = 3
    expect(y.shape).toEqual([1, 1, 3, 1]);
    expectClose(y, [0 + 20, 1 + 30, 2 + 40]);
  });

  const cases: { name: string; x: number[]; f: number[]; s: [number, number]; d: [number, number]; pad: 'SAME' | 'VALID' | number[][] }[] = [
    { name: '3x3 SAME, multi-channel, batch 2', x: [2, 7, 6, 3], f: [3, 3, 3, 5], s: [1, 1], d: [1, 1], pad: 'SAME' },
    { name: '3x3 stride 2 VALID', x: [1, 9, 8, 4], f: [3, 3, 4, 6], s: [2, 2], d: [1, 1], pad: 'VALID' },
    { name: '2x3 strides [2, 1], dilation [2, 1], SAME', x: [1, 10, 7, 2], f: [2, 3, 2, 3], s: [2, 1], d: [2, 1], pad: 'SAME' },
    { name: 'explicit padding', x: [2, 5, 5, 3], f: [3, 2, 3, 4], s: [1, 2], d: [1, 1], pad: [[2, 0], [1, 3]] },
    { name: '1x1 pointwise (no im2col)', x: [2, 4, 5, 6], f: [1, 1, 6, 7], s: [1, 1], d: [1, 1], pad: 'VALID' },
    { name: '1x1 stride 2', x: [1, 5, 5, 3], f: [1, 1, 3, 2], s: [2, 2], d: [1, 1], pad: 'SAME' },
    // K = 3*3*30 = 270: the second k-block starts inside a tap (256 % 30 = 16); 484 rows span several
    // row blocks; Cout 9 leaves edge tiles in the GEMM
    { name: 'K beyond one k-block, many row blocks', x: [1, 22, 22, 30], f: [3, 3, 30, 9], s: [1, 1], d: [1, 1], pad: 'SAME' },
    { name: 'batch 3, 3x3 stride 2, K = 576', x: [3, 9, 9, 64], f: [3, 3, 64, 8], s: [2, 2], d: [1, 1], pad: 'SAME' },
    // few channels: a window row's taps inside the image are copied as one run, cut at the image's
    // edges and, here (K = 9*11*3 = 297), at the k-block boundary 256 in the middle of a run
    { name: 'one channel, 3x3 SAME, batch 2', x: [2, 9, 9, 1], f: [3, 3, 1, 4], s: [1, 1], d: [1, 1], pad: 'SAME' },
    { name: '9x11 window over 3 channels, K across a k-block', x: [1, 12, 13, 3], f: [9, 11, 3, 4], s: [1, 2], d: [1, 1], pad: 'SAME' },
  ];

  for (const c of cases) {
    test(`matches a naive loop: ${c.name}`, async () => {
      const xv = values(c.x.reduce((a, b) => a * b), 11);
      const fv = values(c.f.reduce((a, b) => a * b), 29);
      const pads =
        c.pad === 'SAME'
          ? samePads(c.x[1], c.x[2], c.f[0], c.f[1], c.s, c.d)
          : c.pad === 'VALID'
            ? { top: 0, bottom: 0, left: 0, right: 0 }
            : { top: c.pad[0][0], bottom: c.pad[0][1], left: c.pad[1][0], right: c.pad[1][1] };
      const ref = naiveConv(xv, c.x, fv, c.f, c.s, c.d, pads);
      const pad = c.pad as Parameters<typeof ops.conv2d>[3];
      const y64 = await run([f64(xv, c.x), f64(fv, c.f)], (x, f) => ops.conv2d(x, f, c.s, pad, { dilations: c.d }));
      expect(y64.shape).toEqual(ref.shape);
      expect(y64.dtype).toBe('float64');
      expectClose(y64, ref.data, 1e-12);
      const y32 = await run([f32(xv, c.x), f32(fv, c.f)], (x, f) => ops.conv2d(x, f, c.s, pad, { dilations: c.d }));
      expect(y32.dtype).toBe('float32');
      expectClose(y32, ref.data, 1e-5);
    });
  }

  test('infers shapes with unknown dims and rejects bad configurations naming the node', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 28, 28, 3], 'x');
    const w = g.placeholder('float32', [5, 5, 3, 16], 'w');
    expect(ops.conv2d(x, w, 2, 'SAME').shape).toEqual([null, 14, 14, 16]);
    expect(ops.conv2d(x, w, 1, 'VALID').shape).toEqual([null, 24, 24, 16]);
    expect(ops.conv2d(x, w, [1, 2, 2, 1], 'VALID').shape).toEqual([null, 12, 12, 16]);
    expect(ops.conv2d(g.placeholder('float32', [1, null, 9, 3]), w, 1, 'SAME').shape).toEqual([1, null, 9, 16]);
    const bad = g.placeholder('float32', [5, 5, 4, 16], 'bad');
    expect(() => ops.conv2d(x, bad, 1, 'SAME', {}, 'myconv')).toThrow(ShapeError);
    expect(() => ops.conv2d(x, bad, 1, 'SAME', {}, 'myconv')).toThrow(/node 'myconv.*3 channels but the filter expects 4/);
    const small = g.placeholder('float32', [1, 3, 3, 3]);
    expect(() => ops.conv2d(small, w, 1, 'VALID')).toThrow(/window \(5, dilated to 5\) is larger than the padded input height \(3\)/);
    expect(() => ops.conv2d(x, w, 0, 'SAME')).toThrow(/strides must be positive/);
    expect(() => ops.conv2d(x, w, 1, 'FULL' as 'SAME')).toThrow(/padding must be/);
    expect(() => ops.conv2d(g.placeholder('int32', [1, 4, 4, 3]), g.placeholder('int32', [1, 1, 3, 1]), 1, 'SAME')).toThrow(/float32 or float64/);
  });

  test('a run-time channel mismatch is a ShapeError naming the node', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [1, 3, 3, null], 'x');
    const w = g.constant(tensor(new Float32Array(8), [1, 1, 2, 4]));
    const y = ops.conv2d(x, w, 1, 'SAME', {}, 'c1');
    await expect(new Session(g).run(y, { x: tensor(new Float32Array(27), [1, 3, 3, 3]) })).rejects.toThrow(/'c1'.*3 channels/);
  });
});

// ---- depthwiseConv2d -------------------------------------------------------------------------

describe('depthwiseConv2d', () => {
  test('hand-computed 1x1 with channel multiplier 2', async () => {
    // x pixel channels (1, 10); filter[c][m] = [[1, 2], [3, 4]] -> out = [1, 2, 30, 40]
    const x = f32([1, 10, 2, 20], [1, 1, 2, 2]);
    const y = await run([x, f32([1, 2, 3, 4], [1, 1, 2, 2])], (a, f) => ops.depthwiseConv2d(a, f, 1, 'VALID'));
    expect(y.shape).toEqual([1, 1, 2, 4]);
    expectClose(y, [1, 2, 30, 40, 2, 4, 60, 80]);
  });

  // float32 with multiplier 1 and channels a multiple of 4 runs on WebAssembly SIMD, one call per run
  // of pixels whose windows keep the same taps, 16, 8 or 4 channels at a time, a band of output rows
  // at a time: strides, dilations and padding that cut the windows at both edges, windows wholly in
  // explicit padding (zeros), and an image of three bands
  type Pair = [number, number];
  for (const c of [
    { x: [1, 70, 64, 32], f: [3, 3, 32, 1], s: [1, 1] as Pair, d: [1, 1] as Pair, pad: 'SAME' as const },
    { x: [2, 9, 10, 24], f: [3, 3, 24, 1], s: [2, 1] as Pair, d: [1, 2] as Pair, pad: 'SAME' as const },
    { x: [1, 3, 4, 16], f: [2, 1, 16, 1], s: [1, 1] as Pair, d: [1, 1] as Pair, pad: [3, 2, 1, 2] },
    { x: [2, 7, 6, 3], f: [3, 3, 3, 2], s: [2, 2] as Pair, d: [1, 1] as Pair, pad: 'SAME' as const },
    { x: [1, 8, 9, 4], f: [2, 3, 4, 1], s: [1, 1] as Pair, d: [2, 2] as Pair, pad: 'VALID' as const },
    { x: [2, 9, 11, 8], f: [3, 3, 8, 1], s: [1, 1] as Pair, d: [1, 1] as Pair, pad: 'SAME' as const },
    { x: [1, 10, 13, 12], f: [5, 3, 12, 1], s: [2, 3] as Pair, d: [1, 2] as Pair, pad: 'SAME' as const },
    { x: [3, 6, 7, 4], f: [3, 2, 4, 1], s: [1, 2] as Pair, d: [2, 1] as Pair, pad: 'VALID' as const },
    { x: [1, 5, 5, 6], f: [3, 3, 6, 1], s: [1, 1] as Pair, d: [1, 1] as Pair, pad: 'SAME' as const },
  ]) {
    test(`matches a naive loop: x ${c.x}, filter ${c.f}, strides ${c.s}, dilations ${c.d}, ${c.pad}`, async () => {
      const xv = values(c.x.reduce((a, b) => a * b), 5);
      const fv = values(c.f.reduce((a, b) => a * b), 6);
      const pads = Array.isArray(c.pad)
        ? { top: c.pad[0], bottom: c.pad[1], left: c.pad[2], right: c.pad[3] }
        : c.pad === 'SAME' ? samePads(c.x[1], c.x[2], c.f[0], c.f[1], c.s, c.d) : { top: 0, bottom: 0, left: 0, right: 0 };
      const ref = naiveConv(xv, c.x, fv, c.f, c.s, c.d, pads, true);
      const y = await run([f64(xv, c.x), f64(fv, c.f)], (x, f) => ops.depthwiseConv2d(x, f, c.s, c.pad, { dilations: c.d }));
      expect(y.shape).toEqual(ref.shape);
      expectClose(y, ref.data, 1e-12);
      const y32 = await run([f32(xv, c.x), f32(fv, c.f)], (x, f) => ops.depthwiseConv2d(x, f, c.s, c.pad, { dilations: c.d }));
      expect(y32.dtype).toBe('float32');
      expectClose(y32, ref.data, 1e-5);
    });
  }

  test('infers C * M output channels', () => {
    const g = new Graph();
    const y = ops.depthwiseConv2d(g.placeholder('float32', [null, 10, 10, 8]), g.placeholder('float32', [3, 3, 8, 3]), 1, 'SAME');
    expect(y.shape).toEqual([null, 10, 10, 24]);
  });
});

// ---- pooling ---------------------------------------------------------------------------------

describe('maxPool and avgPool', () => {
  const x16 = f32(Array.from({ length: 16 }, (_, i) => i + 1), [1, 4, 4, 1]);
  const x9 = Array.from({ length: 9 }, (_, i) => i + 1);

  test('2x2 stride 2 VALID (hand-computed)', async () => {
    expectClose(await run([x16], (x) => ops.maxPool(x, 2, 2, 'VALID')), [6, 8, 14, 16]);
    expectClose(await run([x16], (x) => ops.avgPool(x, 2, 2, 'VALID')), [3.5, 5.5, 11.5, 13.5]);
  });

  test('SAME avgPool divides by the cells inside the input, not the window size', async () => {
    const y = await run([f32(x9, [1, 3, 3, 1])], (x) => ops.avgPool(x, 3, 1, 'SAME'));
    // corner (1+2+4+5)/4 = 3; edge (1+2+3+4+5+6)/6 = 3.5; centre 45/9 = 5
    expectClose(y, [3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]);
  });

  test('maxPool: a NaN anywhere in the window wins (first cell or later), -Infinity windows stay -Infinity', async () => {
    const x = f32([NaN, 1, 2, 3, 4, 5, NaN, 7, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, 0, 0], [1, 4, 4, 1]);
    const y = await run([x], (t) => ops.maxPool(t, 2, 2, 'VALID'));
    expect(Array.from(y.data)).toEqual([NaN, NaN, -Infinity, 0]);
  });

  test('float32 maxPool is exact at the extremes: a tiny maximum beside a huge negative value, infinities, subnormals', async () => {
    const tiny = 2 ** -100;
    const sub = 1.401298464324817e-45;
    const huge = 3.4028234663852886e38;
    // 2x2 windows over [1, 2, 12, 1]: columns 2j and 2j + 1 of both rows are window j
    const top = [-(2 ** 100), -Infinity, Infinity, -Infinity, -huge, sub, huge, -huge, 1, 0.1, 7, -3];
    const bottom = [tiny, -Infinity, -Infinity, -Infinity, -Infinity, -sub, 2 ** 60, 2 ** -60, 1 - 2 ** -24, -0.1, 7, -2.5];
    const y = await run([f32([...top, ...bottom], [1, 2, 12, 1])], (t) => ops.maxPool(t, 2, 2, 'VALID'));
    expect(Array.from(y.data)).toEqual([tiny, Infinity, sub, huge, 1, 7].map(Math.fround));
    // the same windows in float64 (the comparing path) agree
    const y64 = await run([f64([...top, ...bottom], [1, 2, 12, 1])], (t) => ops.maxPool(t, 2, 2, 'VALID'));
    expect(Array.from(y64.data)).toEqual([tiny, Infinity, sub, huge, 1, 7]);
  });

  test('SAME maxPool never picks a padded cell', async () => {
    const y = await run([f32(x9.map((v) => -v), [1, 3, 3, 1])], (x) => ops.maxPool(x, 3, 1, 'SAME'));
    expectClose(y, [-1, -1, -2, -1, -1, -2, -4, -4, -5]);
  });

  test('per-channel pooling with batch, strides and int32 max', async () => {
    // two channels: c0 = i, c1 = -i over a 1x2x3 image; maxPool [1, 2] stride [1, 2] SAME
    const data = [0, 0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5];
    const y = await run([tensor(data, [1, 2, 3, 2], 'int32')], (x) => ops.maxPool(x, [1, 2], [1, 2], 'SAME'));
    // out width ceil(3/2) = 2, total padding 1 -> right; windows cols {0,1}, {2}
    expect(y.shape).toEqual([1, 2, 2, 2]);
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.data)).toEqual([1, 0, 2, -2, 4, -3, 5, -5]);
  });

  test('shape inference and errors', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 7, 7, 3]);
    expect(ops.maxPool(x, 2, 2, 'SAME').shape).toEqual([null, 4, 4, 3]);
    expect(ops.avgPool(x, 3, 2, 'VALID').shape).toEqual([null, 3, 3, 3]);
    expect(() => ops.avgPool(g.placeholder('float32', [7, 7, 3]), 2, 2, 'SAME')).toThrow(/rank 4/);
    expect(() => ops.maxPool(x, 8, 1, 'VALID')).toThrow(/larger than the padded input/);
  });
});

// ---- batchNorm -------------------------------------------------------------------------------

describe('batchNorm', () => {
  test('per-channel statistics (hand-computed)', async () => {
    // (x - mean) * scale / sqrt(var + eps) + offset with mean [2, 3], var [1, 4], offset [0.5, -1], scale [2, 1]
    const y = await run([f32([1, 2, 3, 4], [2, 2]), f32([2, 3]), f32([1, 4]), f32([0.5, -1]), f32([2, 1])], (x, m, v, o, s) =>
      ops.batchNorm(x, m, v, o, s, 0),
    );
    expectClose(y, [-1.5, -1.5, 2.5, -0.5]);
  });

  test('null offset and scale, epsilon, NHWC input', async () => {
    // var 3 + eps 1 -> divide by 2
    const y = await run([f32([1, 5, 9, 13], [1, 2, 1, 2]), f32([1, 1]), f32([3, 3])], (x, m, v) => ops.batchNorm(x, m, v, null, null, 1));
    expect(y.shape).toEqual([1, 2, 1, 2]);
    expectClose(y, [0, 2, 4, 6]);
  });

  test('statistics broadcast along another axis', async () => {
    // mean/var per row ([2, 1]): row 0 mean 1 var 1; row 1 mean 10 var 0.25; scalar offset 1
    const y = await run([f64([1, 3, 10, 11], [2, 2]), f64([1, 10], [2, 1]), f64([1, 0.25], [2, 1])], (x, m, v) =>
      ops.batchNorm(x, m, v, 1, 3, 0),
    );
    expectClose(y, [1, 7, 1, 7], 1e-12);
  });

  test('statistics must not enlarge x', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 1]);
    expect(() => ops.batchNorm(x, g.placeholder('float32', [3]), 1, null, null, 1e-3)).toThrow(/must broadcast to x \[4, 1\]/);
  });
});

// ---- dropout ---------------------------------------------------------------------------------

describe('dropout', () => {
  const build = () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2000], 'x');
    return { g, y: ops.dropout(x, 0.25, 42) };
  };
  const ones = tensor(new Float32Array(2000).fill(1), [2000]);

  test('zeros about `rate` of the elements and scales the rest by 1 / (1 - rate)', async () => {
    const { g, y } = build();
    const out = await new Session(g).run(y, { x: ones });
    let zeros = 0;
    for (const v of out.data) {
      if (v === 0) zeros++;
      else expect(v).toBeCloseTo(4 / 3, 6);
    }
    // binomial(2000, 0.25): sd ~19.4, so +-100 is ~5 sd
    expect(zeros).toBeGreaterThan(400);
    expect(zeros).toBeLessThan(600);
  });

  test('seeded: a new session replays the masks; successive runs draw new ones', async () => {
    const { g, y } = build();
    const s1 = new Session(g);
    const a1 = await s1.run(y, { x: ones });
    const a2 = await s1.run(y, { x: ones });
    const s2 = new Session(g);
    const b1 = await s2.run(y, { x: ones });
    const b2 = await s2.run(y, { x: ones });
    expect(Array.from(b1.data)).toEqual(Array.from(a1.data));
    expect(Array.from(b2.data)).toEqual(Array.from(a2.data));
    expect(Array.from(a2.data)).not.toEqual(Array.from(a1.data));
  });

  test('rate 0 is the identity; rate outside [0, 1) is rejected', async () => {
    const y = await run([f32([1, -2, 3])], (x) => ops.dropout(x, 0));
    expectClose(y, [1, -2, 3]);
    const g = new Graph();
    expect(() => ops.dropout(g.placeholder('float32', [3]), 1)).toThrow(/rate must be in \[0, 1\)/);
  });
});

// ---- cross entropies -------------------------------------------------------------------------

describe('cross entropy with logits', () => {
  test('sparseSoftmaxCrossEntropyWithLogits (hand-computed, int32 and int64 labels)', async () => {
    // row 0: logsumexp([1,2,3]) - 3 = 0.40760596; row 1: log 3; row 2: stable at large logits -> 1000
    const logits = f32([1, 2, 3, 1, 1, 1, 1000, 0, 0], [3, 3]);
    for (const dt of ['int32', 'int64'] as DType[]) {
      const y = await run([tensor([2, 0, 1], [3], dt), logits], (l, x) => ops.sparseSoftmaxCrossEntropyWithLogits(l, x));
      expect(y.shape).toEqual([3]);
      expectClose(y, [0.40760596, 1.09861229, 1000], 1e-6);
    }
  });

  test('sparse labels out of range fail at run time, naming the node', async () => {
    const g = new Graph();
    const y = ops.sparseSoftmaxCrossEntropyWithLogits(g.placeholder('int32', [2], 'l'), g.placeholder('float32', [2, 3], 'x'), 'xent');
    await expect(new Session(g).run(y, { l: tensor([0, 3], [2], 'int32'), x: new Float32Array(6) })).rejects.toThrow(
      /'xent'.*label 3 at row 1 is outside the 3 classes/,
    );
  });

  test('sparse: constant labels become int32; shapes are checked', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 4]);
    expect(ops.sparseSoftmaxCrossEntropyWithLogits([1, 2], x).shape).toEqual([2]);
    expect(() => ops.sparseSoftmaxCrossEntropyWithLogits(g.placeholder('int32', [3, 1]), x)).toThrow(/labels must have the shape of logits without/);
    expect(() => ops.sparseSoftmaxCrossEntropyWithLogits(g.placeholder('float32', [3]), x)).toThrow(/int32 or int64/);
  });

  test('softmaxCrossEntropyWithLogits (hand-computed)', async () => {
    // row 0: one-hot on class 2 -> 0.40760596; row 1: 0.5 * 2.40760596 + 0.5 * 1.40760596
    const y = await run([f32([0, 0, 1, 0.5, 0.5, 0], [2, 3]), f32([1, 2, 3, 1, 2, 3], [2, 3])], (l, x) =>
      ops.softmaxCrossEntropyWithLogits(l, x),
    );
    expect(y.shape).toEqual([2]);
    expectClose(y, [0.40760596, 1.90760596]);
  });

  test('sigmoidCrossEntropyWithLogits (hand-computed, stable for large |logits|)', async () => {
    // z=0,x=0: log 2; z=1,x=2: log(1+e^-2); z=1,x=-100: 100 + log1p(e^-100); z=0,x=100: 100; z=0.25,x=1: 1 - 0.25 + log(1+e^-1)
    const y = await run([f64([0, 1, 1, 0, 0.25]), f64([0, 2, -100, 100, 1])], (z, x) => ops.sigmoidCrossEntropyWithLogits(z, x));
    expectClose(y, [0.69314718056, 0.12692801104, 100, 100, 0.75 + 0.31326168752], 1e-10);
    const g = new Graph();
    expect(() => ops.sigmoidCrossEntropyWithLogits(g.placeholder('float32', [2]), g.placeholder('float32', [3]))).toThrow(/same shape/);
  });
});
