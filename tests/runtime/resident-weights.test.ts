/**
 * The cpu backend keeps the weights its SIMD products read (a layer's, as B packed in panels or as
 * A as it is) resident in the kernels' memory between runs: each product must still read the right
 * values when the working area grows under them, when several weights are resident, for every
 * number of rows and both layouts, and for a variable only while no assign writes it.
 */
import { Graph, TensorValue, ops, tensor } from '@graphc/graph';
import { Session, cpuResidentBytes, relaxedSimdAvailable, setCpuFusedMultiplyAdd, setCpuThreads, setSimdGemm } from '@graphc/runtime';
import { seeded } from '../webgpu/helpers';

/** Deterministic values in [-1, 1). */
const values = (n: number, seed: number): Float32Array => seeded(n, seed);

/** x [m, k] times w [k, n] (or w [n, k] transposed), in float64. */
function product(x: Float32Array, w: Float32Array, m: number, k: number, n: number, transposed = false): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let p = 0; p < k; p++) sum += x[i * k + p] * w[transposed ? j * k + p : p * n + j];
    c[i * n + j] = sum;
  }
  return c;
}

/** How many elements differ from `expected` by more than `tol` (not toEqual over large arrays). */
function misses(actual: TensorValue, expected: Float64Array, tol = 1e-4): number {
  let bad = 0;
  for (let i = 0; i < expected.length; i++) if (!(Math.abs(Number(actual.data[i]) - expected[i]) <= tol)) bad++;
  return bad + Math.abs(actual.data.length - expected.length);
}

/**
 * x [m, k] by the constant w ([k, n], or [n, k] transposed) in one session, for each m of `batches`
 * in turn, x seeded from `seed + m`: every product within `tol` of float64, `afterRun` called after
 * each run.
 */
async function expectProducts(w: Float32Array, k: number, n: number, batches: number[], seed: number, options: { transposed?: boolean; tol?: number; afterRun?: () => void } = {}): Promise<void> {
  const transposed = options.transposed === true;
  const g = new Graph();
  const x = g.placeholder('float32', [null, k], 'x');
  const y = ops.matmul(x, g.constant(tensor(w, transposed ? [n, k] : [k, n])), { transposeB: transposed });
  const session = new Session(g);
  for (const m of batches) {
    const xs = values(m * k, seed + m);
    const [yv] = await session.run([y], { x: tensor(xs, [m, k]) });
    expect(misses(yv, product(xs, w, m, k, n, transposed), options.tol)).toBe(0);
    options.afterRun?.();
  }
}

beforeAll(() => {
  expect(setSimdGemm(true)).toBe(true);
  setCpuThreads(1);
});

describe('constant weights resident in the SIMD kernels memory', () => {
  const [k, n, n2] = [96, 300, 40];
  const w = values(k * n, 1);
  const w2 = values(n * n2, 2);

  test('two chained weights, batches of 1, 3 and 200 and 1 again: the working area grows under the resident ones', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, k], 'x');
    const h = ops.matmul(x, g.constant(tensor(w, [k, n])));
    const y = ops.matmul(h, g.constant(tensor(w2, [n, n2])));
    const session = new Session(g);
    const before = cpuResidentBytes();
    for (const m of [1, 3, 200, 1]) {
      const xs = values(m * k, 10 + m);
      const [hv, yv] = await session.run([h, y], { x: tensor(xs, [m, k]) });
      const expectedH = product(xs, w, m, k, n);
      expect(misses(hv, expectedH)).toBe(0);
      expect(misses(yv, product(Float32Array.from(expectedH), w2, m, n, n2))).toBe(0);
      // both weights are resident after the first run, and stay so (not copied in again)
      expect(cpuResidentBytes() - before).toBeGreaterThanOrEqual(4 * (w.length + w2.length));
    }
  });

  test('a product whose batch grows its working area past its resident weight, in that same product', async () => {
    await expectProducts(w2, n, n2, [1, 400, 1], 40);
  });

  test('a transposed weight read as the product A (C^T = W x^T), or dotted with one row, is resident too', async () => {
    const wt = values(n * k, 3);
    const before = cpuResidentBytes();
    await expectProducts(wt, k, n, [1, 1, 2, 1], 20, { transposed: true, afterRun: () => expect(cpuResidentBytes() - before).toBeGreaterThanOrEqual(4 * wt.length) });
  });

  /** x [batch, k] times a variable [k, n] holding w, initialized, in a fresh session. */
  async function variableProduct() {
    const g = new Graph();
    const x = g.placeholder('float32', [null, k], 'x');
    const v = g.variable(tensor(w, [k, n]), 'v');
    const y = ops.matmul(x, v);
    const session = new Session(g);
    await session.run(g.globalVariablesInitializer());
    return { g, v, y, session };
  }

  test('a variable weight unwritten between runs is resident from its second run, and made again after it changes', async () => {
    const { g, v, y, session } = await variableProduct();
    const replace = ops.assign(v, g.placeholder('float32', [k, n], 'fresh'));
    const xs = values(2 * k, 32);
    const run = async (weights: Float32Array) => {
      const [yv] = await session.run([y], { x: tensor(xs, [2, k]) });
      expect(misses(yv, product(xs, weights, 2, k, n))).toBe(0);
      return cpuResidentBytes();
    };
    const before = cpuResidentBytes();
    // the first run only notes the weight's version; the second finds it unwritten and packs it
    expect(await run(w)).toBe(before);
    const resident = await run(w);
    expect(resident - before).toBeGreaterThanOrEqual(4 * k * n);
    expect(await run(w)).toBe(resident);
    // written: the next run reads it afresh (its copy is stale), the one after makes the copy again, in place
    const fresh = values(k * n, 33);
    await session.run(replace, { fresh: tensor(fresh, [k, n]) });
    expect(await run(fresh)).toBe(resident);
    expect(await run(fresh)).toBe(resident);
    expect(await run(fresh)).toBe(resident);
  });

  test('a variable written between every two products (training) is never copied in', async () => {
    const { g, v, y, session } = await variableProduct();
    const delta = values(k * n, 34);
    // the update after the product, as a training step orders its gradient before it
    const step = g.controlDependencies([y], () => ops.assignAdd(v, ops.mul(g.constant(tensor(delta, [k, n])), 1e-3)));
    const xs = values(k, 35);
    const before = cpuResidentBytes();
    const expected = Float32Array.from(w);
    for (let i = 0; i < 4; i++) {
      const [yv] = await session.run([y, step], { x: tensor(xs, [1, k]) });
      expect(misses(yv as TensorValue, product(xs, expected, 1, k, n))).toBe(0);
      for (let j = 0; j < expected.length; j++) expected[j] = Math.fround(expected[j] + Math.fround(delta[j] * 1e-3));
    }
    expect(cpuResidentBytes()).toBe(before);
  });
});

