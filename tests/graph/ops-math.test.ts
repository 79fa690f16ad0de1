import { DType, Graph, Session, SymbolicTensor, TensorValue, ops, tensor } from 'graphc';

type Sym = SymbolicTensor;

/**
 * Builds `f(placeholders)` and runs it once on the cpu backend at O0 (kernels as written). `f` takes
 * one placeholder per input, so an op with optional trailing arguments (`ops.log(x, name?)`) fits.
 */
async function run(inputs: [TensorValue], f: (x: Sym) => Sym): Promise<TensorValue>;
async function run(inputs: [TensorValue, TensorValue], f: (a: Sym, b: Sym) => Sym): Promise<TensorValue>;
async function run(inputs: [TensorValue, TensorValue, TensorValue], f: (a: Sym, b: Sym, c: Sym) => Sym): Promise<TensorValue>;
async function run(inputs: TensorValue[], f: (...xs: Sym[]) => Sym): Promise<TensorValue> {
  const g = new Graph();
  const xs = inputs.map((v, i) => g.placeholder(v.dtype, v.shape.map(() => null), `in${i}`));
  const y = f(...xs);
  const feeds = Object.fromEntries(inputs.map((v, i) => [`in${i}`, v]));
  return new Session(g, { optimize: 0 }).run(y, feeds);
}

const f32 = (data: number[], shape = [data.length]): TensorValue => tensor(data, shape, 'float32');
const f64 = (data: number[], shape = [data.length]): TensorValue => tensor(data, shape, 'float64');
const i32 = (data: number[], shape = [data.length]): TensorValue => tensor(data, shape, 'int32');

function expectClose(actual: TensorValue, expected: number[], tol = 1e-6): void {
  expect(actual.data.length).toBe(expected.length);
  expected.forEach((e, i) => {
    const a = actual.data[i];
    if (Number.isNaN(e)) expect(Number.isNaN(a)).toBe(true);
    else if (!Number.isFinite(e)) expect(a).toBe(e);
    else expect(Math.abs(a - e)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e)));
  });
}

