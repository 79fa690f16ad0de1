import * as v8 from 'v8';
import { Graph, SymbolicTensor, TensorValue, nbitsWeight, ops, tensor } from '@graphc/graph';
import { Session, cpuResidentBytes, relaxedSimdAvailable, setCpuFusedMultiplyAdd, setCpuThreads, setSimdGemm, setSimdKernels } from '@graphc/runtime';
import { nbitsProduct } from '../../packages/runtime/src/backends/cpu/kernels/math/matmul-nbits';
import { columnStream, nbitsProductSimd } from '../../packages/runtime/src/backends/cpu/wasm-nbits';
import { NBitsWeights, randomNBitsWeights, seeded } from '../webgpu/helpers';

/**
 * The cpu backend's float32 matmulNBits on WebAssembly SIMD (wasm-nbits.ts) against its JavaScript
 * reference: 2, 4 and 8 bits; blocks of 16, 32 and 128 (a block of whole four-word chunks, and of 1
 * or 2 words, each lane its own block); k a multiple of the block size and not; 1 to 4 rows (one
 * pass of the dot kernels), 5, 7 and 32 (a pass for every four rows) and 33 (dequantized panels
 * through the GEMM); odd n, and n past one panel; a batched a; packed words over the whole
 * int32 range (negative ones too, and bits in the padding past k); zero points in [0, 2^bits) as
 * floats, whole and not; worker threads on. Constant weights stay resident in the SIMD kernels'
 * memory; placeholder ones are copied in per run; float64 a keeps the reference. Results agree to
 * float32 rounding: within 1e-5 of the sum of |a * W| over the column (the largest seen: 3e-7).
 */

// Node 20 has relaxed SIMD behind a flag: set here so the fused kernels are tested too (as gemm.test.ts does)
const relaxedFlagNeeded = !relaxedSimdAvailable();
if (relaxedFlagNeeded) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

beforeAll(() => {
  expect(setSimdGemm(true)).toBe(true);
  expect(setSimdKernels(true)).toBe(true);
  setCpuThreads(1);
});
afterAll(() => {
  setSimdKernels(true);
  setCpuFusedMultiplyAdd(true);
  if (relaxedFlagNeeded) v8.setFlagsFromString('--no-experimental-wasm-relaxed-simd');
});

type Bits = 2 | 4 | 8;


/** Each output's scale: the sum over kk of |a[r, kk] * W[kk, col]|, the size float32 rounding errors are relative to. */
function magnitudes(w: NBitsWeights, a: Float32Array, rows: number): Float64Array {
  const { layout, n } = w;
  const out = new Float64Array(rows * n);
  for (let col = 0; col < n; col++) {
    for (let kk = 0; kk < layout.k; kk++) {
      const weight = Math.abs(nbitsWeight(layout, w.packed, w.scales, w.zeroPoints, col, kk));
      for (let r = 0; r < rows; r++) out[r * n + col] += Math.abs(a[r * layout.k + kk]) * weight;
    }
  }
  return out;
}

/** The largest |actual - expected| relative to its output's magnitude (never toEqual over large arrays); a length mismatch or NaN is Infinity. */
function maxRelativeDifference(actual: ArrayLike<number>, expected: ArrayLike<number>, scale: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]) / (scale[i] + 1e-30);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

const TOLERANCE = 1e-5;

/** Runs the SIMD product (which must apply) and the reference on the same operands; the worst relative difference. */
function compareDirect(w: NBitsWeights, rows: number, seed: number): number {
  const a = seeded(rows * w.layout.k, seed);
  const simd = new Float32Array(rows * w.n).fill(NaN);
  expect(nbitsProductSimd(w.layout, a, rows, w.packed, w.scales, w.zeroPoints, w.n, simd)).toBe(true);
  const reference = new Float32Array(rows * w.n);
  nbitsProduct(w.layout, a, rows, w.packed, w.scales, w.zeroPoints, w.n, reference);
  return maxRelativeDifference(simd, reference, magnitudes(w, a, rows));
}

