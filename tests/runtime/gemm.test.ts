import * as fs from 'fs';
import * as v8 from 'v8';
import { Graph, ops, tensor } from '@graphc/graph';
import { naiveConv, samePads } from '../graph/conv-reference';
import { ImplicitA, MatrixView, Session, gemm, gemmPacked, packMatrixB, packedColumns, relaxedSimdAvailable, setCpuFusedMultiplyAdd, setSimdGemm } from '@graphc/runtime';

// Node 20 has relaxed SIMD behind a flag (the graphc CLI sets it; Node 22 ships it): set here so
// the fused kernel is tested on either, and unset after, so other test files in this worker see
// the engine as it was.
const relaxedFlagNeeded = !relaxedSimdAvailable();
if (relaxedFlagNeeded) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
afterAll(() => {
  setCpuFusedMultiplyAdd(true);
  if (relaxedFlagNeeded) v8.setFlagsFromString('--no-experimental-wasm-relaxed-simd');
});

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Element (i, j) of a strided view. */
const at = (v: MatrixView, i: number, j: number): number => v.data[v.offset + i * v.rowStride + j * v.colStride];

function naive(m: number, n: number, k: number, a: MatrixView, b: MatrixView): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += at(a, i, p) * at(b, p, j);
      c[i * n + j] = s;
    }
  return c;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]}`);
  }
}

/** Every test runs on both float32 kernels: WebAssembly SIMD (where available) and JavaScript. */
const simdAvailable = setSimdGemm(true);

test('the WebAssembly SIMD kernel is available on this Node', () => {
  expect(simdAvailable).toBe(true);
});

test('the fused kernel rounds a*b + c once where the CPU has FMA; the plain one twice', () => {
  // -1 + (1 + 2^-12)^2: the product is 1 + 2^-11 + 2^-24, whose last term float32 drops when it
  // rounds the product alone (a tie, to even)
  const e = 2 ** -12;
  const a = { data: new Float32Array([-1, 1 + e]), offset: 0, rowStride: 2, colStride: 1 };
  const b = { data: new Float32Array([1, 1 + e]), offset: 0, rowStride: 1, colStride: 1 };
  const product = (fused: boolean): number => {
    expect(setCpuFusedMultiplyAdd(fused)).toBe(fused);
    const c = new Float32Array(1);
    gemm(1, 1, 2, a, b, c);
    return c[0];
  };
  expect(product(false)).toBe(2 ** -11);
  // V8 lowers relaxed_madd to vfmadd where the CPU has FMA3, to mul+add where not
  const cpuHasFma = !fs.existsSync('/proc/cpuinfo') || /\bfma\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  expect(product(true)).toBe(cpuHasFma ? 2 ** -11 + 2 ** -24 : 2 ** -11);
});

describe.each([
  ['simd, fused multiply-add', true, true],
  ['simd', true, false],
  ['js', false, false],
])('gemm (%s float32 kernel)', (_label, simd, fused) => {
  beforeAll(() => {
    setSimdGemm(simd);
    expect(setCpuFusedMultiplyAdd(fused)).toBe(fused);
  });
  afterAll(() => setSimdGemm(true));

  test('2x2 by hand', () => {
    const c = new Float32Array(4);
    const a = { data: new Float32Array([1, 2, 3, 4]), offset: 0, rowStride: 2, colStride: 1 };
    const b = { data: new Float32Array([5, 6, 7, 8]), offset: 0, rowStride: 2, colStride: 1 };
    gemm(2, 2, 2, a, b, c);
    expect(Array.from(c)).toEqual([19, 22, 43, 50]);
    gemm(2, 2, 2, a, b, c, 0, true); // accumulate: doubles it
    expect(Array.from(c)).toEqual([38, 44, 86, 100]);
  });

  // sizes straddle the 4x4 tile, the 64-row A block and the 256-deep k block; on the SIMD kernel,
  // operands it reads in place (row-major A and narrow B; a transposed A with short steps, or
  // with long ones when C is narrow: 300x70 transposed) and ones it packs (a transposed B; a
  // transposed A with long steps and a wide C: 300x7 @ 7x129)
  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [4, 4, 4],
    [65, 9, 300],
    [130, 67, 513],
    [7, 129, 256],
    [300, 20, 70],
    [300, 129, 7],
    // few rows: a row-major B read in place past 256 columns, a transposed one as C^T = B^T·A^T
    [16, 300, 40],
    [64, 257, 33],
    // one row: B read along its rows (rowAxpy), or a transposed B's rows dotted with A's (rowDot);
    // depths not a multiple of 4, below 4 and past a k-block, widths not a multiple of 4
    [1, 300, 513],
    [1, 7, 6],
    [1, 33, 4],
    [1, 5, 3],
    // two to four rows: B streamed once for all of them (rowsAxpy), depths past and short of a pass
    [2, 300, 513],
    [3, 7, 6],
    [4, 33, 9],
    [3, 5, 1],
    // depths a multiple of 4 and every row of W in a group: the lane sums added in the kernel
    // (an attention's scores: four query heads by a key/value head's 256 keys)
    [2, 40, 64],
    [3, 10, 8],
    [4, 256, 64],
  ];
  for (const [m, n, k] of sizes) {
    test(`${m}x${k} @ ${k}x${n} matches a naive loop, plain and transposed operands`, () => {
      const ad = values(m * k, m + 1);
      const bd = values(k * n, n + 2);
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const a: MatrixView = { data: ad, offset: 0, rowStride: ta ? 1 : k, colStride: ta ? m : 1 };
        const b: MatrixView = { data: bd, offset: 0, rowStride: tb ? 1 : n, colStride: tb ? k : 1 };
        const ref = naive(m, n, k, a, b);
        const c = new Float64Array(m * n).fill(NaN); // must be overwritten, not accumulated into
        gemm(m, n, k, a, b, c);
        expectClose(c, ref, 1e-12 * k);
        const c32 = new Float32Array(m * n).fill(NaN);
        gemm(m, n, k, a, b, c32);
        expectClose(c32, ref, 1e-6 * k);
        gemm(m, n, k, a, b, c32, 0, true);
        expectClose(c32, ref.map((v) => 2 * v), 2e-6 * k);
      }
    });
  }

  test('packed B reused across products, writing a column block of a wider C at an offset', () => {
    const [m, n, k, ldc] = [70, 10, 33, 16];
    const ad = values(2 * m * k, 3);
    const b: MatrixView = { data: values(k * n, 4), offset: 0, rowStride: n, colStride: 1 };
    const packed = packMatrixB(k, n, b);
    const c = new Float32Array(2 * m * ldc).fill(-7);
    for (let batch = 0; batch < 2; batch++) {
      const a: MatrixView = { data: ad, offset: batch * m * k, rowStride: k, colStride: 1 };
      gemmPacked(m, n, k, a, packed, c, batch * m * ldc + 3, false, ldc);
      const ref = naive(m, n, k, a, b);
      for (let i = 0; i < m; i++) {
        const row = batch * m * ldc + i * ldc;
        expect(c[row + 2]).toBe(-7); // columns outside the block are untouched
        expectClose(c.subarray(row + 3, row + 3 + n), ref.subarray(i * n, (i + 1) * n), 1e-5);
        expect(c[row + 3 + n]).toBe(-7);
      }
    }
    expect(() => gemmPacked(m, n + 1, k, { data: ad, offset: 0, rowStride: k, colStride: 1 }, packed, c)).toThrow(/packed B is 33x10/);
  });

  test('two packings used alternately, and a gemm in between, each give their own product', () => {
    const [m, n, k] = [9, 12, 20];
    const a: MatrixView = { data: values(m * k, 8), offset: 0, rowStride: k, colStride: 1 };
    const b1: MatrixView = { data: values(k * n, 9), offset: 0, rowStride: n, colStride: 1 };
    const b2: MatrixView = { data: values(k * n, 10), offset: 0, rowStride: n, colStride: 1 };
    const p1 = packMatrixB(k, n, b1);
    const p2 = packMatrixB(k, n, b2);
    const c = new Float32Array(m * n);
    for (const [p, b] of [[p1, b1], [p2, b2], [p1, b1]] as const) {
      gemmPacked(m, n, k, a, p, c);
      expectClose(c, naive(m, n, k, a, b), 1e-5);
      gemm(m, n, k, a, b2, c);
      expectClose(c, naive(m, n, k, a, b2), 1e-5);
    }
  });

  test('column blocks of one packing (packedColumns), accumulating into a column block of a wider C', () => {
    // k past one 256-deep block; blocks of 16 and 13 columns from 8, 24 and 0 of a 37-column packing
    const [m, k, n, ldc] = [11, 300, 37, 50];
    const a: MatrixView = { data: values(m * k, 12), offset: 0, rowStride: k, colStride: 1 };
    const b: MatrixView = { data: values(k * n, 13), offset: 0, rowStride: n, colStride: 1 };
    const packed = packMatrixB(k, n, b);
    const full = naive(m, n, k, a, b);
    for (const [from, width] of [[8, 16], [24, 13], [0, 16], [8, 16]]) {
      const block = packedColumns(packed, from, width);
      const c = new Float32Array(m * ldc).fill(0.5);
      gemmPacked(m, width, k, a, block, c, 2, true, ldc);
      for (let i = 0; i < m; i++) {
        expect(c[i * ldc + 1]).toBe(0.5);
        expectClose(c.subarray(i * ldc + 2, i * ldc + 2 + width), full.subarray(i * n + from, i * n + from + width).map((v) => v + 0.5), 2e-6 * k);
        expect(c[i * ldc + 2 + width]).toBe(0.5);
      }
      // another product in between: the packing's copy is laid out again where it was replaced
      gemm(m, 5, k, a, b, new Float32Array(m * 5));
    }
    // a block of a block counts from the packing's first column
    const inner = packedColumns(packedColumns(packed, 8, 24), 8, 16);
    const c = new Float32Array(m * 16);
    gemmPacked(m, 16, k, a, inner, c);
    for (let i = 0; i < m; i++) expectClose(c.subarray(i * 16, (i + 1) * 16), full.subarray(i * n + 16, i * n + 32), 1e-6 * k);
    expect(() => packedColumns(packed, 4, 8)).toThrow(/columns \[4, 12\)/);
    expect(() => packedColumns(packed, 32, 8)).toThrow(/of a 300x37 packing/);
  });

  test('sparse rows (row stride far beyond k) and an A produced on demand', () => {
    const [m, n, k] = [70, 11, 260];
    const wide: MatrixView = { data: values(m * 5 * k + 7, 12), offset: 7, rowStride: 5 * k, colStride: 1 };
    const b: MatrixView = { data: values(k * n, 13), offset: 0, rowStride: n, colStride: 1 };
    const c = new Float32Array(m * n);
    gemm(m, n, k, wide, b, c);
    expectClose(c, naive(m, n, k, wide, b), 1e-5 * k);
    // A = S^T for a k x m source S, written row by row by `pack` (from wherever the gemm put S)
    const source = values(k * m, 14);
    let calls = 0;
    const implicit: ImplicitA = {
      source,
      pack(i0, rows, k0, kc, out, base, ld, src, srcBase) {
        calls++;
        for (let r = 0; r < 4 * Math.ceil(rows / 4); r++)
          for (let kk = 0; kk < kc; kk++) out[base + r * ld + kk] = r < rows ? src[srcBase + (k0 + kk) * m + i0 + r] : 0;
      },
    };
    const st: MatrixView = { data: source, offset: 0, rowStride: 1, colStride: m };
    for (const out of [new Float32Array(m * n), new Float64Array(m * n)]) {
      gemmPacked(m, n, k, implicit, packMatrixB(k, n, b), out);
      expectClose(out, naive(m, n, k, st, b), (out instanceof Float32Array ? 1e-5 : 1e-12) * k);
    }
    expect(calls).toBe(2 * 2 * 2); // per product: 2 row blocks (64 + 6) x 2 k-blocks (256 + 4)
  });

  test('empty operands give zeros (k = 0) or nothing (m or n = 0)', () => {
    const c = new Float32Array(6).fill(5);
    const empty = { data: new Float32Array(0), offset: 0, rowStride: 0, colStride: 1 };
    gemm(2, 3, 0, empty, empty, c);
    expect(Array.from(c)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

test('depthwise convolutions on the fused kernel match a float64 loop', async () => {
  // float32, multiplier 1, channels a multiple of 4: the SIMD depthwiseRow kernel
  const [n, h, w, c] = [2, 7, 9, 8];
  const x = values(n * h * w * c, 21);
  const f = values(3 * 3 * c, 22);
  // the float32 inputs in double, as the loop of the graph tests' reference takes them
  const reference = (stride: number): number[] =>
    naiveConv(Array.from(x, Math.fround), [n, h, w, c], Array.from(f, Math.fround), [3, 3, c, 1], [stride, stride], [1, 1], samePads(h, w, 3, 3, [stride, stride], [1, 1]), true).data;
  for (const fused of [true, false]) {
    expect(setCpuFusedMultiplyAdd(fused)).toBe(fused);
    for (const stride of [1, 2]) {
      const g = new Graph();
      const px = g.placeholder('float32', [n, h, w, c], 'x');
      const y = ops.depthwiseConv2d(px, g.constant(tensor(Float32Array.from(f), [3, 3, c, 1])), stride, 'SAME');
      const out = (await new Session(g).run(y, { x: tensor(Float32Array.from(x), [n, h, w, c]) })).data;
      expectClose(out, reference(stride), 1e-5);
    }
  }
});
