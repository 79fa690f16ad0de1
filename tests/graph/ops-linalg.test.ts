import { DTypeError, Graph, Session, ShapeError, SymbolicTensor, TensorValue, checkGradients, ops, tensor } from 'graphc';
import { values } from '../passes/autodiff/helpers';

/** matrixSolve, matrixInverse, matrixTriangularSolve and cholesky (tf.linalg), and their gradients. */

/** a [..., n, n] with `boost` added on the diagonal: random entries, kept away from singular. */
function matrices(shape: number[], seed: number, boost = 4): TensorValue {
  const v = values(shape, seed);
  const n = shape[shape.length - 1];
  const data = Float64Array.from(v.data as Float64Array, (x, e) => (Math.floor(e / n) % n === e % n ? x + boost : x));
  return tensor(data, shape, 'float64');
}

/** The product of matrix `m` of a ([.., n, n], transposed when `adjoint`) with matrix m of x ([.., n, k]). */
function product(a: TensorValue, x: TensorValue, adjoint = false): number[] {
  const [n, k] = x.shape.slice(-2);
  const out: number[] = [];
  for (let m = 0; m < x.data.length / (n * k); m++) {
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += (adjoint ? a.data[m * n * n + i * n + r] : a.data[m * n * n + r * n + i]) * x.data[m * n * k + i * k + j];
        out.push(s);
      }
    }
  }
  return out;
}

/** a with the triangle the op must not read set to NaN (diagonal kept). */
function keepTriangle(a: TensorValue, lower: boolean): TensorValue {
  const n = a.shape[a.shape.length - 1];
  const data = Float64Array.from(a.data as Float64Array, (v, e) => {
    const [r, c] = [Math.floor(e / n) % n, e % n];
    return (lower ? c > r : c < r) ? NaN : v;
  });
  return tensor(data, a.shape, 'float64');
}

async function run(build: (g: Graph, feed: (name: string, v: TensorValue) => SymbolicTensor) => SymbolicTensor[]): Promise<TensorValue[]> {
  const g = new Graph();
  const feeds: Record<string, TensorValue> = {};
  const outs = build(g, (name, v) => {
    feeds[name] = v;
    return g.placeholder(v.dtype, v.shape, name);
  });
  return new Session(g).run(outs, feeds);
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`element ${i}: ${got[i]}, expected ${want[i]} (tolerance ${tol})`);
}

describe('matrixSolve and matrixInverse', () => {
  test.each([false, true])('a batch of 4x4 systems with 3 right-hand sides (adjoint %s): a x = b', async (adjoint) => {
    const a = matrices([2, 3, 4, 4], 1);
    const b = values([2, 3, 4, 3], 2);
    const [x] = await run((_g, feed) => [ops.matrixSolve(feed('a', a), feed('b', b), { adjoint })]);
    expect(x.shape).toEqual([2, 3, 4, 3]);
    expectClose(product(a, x, adjoint), b.data, 1e-12);
  });

  test('pivoting: a zero in the corner, a permutation, a 1x1 system', async () => {
    const perm = tensor([0, 0, 1, 2, 0, 0, 0, 3, 0], [3, 3], 'float64');
    const b = tensor([1, 2, 3], [3, 1], 'float64');
    const [x, y] = await run((_g, feed) => [ops.matrixSolve(feed('p', perm), feed('b', b)), ops.matrixSolve(feed('one', tensor([4], [1, 1], 'float64')), feed('c', tensor([2, -6], [1, 2], 'float64')))]);
    expect(Array.from(x.data)).toEqual([1, 1, 1]);
    expect(Array.from(y.data)).toEqual([0.5, -1.5]);
  });

  test('a singular matrix gives NaN for its own system only', async () => {
    const a = tensor([1, 2, 2, 4, 2, 0, 0, 2], [2, 2, 2], 'float64');
    const [x] = await run((_g, feed) => [ops.matrixSolve(feed('a', a), feed('b', tensor([1, 1, 4, 6], [2, 2, 1], 'float64')))]);
    expect(Array.from(x.data.slice(0, 2)).every(Number.isNaN)).toBe(true);
    expect(Array.from(x.data.slice(2))).toEqual([2, 3]);
  });

  test('matrixInverse: a a^-1 = I in float32 and float64, and the adjoint is the inverse transposed', async () => {
    const a64 = matrices([3, 5, 5], 3);
    const a32 = tensor(Float32Array.from(a64.data as Float64Array), [3, 5, 5]);
    const [inv64, inv32, invT] = await run((_g, feed) => [ops.matrixInverse(feed('a', a64)), ops.matrixInverse(feed('b', a32)), ops.matrixInverse(feed('c', a64), { adjoint: true })]);
    const eye = Array.from({ length: 75 }, (_, e) => (Math.floor(e / 5) % 5 === e % 5 ? 1 : 0));
    expectClose(product(a64, inv64), eye, 1e-12);
    expect(inv32.dtype).toBe('float32');
    expectClose(product(a64, inv32), eye, 1e-5);
    expectClose(product(a64, invT, true), eye, 1e-12);
  });

  test('shapes and dtypes are checked when the graph is built', () => {
    const g = new Graph();
    expect(() => ops.matrixSolve(g.placeholder('float32', [3, 4]), g.placeholder('float32', [3, 1]))).toThrow(/not a batch of square matrices/);
    expect(() => ops.matrixSolve(g.placeholder('float32', [2, 3, 3]), g.placeholder('float32', [3, 3, 1]))).toThrow(ShapeError);
    expect(() => ops.matrixSolve(g.placeholder('float32', [3, 3]), g.placeholder('float32', [4, 1]))).toThrow(/share their batch and size n/);
    expect(() => ops.matrixSolve(g.placeholder('float32', [3, 3]), g.placeholder('float32', [3]))).toThrow(ShapeError);
    expect(() => ops.matrixSolve(g.placeholder('int32', [3, 3]), g.placeholder('int32', [3, 1]))).toThrow(DTypeError);
    expect(() => ops.matrixSolve(g.placeholder('float32', [3, 3]), g.placeholder('float64', [3, 1]))).toThrow(DTypeError);
    expect(() => ops.cholesky(g.placeholder('float32', [2, 3]))).toThrow(/not a batch of square matrices/);
    const unknown = ops.matrixTriangularSolve(g.placeholder('float32', [null, 3, 3]), g.placeholder('float32', [2, null, 5]));
    expect(unknown.shape).toEqual([2, 3, 5]);
  });
});