const BITS: Bits[] = [2, 4, 8];
/** [blockSize, k]: whole blocks and a partial last one. */
const SIZES: [number, number][] = [
  [16, 64],
  [16, 40],
  [32, 96],
  [32, 37],
  [128, 256],
  [128, 1000],
];
const ROWS = [1, 2, 3, 4, 5, 7, 32, 33];

describe('matmulNBits float32 on WebAssembly SIMD against the JavaScript reference', () => {
  for (const bits of BITS) {
    test.each(SIZES)(`${bits} bits, blocks of %i, k = %i, rows 1 to 5, 7, 32 and 33`, (blockSize, k) => {
      const w = randomNBitsWeights(bits, blockSize, k, 13, bits * 100 + blockSize + k);
      // the stream shape these sizes exercise: whole chunks a block, or 1 or 2 words a block with or without a partial chunk
      expect(columnStream(w.layout)).not.toBeNull();
      for (const rows of ROWS) expect(compareDirect(w, rows, 7 + rows)).toBeLessThan(TOLERANCE);
    });
  }

  test('zero points with a fraction', () => {
    for (const bits of BITS) {
      const w = randomNBitsWeights(bits, 32, 200, 9, 77 + bits, false);
      for (const rows of [1, 4, 6, 40]) expect(compareDirect(w, rows, 3 + rows)).toBeLessThan(TOLERANCE);
    }
  });

  test('n past one panel of the many-rows path, and a large decode-sized product', () => {
    const w = randomNBitsWeights(4, 32, 256, 601, 5);
    for (const rows of [1, 3, 7, 40]) expect(compareDirect(w, rows, 20 + rows)).toBeLessThan(TOLERANCE);
    const big = randomNBitsWeights(4, 32, 2048, 129, 6);
    for (const rows of [1, 4]) expect(compareDirect(big, rows, 30 + rows)).toBeLessThan(TOLERANCE);
  });

  test('with worker threads on (the GEMM of the panels may split over them)', () => {
    setCpuThreads(2);
    try {
      const w = randomNBitsWeights(4, 32, 512, 300, 14);
      for (const rows of [1, 4, 30, 70]) expect(compareDirect(w, rows, 60 + rows)).toBeLessThan(TOLERANCE);
    } finally {
      setCpuThreads(1);
    }
  });

  test('both multiply-add forms: fused (relaxed SIMD) and mul + add', () => {
    const w = randomNBitsWeights(4, 16, 72, 11, 8);
    const w2 = randomNBitsWeights(2, 64, 300, 11, 9);
    for (const fused of [false, true]) {
      expect(setCpuFusedMultiplyAdd(fused)).toBe(fused && relaxedSimdAvailable());
      for (const rows of [1, 2, 4, 5, 40]) {
        expect(compareDirect(w, rows, 40 + rows)).toBeLessThan(TOLERANCE);
        expect(compareDirect(w2, rows, 50 + rows)).toBeLessThan(TOLERANCE);
      }
    }
  });

  test('a block size the SIMD kernels do not take (three words) and SIMD off leave the JavaScript kernel', () => {
    const w = randomNBitsWeights(4, 24, 50, 5, 10);
    expect(columnStream(w.layout)).toBeNull();
    const a = seeded(50, 1);
    expect(nbitsProductSimd(w.layout, a, 1, w.packed, w.scales, w.zeroPoints, w.n, new Float32Array(5))).toBe(false);
    const ok = randomNBitsWeights(4, 32, 64, 5, 11);
    for (const off of [() => setSimdKernels(false), () => setSimdGemm(false)]) {
      off();
      expect(nbitsProductSimd(ok.layout, seeded(64, 1), 1, ok.packed, ok.scales, ok.zeroPoints, ok.n, new Float32Array(5))).toBe(false);
      setSimdKernels(true);
      setSimdGemm(true);
    }
  });
});

