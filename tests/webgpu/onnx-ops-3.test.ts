import { Graph, SymbolicTensor, applyOp, ops, tensor } from 'graphc';
import { checkOnGpu, describeGpu, runBoth, seeded, seededInts } from './helpers';

/**
 * gridSample, maxUnpool and the workgroup scan of cumSum against the cpu backend (the reference),
 * at O0 and O2; every listed op must run on the device (no CPU fallback anywhere in the plan).
 */
const check = checkOnGpu;
const ints = seededInts;

const MODES = ['linear', 'nearest', 'cubic'] as const;
const PADDINGS = ['zeros', 'border', 'reflection'] as const;

/**
 * A grid of `points` coordinate tuples: random ones reaching past the image (|g| up to 1.7), ones
 * on a 1/8 lattice (half-pixel ties for nearest), a few far outside (up to 9 image widths), and one
 * NaN and one infinite coordinate.
 */
function gridValues(points: number, rank: number, seed: number): Float32Array {
  const v = seeded(points * rank, seed, 1.7);
  const n = v.length;
  for (let j = 0; j < n / 3; j++) v[n / 3 + j] = -1.5 + ((j * 5) % 25) * 0.125;
  const far = [-9.25, 8.6, -3.1, 4.75, 19.5, -17];
  far.forEach((f, j) => (v[n - 1 - 2 * j] = f));
  v[1] = NaN;
  v[2 * rank + 1] = Infinity;
  v[3 * rank] = -Infinity;
  return v;
}

/** Every mode, padding and alignCorners of gridSample on one x and grid; nearest outputs compared exactly. */
async function gridSampleAll(xShape: number[], gridShape: number[], seed: number): Promise<void> {
  const g = new Graph();
  const x = g.placeholder('float32', xShape, 'x');
  const grid = g.placeholder('float32', gridShape, 'grid');
  const rank = xShape.length - 2;
  const feeds = {
    x: tensor(seeded(xShape.reduce((a, b) => a * b, 1), seed, 2), xShape),
    grid: tensor(gridValues(gridShape.reduce((a, b) => a * b, 1) / rank, rank, seed + 1), gridShape),
  };
  for (const mode of MODES) {
    const outs: SymbolicTensor[] = [];
    for (const paddingMode of PADDINGS) for (const alignCorners of [false, true]) outs.push(ops.gridSample(x, grid, { mode, paddingMode, alignCorners }));
    await check(g, outs, feeds, ['gridSample'], mode === 'nearest' ? 0 : 1e-4);
  }
}