describe('unary elementwise ops (hand-computed values)', () => {
  const x = [-2, -0.5, 0, 0.5, 1, 3];
  const cases: [string, (t: SymbolicTensor) => SymbolicTensor, number[]][] = [
    ['neg', ops.neg, [2, 0.5, -0, -0.5, -1, -3]],
    ['abs', ops.abs, [2, 0.5, 0, 0.5, 1, 3]],
    ['exp', ops.exp, [0.1353352832366127, 0.6065306597126334, 1, 1.6487212707001282, Math.E, 20.085536923187668]],
    ['log1p', ops.log1p, [NaN, -0.6931471805599453, 0, 0.4054651081081644, 0.6931471805599453, 1.3862943611198906]],
    ['expm1', ops.expm1, [-0.8646647167633873, -0.3934693402873666, 0, 0.6487212707001282, 1.718281828459045, 19.085536923187668]],
    ['square', ops.square, [4, 0.25, 0, 0.25, 1, 9]],
    ['sign', ops.sign, [-1, -1, 0, 1, 1, 1]],
    ['floor', ops.floor, [-2, -1, 0, 0, 1, 3]],
    ['ceil', ops.ceil, [-2, -0, 0, 1, 1, 3]],
    ['sin', ops.sin, [-0.9092974268256817, -0.479425538604203, 0, 0.479425538604203, 0.8414709848078965, 0.1411200080598672]],
    ['cos', ops.cos, [-0.4161468365471424, 0.8775825618903728, 1, 0.8775825618903728, 0.5403023058681398, -0.9899924966004454]],
    ['tanh', ops.tanh, [-0.9640275800758169, -0.46211715726000974, 0, 0.46211715726000974, 0.7615941559557649, 0.9950547536867305]],
    ['sigmoid', ops.sigmoid, [0.11920292202211755, 0.3775406687981454, 0.5, 0.6224593312018546, 0.7310585786300049, 0.9525741268224334]],
    ['relu', ops.relu, [0, 0, 0, 0.5, 1, 3]],
    ['relu6', ops.relu6, [0, 0, 0, 0.5, 1, 3]],
    ['leakyRelu', (t) => ops.leakyRelu(t, 0.1), [-0.2, -0.05, 0, 0.5, 1, 3]],
    ['elu', ops.elu, [-0.8646647167633873, -0.3934693402873666, 0, 0.5, 1, 3]],
    ['selu', ops.selu, [-1.5201664685956334, -0.6917581878028452, 0, 0.5253504936777402, 1.0507009873554805, 3.1521029620664414]],
    ['softplus', ops.softplus, [0.1269280110429725, 0.4740769841801067, 0.6931471805599453, 0.9740769841801067, 1.3132616875182228, 3.048587351573742]],
    ['erf', ops.erf, [-0.9953222650189527, -0.5204998778130465, 0, 0.5204998778130465, 0.8427007929497149, 0.9999779095030014]],
    ['gelu', (t) => ops.gelu(t), [-0.04550026389635842, -0.15426876936299344, 0, 0.34573123063700656, 0.8413447460685429, 2.99595030590511]],
    ['gelu tanh', (t) => ops.gelu(t, true), [-0.04540230591222494, -0.15428599017485606, 0, 0.34571400982514394, 0.8411919906082768, 2.996362607918227]],
  ];
  test.each(cases)('%s (float64)', async (_name, fn, expected) => {
    expectClose(await run([f64(x)], fn), expected, 1e-9);
  });
  test.each(cases)('%s (float32)', async (_name, fn, expected) => {
    expectClose(await run([f32(x)], fn), expected, 2e-6);
  });

  test('log1p and expm1 keep the digits that log(1 + x) and exp(x) - 1 lose near 0', async () => {
    const xs = [1e-12, -3e-9, 2e-5, -0.01, 0.04];
    for (const [fn, exact] of [[ops.log1p, Math.log1p], [ops.expm1, Math.expm1]] as const) {
      const got = await run([f64(xs)], fn);
      xs.forEach((v, i) => expect(Math.abs(got.data[i] - exact(v))).toBeLessThanOrEqual(1e-15 * Math.abs(exact(v))));
      const single = await run([f32(xs)], fn);
      xs.forEach((v, i) => expect(Math.abs(single.data[i] - exact(Math.fround(v)))).toBeLessThanOrEqual(1e-7 * Math.abs(exact(v))));
    }
    expect((await run([f64([-1])], ops.log1p)).data[0]).toBe(-Infinity);
  });

  test('log, sqrt, rsqrt, reciprocal on positives and at 0 / negatives', async () => {
    expectClose(await run([f64([0.25, 1, 4, 0, -1])], ops.log), [Math.log(0.25), 0, Math.log(4), -Infinity, NaN]);
    expectClose(await run([f64([0.25, 1, 4, 0, -1])], ops.sqrt), [0.5, 1, 2, 0, NaN]);
    expectClose(await run([f64([0.25, 1, 4])], ops.rsqrt), [2, 1, 0.5]);
    expectClose(await run([f64([0.25, -2, 0])], ops.reciprocal), [4, -0.5, Infinity]);
  });

  test('relu keeps NaN, maps -Infinity and -0 to +0, and is exact at the float32 and float64 extremes', async () => {
    const f32Tiny = 1.401298464324817e-45; // the smallest float32 subnormal
    const f32Max = 3.4028234663852886e38;
    const xs32 = [NaN, -Infinity, Infinity, -0, 0, f32Tiny, -f32Tiny, f32Max, -f32Max, 0.1, -0.1];
    const want32 = [NaN, 0, Infinity, 0, 0, f32Tiny, 0, f32Max, 0, Math.fround(0.1), 0];
    for (const [optimize, wrap] of [[0, (t: Sym) => ops.relu(t)], [2, (t: Sym) => ops.relu(ops.add(t, 0))]] as const) {
      const g = new Graph();
      const out = await new Session(g, { optimize }).run(wrap(g.placeholder('float32', [null], 'x')), { x: f32(xs32) });
      want32.forEach((w, i) => expect(Object.is(out.data[i], w)).toBe(true));
    }
    // float64 subnormals and values near the largest double: halving would round or overflow there
    const xs64 = [5e-324, 3 * 5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308, NaN, -Infinity, -0];
    const out64 = await run([f64(xs64)], ops.relu);
    [5e-324, 3 * 5e-324, 0, 1.7976931348623157e308, 0, NaN, 0, 0].forEach((w, i) => expect(Object.is(out64.data[i], w)).toBe(true));
    const ints = await run([i32([-7, 0, 7, 2147483647, -2147483648])], ops.relu);
    expect(Array.from(ints.data)).toEqual([0, 0, 7, 2147483647, 0]);
  });

  test('round is half to even', async () => {
    expectClose(await run([f32([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6])], ops.round), [0, 2, 2, -0, -2, 2, -3]);
  });

  test('integer unary ops keep the dtype', async () => {
    const out = await run([i32([-3, 0, 4])], ops.abs);
    expect(out.dtype).toBe('int32');
    expect(Array.from(out.data)).toEqual([3, 0, 4]);
    expect(Array.from((await run([i32([-3, 46341])], ops.square)).data)).toEqual([9, -2147479015]); // wraps like int32
    expect(Array.from((await run([i32([-3, 0, 4])], ops.neg)).data)).toEqual([3, 0, -4]);
  });

  test('float-only ops reject ints at build time, naming the node', () => {
    const g = new Graph();
    const x = g.placeholder('int32', [2], 'x');
    expect(() => ops.exp(x, 'e')).toThrow(/op 'exp' \(node 'e'\): input 0 must be float32 or float64, got int32/);
  });

  test('empty tensors', async () => {
    const out = await run([f32([], [0, 3])], ops.exp);
    expect(out.shape).toEqual([0, 3]);
  });
});