/** A graph of products of placeholder a's (shapes `aShapes`) with weights `w`: constants, or placeholders fed each run. */
function graphOf(w: NBitsWeights, aShapes: number[][], constantWeights: boolean): { session: Session; outs: SymbolicTensor[]; feeds: Record<string, TensorValue> } {
  const g = new Graph();
  const { layout, n } = w;
  const feeds: Record<string, TensorValue> = {};
  const operand = (name: string, value: TensorValue): SymbolicTensor => {
    if (constantWeights) return g.constant(value);
    feeds[name] = value;
    return g.placeholder(value.dtype, value.shape, name);
  };
  const packed = operand('packed', tensor(w.packed, [n, layout.words], 'int32'));
  const scales = operand('scales', tensor(w.scales, [n, layout.blocks]));
  const zeroPoints = operand('zeroPoints', tensor(w.zeroPoints, [n, layout.blocks]));
  const outs = aShapes.map((shape, i) => {
    const a = g.placeholder('float32', shape, `a${i}`);
    feeds[`a${i}`] = tensor(seeded(shape.reduce((p, d) => p * d, 1), 60 + i), shape);
    return ops.matmulNBits(a, packed, scales, zeroPoints, { bits: layout.bits, blockSize: layout.blockSize, k: layout.k });
  });
  return { session: new Session(g), outs, feeds };
}

/** Each output's worst relative difference between a SIMD run and a JavaScript one (setSimdKernels off). */
async function againstReference(w: NBitsWeights, aShapes: number[][], constantWeights: boolean, runs = 1): Promise<number[]> {
  const { session, outs, feeds } = graphOf(w, aShapes, constantWeights);
  let simd: TensorValue[] = [];
  for (let i = 0; i < runs; i++) simd = await session.run(outs, feeds);
  setSimdKernels(false);
  const reference = await session.run(outs, feeds);
  setSimdKernels(true);
  return aShapes.map((shape, i) => {
    expect(simd[i].shape).toEqual([...shape.slice(0, -1), w.n]);
    const a = feeds[`a${i}`].data as Float32Array;
    return maxRelativeDifference(simd[i].data, reference[i].data, magnitudes(w, a, a.length / w.layout.k));
  });
}

describe('matmulNBits in a session', () => {
  test('a batched a [2, 3, k] and [1, k], [4, k], [40, k] with constant weights (n past one panel), which stay resident', async () => {
    const w = randomNBitsWeights(4, 32, 160, 301, 12);
    const before = cpuResidentBytes();
    const diffs = await againstReference(w, [[2, 3, 160], [1, 160], [4, 160], [2, 1, 160], [40, 160]], true, 3);
    for (const d of diffs) expect(d).toBeLessThan(TOLERANCE);
    // the packed words, scales and zero points were copied in once, for all the runs and products
    const resident = cpuResidentBytes() - before;
    const bytes = 4 * (w.packed.length + w.scales.length + w.zeroPoints.length);
    expect(resident).toBeGreaterThanOrEqual(bytes);
    expect(resident).toBeLessThan(2 * bytes);
  });

  test('float64 a runs the JavaScript reference, bit for bit', async () => {
    const w = randomNBitsWeights(4, 32, 64, 7, 15);
    const g = new Graph();
    const a = g.placeholder('float64', [2, 64], 'a');
    const { layout, n } = w;
    const y = ops.matmulNBits(a, g.constant(tensor(w.packed, [n, layout.words], 'int32')), g.constant(tensor(w.scales, [n, layout.blocks])), g.constant(tensor(w.zeroPoints, [n, layout.blocks])), { bits: 4, blockSize: 32, k: 64 });
    const values = Float64Array.from(seeded(128, 16));
    const [out] = await new Session(g).run([y], { a: tensor(values, [2, 64], 'float64') });
    const reference = new Float64Array(2 * n);
    nbitsProduct(layout, values, 2, w.packed, w.scales, w.zeroPoints, n, reference);
    expect(out.data).toBeInstanceOf(Float64Array);
    expect(maxRelativeDifference(out.data, reference, new Float64Array(2 * n).fill(1))).toBe(0);
  });

  test('weights fed as placeholders are copied in per run, not kept resident', async () => {
    const w = randomNBitsWeights(2, 16, 100, 21, 13);
    const before = cpuResidentBytes();
    const diffs = await againstReference(w, [[1, 100], [3, 100], [6, 100], [40, 100]], false, 2);
    for (const d of diffs) expect(d).toBeLessThan(TOLERANCE);
    expect(cpuResidentBytes()).toBe(before);
  });
});