describe('matrixTriangularSolve', () => {
  test.each([
    [true, false],
    [true, true],
    [false, false],
    [false, true],
  ])('lower %s, adjoint %s: solves with its triangle and never reads the other', async (lower, adjoint) => {
    const full = matrices([2, 5, 5], 4);
    const a = keepTriangle(full, lower);
    const b = values([2, 5, 2], 5);
    const [x] = await run((_g, feed) => [ops.matrixTriangularSolve(feed('a', a), feed('b', b), { lower, adjoint })]);
    const triangle = tensor(Float64Array.from(a.data as Float64Array, (v) => (Number.isNaN(v) ? 0 : v)), a.shape, 'float64');
    expectClose(product(triangle, x, adjoint), b.data, 1e-12);
  });
});

describe('cholesky', () => {
  test('l l^T = a with l lower triangular, from the lower triangle alone', async () => {
    const x = values([2, 4, 4], 6);
    const spd = tensor(product(x, tensor(transposeEach(x), x.shape, 'float64')).map((v, e) => (Math.floor(e / 4) % 4 === e % 4 ? v + 1 : v)), [2, 4, 4], 'float64');
    const [l] = await run((_g, feed) => [ops.cholesky(feed('a', keepTriangle(spd, true)))]);
    l.data.forEach((v, e) => {
      if (e % 4 > Math.floor(e / 4) % 4) expect(v).toBe(0);
    });
    expectClose(product(l, tensor(transposeEach(l), l.shape, 'float64')), spd.data, 1e-12);
  });

  test('a matrix that is not positive definite gives NaN for itself only', async () => {
    const a = tensor([4, 2, 2, 3, 1, 2, 2, 1], [2, 2, 2], 'float64');
    const [l] = await run((_g, feed) => [ops.cholesky(feed('a', a))]);
    expect(Array.from(l.data.slice(0, 4))).toEqual([2, 0, 1, Math.sqrt(2)]);
    expect(Array.from(l.data.slice(4)).every(Number.isNaN)).toBe(true);
  });
});

/** Each matrix of x ([..., n, n]) transposed, flat. */
function transposeEach(x: TensorValue): number[] {
  const n = x.shape[x.shape.length - 1];
  return Array.from(x.data, (_, e) => {
    const base = e - (e % (n * n));
    const [r, c] = [Math.floor(e / n) % n, e % n];
    return x.data[base + c * n + r];
  });
}

describe('gradients (float64, central differences)', () => {
  test.each([false, true])('matrixSolve, adjoint %s: both inputs', async (adjoint) => {
    await checkGradients((a, b) => ops.matrixSolve(a, b, { adjoint }), [matrices([2, 3, 3], 7), values([2, 3, 2], 8)]);
  });

  test('matrixInverse, and its second derivative', async () => {
    const { gradients } = await import('graphc');
    await checkGradients((a) => ops.matrixInverse(a), [matrices([4, 4], 9)]);
    await checkGradients(
      (a, v) => {
        const [da] = gradients(ops.reduceSum(ops.square(ops.matrixInverse(a))), [a]);
        return ops.reduceSum(ops.mul(da, v));
      },
      [matrices([3, 3], 10), values([3, 3], 11)],
    );
  });

  test.each([
    [true, false],
    [true, true],
    [false, false],
    [false, true],
  ])('matrixTriangularSolve, lower %s, adjoint %s: the unread triangle takes no gradient', async (lower, adjoint) => {
    const r = await checkGradients((a, b) => ops.matrixTriangularSolve(a, b, { lower, adjoint }), [matrices([2, 4, 4], 12), values([2, 4, 3], 13)]);
    const da = r.symbolic[0];
    da.data.forEach((v, e) => {
      const [row, col] = [Math.floor(e / 4) % 4, e % 4];
      if (lower ? col > row : col < row) expect(v).toBe(0);
    });
  });

  test('cholesky of a symmetric positive definite x x^T + 3 I', async () => {
    await checkGradients((x) => ops.cholesky(ops.add(ops.matmul(x, x, { transposeB: true }), ops.mul(3, eyeLike(x)))), [values([2, 4, 4], 14)]);
  });
});

/** An identity of x's matrices' size and dtype, as a constant. */
function eyeLike(x: SymbolicTensor): SymbolicTensor {
  const n = x.shape[x.rank - 1]!;
  return x.graph.constant(tensor(Array.from({ length: n * n }, (_, e) => (Math.floor(e / n) === e % n ? 1 : 0)), [n, n], x.dtype));
}