describe('binary elementwise ops', () => {
  const a = [7, -7, 7, -7, 2.5];
  const b = [2, 2, -2, -2, 0.5];
  const cases: [string, (x: SymbolicTensor, y: SymbolicTensor) => SymbolicTensor, number[]][] = [
    ['add', ops.add, [9, -5, 5, -9, 3]],
    ['sub', ops.sub, [5, -9, 9, -5, 2]],
    ['mul', ops.mul, [14, -14, -14, 14, 1.25]],
    ['div', ops.div, [3.5, -3.5, -3.5, 3.5, 5]],
    ['pow', ops.pow, [49, 49, 1 / 49, 1 / 49, Math.sqrt(2.5)]],
    ['maximum', ops.maximum, [7, 2, 7, -2, 2.5]],
    ['minimum', ops.minimum, [2, -7, -2, -7, 0.5]],
    ['mod (floor)', ops.mod, [1, 1, -1, -1, 0]],
    ['floorDiv', ops.floorDiv, [3, -4, -4, 3, 5]],
    ['squaredDifference', ops.squaredDifference, [25, 81, 81, 25, 4]],
  ];
  test.each(cases)('%s', async (_name, fn, expected) => {
    expectClose(await run([f64(a), f64(b)], fn), expected, 1e-12);
  });

  test('atan2(y, x): the angle of (x, y) in every quadrant, on the axes and at the origin, as Math.atan2', async () => {
    const y = [1, 1, -1, -1, 0, 0, 2, -2, 0];
    const x = [1, -1, -1, 1, 3, -3, 0, 0, 0];
    const out = await run([f64(y), f64(x)], ops.atan2);
    expect(Array.from(out.data)).toEqual(y.map((v, i) => Math.atan2(v, x[i])));
    expect(out.data[5]).toBeCloseTo(Math.PI, 12);
    expect(out.data[1]).toBeCloseTo((3 * Math.PI) / 4, 12);
    // broadcasting, and a clear error for integer inputs
    expect((await run([f32([1, -1], [2, 1]), f32([2, -2, 0])], ops.atan2)).shape).toEqual([2, 3]);
    await expect(run([i32([1]), i32([1])], ops.atan2)).rejects.toThrow(/float/);
  });

  test('int32 division truncates toward zero, mod is floor mod, by zero gives 0', async () => {
    expect(Array.from((await run([i32([7, -7, 7, -7, 5]), i32([2, 2, -2, -2, 0])], ops.div)).data)).toEqual([3, -3, -3, 3, 0]);
    expect(Array.from((await run([i32([7, -7, 7, -7]), i32([2, 2, -2, -2])], ops.mod)).data)).toEqual([1, 1, -1, -1]);
    expect(Array.from((await run([i32([65536]), i32([65536])], ops.mul)).data)).toEqual([0]); // 2^32 wraps
  });

  test('broadcasting: [2,1,3] with [4,1] -> [2,4,3]', async () => {
    const x = f32([1, 2, 3, 4, 5, 6], [2, 1, 3]);
    const y = f32([10, 20, 30, 40], [4, 1]);
    const out = await run([x, y], ops.add);
    expect(out.shape).toEqual([2, 4, 3]);
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) expected.push(x.data[i * 3 + k] + y.data[j]);
    expectClose(out, expected);
  });

  test('broadcasting against a scalar on either side, and a rank-0 result', async () => {
    expectClose(await run([f32([5], []), f32([1, 2, 3])], ops.sub), [4, 3, 2]);
    expectClose(await run([f32([1, 2, 3]), f32([5], [])], ops.sub), [-4, -3, -2]);
    const s = await run([f32([5], []), f32([2], [])], ops.mul);
    expect(s.shape).toEqual([]);
    expect(s.data[0]).toBe(10);
  });

  test('constants coerce to the other operand dtype', async () => {
    const out = await run([i32([1, 2])], (x) => ops.mul(x, 3));
    expect(out.dtype).toBe('int32');
    expect(Array.from(out.data)).toEqual([3, 6]);
  });

  test('maximum/minimum propagate NaN', async () => {
    expectClose(await run([f32([NaN, 1]), f32([1, NaN])], ops.maximum), [NaN, NaN]);
  });
});