describeGpu('webgpu gridSample, maxUnpool, cumSum (scan)', () => {
  test('gridSample 2-d: every mode x padding x alignCorners, out-of-range, tie, NaN and infinite coordinates', async () => {
    await gridSampleAll([2, 3, 5, 6], [2, 6, 7, 2], 301);
  });

  test('gridSample 3-d (ties away from zero in nearest) and 1-d: every mode x padding x alignCorners', async () => {
    await gridSampleAll([1, 2, 3, 4, 5], [1, 3, 4, 5, 3], 311);
    await gridSampleAll([2, 2, 7], [2, 9, 1], 321);
  });

  test('gridSample: nearest picks where a float64 reflection lands a hair below the pixel (a 300-pixel axis)', async () => {
    // gridReflect(-1, 0, 299) is 0.9999999999999716 in float64: the pick must still be pixel 1
    const g = new Graph();
    const x = g.placeholder('float32', [1, 1, 2, 300], 'x');
    const grid = g.placeholder('float32', [1, 1, 64, 2], 'grid');
    const coords = new Float32Array(128);
    for (let j = 0; j < 64; j++) {
      coords[2 * j] = -1 - (j + 1) / 299 * 2 + (j % 3) * 1e-7;
      coords[2 * j + 1] = 1 + (j % 7) * 0.3;
    }
    const outs = [false, true].map((alignCorners) => ops.gridSample(x, grid, { mode: 'nearest', paddingMode: 'reflection', alignCorners }));
    await check(g, outs, { x: tensor(Float32Array.from({ length: 600 }, (_, i) => i), [1, 1, 2, 300]), grid: tensor(coords, [1, 1, 64, 2]) }, ['gridSample'], 0);
  });

  test('maxUnpool: maxPoolNchw indices, duplicate indices (the last wins), an output shape past the index shape, int32 indices, 3-d', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 6, 8], 'x');
    const pool = applyOp('maxPoolNchw', [x], { kernel: [2, 2], strides: [2, 2], withIndices: true });
    const v = g.placeholder('float32', [1, 2, 2, 3], 'v');
    const dup = g.placeholder('int64', [1, 2, 2, 3], 'dup');
    const dup32 = g.placeholder('int32', [1, 2, 2, 3], 'dup32');
    const v3 = g.placeholder('float32', [1, 1, 2, 2, 2], 'v3');
    const i3 = g.placeholder('int32', [1, 1, 2, 2, 2], 'i3');
    const outs = [
      ops.maxUnpool(pool.output(0), pool.output(1), [2, 3, 6, 8]),
      ops.maxUnpool(pool.output(0), pool.output(1), [2, 3, 7, 9], [2, 3, 6, 8]),
      ops.maxUnpool(v, dup, [1, 2, 4, 5]),
      ops.maxUnpool(v, dup32, [1, 2, 5, 7], [1, 2, 4, 5]),
      ops.maxUnpool(v3, i3, [1, 1, 4, 4, 4]),
    ];
    // many entries land on positions 3 and 17 (and 3 twice in a row), in both channels' ranges
    const dupIdx = [3, 17, 3, 3, 39, 0, 17, 17, 25, 3, 39, 26];
    await check(
      g,
      outs,
      {
        x: tensor(seeded(288, 331, 3), [2, 3, 6, 8]),
        v: tensor(seeded(12, 332, 5), [1, 2, 2, 3]),
        dup: tensor(dupIdx, [1, 2, 2, 3], 'int64'),
        dup32: tensor(dupIdx, [1, 2, 2, 3], 'int32'),
        v3: tensor(seeded(8, 333, 5), [1, 1, 2, 2, 2]),
        i3: tensor([63, 0, 21, 42, 21, 5, 63, 1], [1, 1, 2, 2, 2], 'int32'),
      },
      ['maxUnpool'],
      0,
    );
  });

  test('maxUnpool: a fed index out of range is the cpu error, raised before the run', async () => {
    const g = new Graph();
    const v = g.placeholder('float32', [1, 1, 2], 'v');
    const idx = g.placeholder('int32', [1, 1, 2], 'idx');
    const out = ops.maxUnpool(v, idx, [1, 1, 4]);
    await expect(runBoth(g, [out], { v: tensor([1, 2], [1, 1, 2]), idx: tensor([1, 4], [1, 1, 2], 'int32') })).rejects.toThrow(/index 4 at position 1 is outside the 4 elements/);
  });

  test('cumSum on lines of 5, 1500 and 5000: axis 0 and last, exclusive and reverse, float32 and int32 (wrapping)', async () => {
    const g = new Graph();
    const short = g.placeholder('float32', [4, 5], 'short');
    const col = g.placeholder('float32', [1500, 3], 'col');
    const row = g.placeholder('float32', [2, 5000], 'row');
    const icol = g.placeholder('int32', [1500, 2], 'icol');
    const irow = g.placeholder('int32', [5000], 'irow');
    const outs: SymbolicTensor[] = [];
    for (const exclusive of [false, true]) {
      for (const reverse of [false, true]) {
        const o = { exclusive, reverse };
        outs.push(ops.cumSum(short, 1, o), ops.cumSum(short, 0, o), ops.cumSum(col, 0, o), ops.cumSum(row, -1, o), ops.cumSum(icol, 0, o), ops.cumSum(irow, 0, o));
      }
    }
    await check(
      g,
      outs,
      {
        short: tensor(seeded(20, 341), [4, 5]),
        col: tensor(seeded(4500, 342), [1500, 3]),
        row: tensor(Float32Array.from(seeded(10000, 343), (v, i) => v + (i < 5000 ? 0.25 : 0)), [2, 5000]),
        icol: tensor(ints(3000, 344, -1000, 1000), [1500, 2], 'int32'),
        irow: tensor(ints(5000, 345, -(2 ** 30), 2 ** 30), [5000], 'int32'),
      },
      ['cumSum'],
    );
  });
});