describe('constant weights kept packed in panels (panelRows for one to four rows, the tile kernel past them)', () => {
  /** Float32 error grows with the depth of the sums. */
  const tolFor = (k: number): number => 1e-5 * (k + 1);
  const n8 = (n: number): number => Math.ceil(n / 8) * 8;

  // depths below, at and past a chain pair and a 256-deep k-block, odd ones (the one-chain rest);
  // widths short of, at and past a panel of 8
  const shapes: [number, number][] = [[1, 1], [3, 7], [255, 9], [257, 300], [513, 16]];
  for (const [k, n] of shapes) {
    for (const transposed of [false, true]) {
      test(`x [m, ${k}] by a constant ${transposed ? `[${n}, ${k}] transposed` : `[${k}, ${n}]`}, m = 1 to 5 and 33, packed once`, async () => {
        const w = values(k * n, k + n + (transposed ? 1 : 0));
        const before = cpuResidentBytes();
        let afterFirst = 0;
        await expectProducts(w, k, n, [1, 2, 3, 4, 5, 33, 1], 50, { transposed, tol: tolFor(k), afterRun: () => (afterFirst ||= cpuResidentBytes()) });
        // the panels are resident from the first run (k rows of n rounded up to 8) and packed only once
        expect(afterFirst - before).toBeGreaterThanOrEqual(4 * k * n8(n));
        expect(cpuResidentBytes()).toBe(afterFirst);
      });
    }
  }

  test('one constant as the B of a product (packed) and the A of another (copied as it is): two resident copies', async () => {
    const [k, n, p] = [24, 16, 5];
    const w = values(k * n, 12);
    const g = new Graph();
    const x = g.placeholder('float32', [1, k], 'x');
    const z = g.placeholder('float32', [n, p], 'z');
    const weight = g.constant(tensor(w, [k, n]));
    const xw = ops.matmul(x, weight);
    const wz = ops.matmul(weight, z);
    const session = new Session(g);
    const xs = values(k, 13);
    const zs = values(n * p, 14);
    for (let run = 0; run < 2; run++) {
      const [xwv, wzv] = await session.run([xw, wz], { x: tensor(xs, [1, k]), z: tensor(zs, [n, p]) });
      expect(misses(xwv, product(xs, w, 1, k, n), tolFor(k))).toBe(0);
      expect(misses(wzv, product(w, zs, k, n, p), tolFor(n))).toBe(0);
    }
  });

  test('a bias and relu fused onto the product (fusedMatmul) apply to the panels result', async () => {
    const [k, n] = [130, 75];
    const w = values(k * n, 7);
    const bias = values(n, 8);
    const g = new Graph();
    const x = g.placeholder('float32', [null, k], 'x');
    const y = ops.relu(ops.add(ops.matmul(x, g.constant(tensor(w, [k, n]))), g.constant(tensor(bias, [n]))));
    const session = new Session(g);
    for (const m of [1, 3, 4, 9]) {
      const xs = values(m * k, 60 + m);
      const [yv] = await session.run([y], { x: tensor(xs, [m, k]) });
      const expected = product(xs, w, m, k, n).map((v, i) => Math.max(0, v + bias[i % n]));
      expect(misses(yv, expected, tolFor(k))).toBe(0);
    }
  });

  test('with and without fused multiply-add', async () => {
    const [k, n] = [67, 40];
    const w = values(k * n, 9);
    for (const fused of relaxedSimdAvailable() ? [false, true] : [false]) {
      setCpuFusedMultiplyAdd(fused);
      try {
        await expectProducts(w, k, n, [1, 2, 3, 4], 70, { tol: tolFor(k) });
      } finally {
        setCpuFusedMultiplyAdd(true);
      }
    }
  });

  test('on two threads: blocks large enough to split read the panels from the memory the threads share', async () => {
    const [k, n] = [256, 1030];
    const w = values(k * n, 11);
    setCpuThreads(2);
    try {
      await expectProducts(w, k, n, [64, 1, 64], 80, { tol: tolFor(k) });
    } finally {
      setCpuThreads(1);
    }
  });
});