describe('comparisons, logic and where', () => {
  const a = [1, 2, 3];
  const b = [2, 2, 2];
  const cases: [string, (x: SymbolicTensor, y: SymbolicTensor) => SymbolicTensor, number[]][] = [
    ['equal', ops.equal, [0, 1, 0]],
    ['notEqual', ops.notEqual, [1, 0, 1]],
    ['less', ops.less, [1, 0, 0]],
    ['lessEqual', ops.lessEqual, [1, 1, 0]],
    ['greater', ops.greater, [0, 0, 1]],
    ['greaterEqual', ops.greaterEqual, [0, 1, 1]],
  ];
  test.each(cases)('%s gives bool', async (_name, fn, expected) => {
    for (const dtype of ['float32', 'int32', 'int64'] as DType[]) {
      const out = await run([tensor(a, [3], dtype), tensor(b, [3], dtype)], fn);
      expect(out.dtype).toBe('bool');
      expect(Array.from(out.data)).toEqual(expected);
    }
  });

  test('logicalAnd / logicalOr / logicalNot', async () => {
    const p = tensor([1, 1, 0, 0], [4], 'bool');
    const q = tensor([1, 0, 1, 0], [4], 'bool');
    expect(Array.from((await run([p, q], ops.logicalAnd)).data)).toEqual([1, 0, 0, 0]);
    expect(Array.from((await run([p, q], ops.logicalOr)).data)).toEqual([1, 1, 1, 0]);
    expect(Array.from((await run([p], ops.logicalNot)).data)).toEqual([0, 0, 1, 1]);
  });

  test('where broadcasts condition, x and y', async () => {
    const cond = tensor([1, 0], [2, 1], 'bool');
    const out = await run([cond, f32([1, 2, 3]), f32([-1], [])], (c, x, y) => ops.where(c, x, y));
    expect(out.shape).toEqual([2, 3]);
    expect(Array.from(out.data)).toEqual([1, 2, 3, -1, -1, -1]);
  });

  test('logic ops require bool', () => {
    const g = new Graph();
    expect(() => ops.logicalAnd(g.placeholder('float32', [1]), g.placeholder('float32', [1]))).toThrow(/must be bool/);
  });
});

describe('matmul', () => {
  /** Independent naive reference. */
  function naive(a: number[], b: number[], m: number, k: number, n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
        out.push(s);
      }
    return out;
  }
  const rand = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 7.1) * 2);

  test('2x3 @ 3x2 by hand', async () => {
    const out = await run([f32([1, 2, 3, 4, 5, 6], [2, 3]), f32([7, 8, 9, 10, 11, 12], [3, 2])], ops.matmul);
    expect(Array.from(out.data)).toEqual([58, 64, 139, 154]);
  });

  test.each([
    [1, 1, 1],
    [5, 7, 3],
    [17, 33, 9],
    [64, 300, 70],
  ])('%i x %i x %i against a naive loop (odd sizes exercise the tile edges)', async (m, k, n) => {
    const a = rand(m * k, 1);
    const b = rand(k * n, 2);
    expectClose(await run([f64(a, [m, k]), f64(b, [k, n])], ops.matmul), naive(a, b, m, k, n), 1e-12);
  });

  test('transposeA / transposeB', async () => {
    const a = [1, 4, 2, 5, 3, 6]; // [3,2] = transpose of [[1,2,3],[4,5,6]]
    const b = [7, 9, 11, 8, 10, 12]; // [2,3] = transpose of [[7,8],[9,10],[11,12]]
    const out = await run([f32(a, [3, 2]), f32(b, [2, 3])], (x, y) => ops.matmul(x, y, { transposeA: true, transposeB: true }));
    expect(Array.from(out.data)).toEqual([58, 64, 139, 154]);
  });

  test('batched with broadcast batch dims: [2,1,2,3] @ [3,3,2] -> [2,3,2,2]', async () => {
    const a = rand(2 * 2 * 3, 3);
    const b = rand(3 * 3 * 2, 4);
    const out = await run([f64(a, [2, 1, 2, 3]), f64(b, [3, 3, 2])], ops.matmul);
    expect(out.shape).toEqual([2, 3, 2, 2]);
    const expected: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) expected.push(...naive(a.slice(i * 6, i * 6 + 6), b.slice(j * 6, j * 6 + 6), 2, 3, 2));
    expectClose(out, expected, 1e-12);
  });

  // one B for a batch: one tall product (row-major A), B packed once (transposed A), a broadcast A
  test.each([
    ['A [3,2,5,7] row-major, B [7,6]', [3, 2, 5, 7], [7, 6], false, false],
    ['A [4,7,5] transposed, B [7,6]', [4, 7, 5], [7, 6], true, false],
    ['A [4,5,7], B [6,7] transposed', [4, 5, 7], [6, 7], false, true],
    ['A [2,1,5,7], B [1,7,6] (batch dims of 1)', [2, 1, 5, 7], [1, 7, 6], false, false],
  ] as [string, number[], number[], boolean, boolean][])('batched, %s: every entry against a naive loop, float32 and float64', async (_label, sa, sb, ta, tb) => {
    const sizeA = sa.reduce((p, d) => p * d, 1);
    const sizeB = sb.reduce((p, d) => p * d, 1);
    const [m, k] = ta ? [sa[sa.length - 1], sa[sa.length - 2]] : [sa[sa.length - 2], sa[sa.length - 1]];
    const n = tb ? sb[sb.length - 2] : sb[sb.length - 1];
    const a = rand(sizeA, 5);
    const b = rand(sizeB, 6);
    const plain = (x: number[], rows: number, cols: number, t: boolean): number[] => (t ? Array.from({ length: rows * cols }, (_, i) => x[(i % cols) * rows + Math.floor(i / cols)]) : x);
    const expected: number[] = [];
    for (let e = 0; e < sizeA / (m * k); e++) expected.push(...naive(plain(a.slice(e * m * k, (e + 1) * m * k), m, k, ta), plain(b.slice(0, k * n), k, n, tb), m, k, n));
    for (const [make, tol] of [[f64, 1e-12], [f32, 1e-5]] as const) {
      const out = await run([make(a, sa), make(b, sb)], (x, y) => ops.matmul(x, y, { transposeA: ta, transposeB: tb }));
      expect(out.shape).toEqual([...sa.slice(0, -2), m, n]);
      expectClose(out, expected, tol);
    }
  });

  test('int32 matmul', async () => {
    const out = await run([i32([1, 2, 3, 4], [2, 2]), i32([5, 6, 7, 8], [2, 2])], ops.matmul);
    expect(out.dtype).toBe('int32');
    expect(Array.from(out.data)).toEqual([19, 22, 43, 50]);
  });

  test('unknown dims propagate and empty matrices work', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 3]);
    const w = g.placeholder('float32', [3, null]);
    expect(ops.matmul(x, w).shape).toEqual([null, null]);
    const out = await run([f32([], [0, 3]), f32([1, 2, 3], [3, 1])], ops.matmul);
    expect(out.shape).toEqual([0, 1]);
  });
});
