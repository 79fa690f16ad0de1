import { Graph, gradients, ops, tensor } from 'graphc';
import { checkOnGpu, describeGpu, seeded } from './helpers';

/** The WGSL kernels of matrixSolve, matrixTriangularSolve and cholesky against the cpu backend, and their gradients' graphs. */

/** n x n matrices (a batch of `count`) of entries in [-1, 1] with n + 2 added on the diagonal. */
function wellConditioned(count: number, n: number, seed: number): Float32Array {
  return Float32Array.from(seeded(count * n * n, seed), (v, e) => (Math.floor(e / n) % n === e % n ? v + n + 2 : v));
}

describeGpu('webgpu linear algebra', () => {
  test('matrixSolve and matrixInverse: batches, adjoint, a zero first pivot, a singular matrix (NaN), 1x1', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [2, 3, 5, 5], 'a');
    const b = g.placeholder('float32', [2, 3, 5, 4], 'b');
    const p = g.placeholder('float32', [2, 3, 3], 'p');
    const pb = g.placeholder('float32', [2, 3, 2], 'pb');
    const one = g.placeholder('float32', [1, 1], 'one');
    const outs = [ops.matrixSolve(a, b), ops.matrixSolve(a, b, { adjoint: true }), ops.matrixSolve(p, pb), ops.matrixInverse(a), ops.matrixSolve(one, ops.reshape(one, [1, 1]))];
    await checkOnGpu(
      g,
      outs,
      {
        a: tensor(wellConditioned(6, 5, 1), [2, 3, 5, 5]),
        b: tensor(seeded(120, 2), [2, 3, 5, 4]),
        p: tensor([0, 1, 2, 1, 0, 3, 4, -3, 8, 1, 2, 3, 2, 4, 6, 1, 0, 1], [2, 3, 3]),
        pb: tensor(seeded(12, 3), [2, 3, 2]),
        one: tensor([4], [1, 1]),
      },
      ['matrixSolve'],
    );
  });

  test('matrixTriangularSolve: lower and upper, each plain and adjoint, the other triangle never read', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [3, 6, 6], 'a');
    const b = g.placeholder('float32', [3, 6, 2], 'b');
    const outs = [true, false].flatMap((lower) => [false, true].map((adjoint) => ops.matrixTriangularSolve(lower ? ops.tril(a) : ops.triu(a), b, { lower, adjoint })));
    await checkOnGpu(g, outs, { a: tensor(wellConditioned(3, 6, 4), [3, 6, 6]), b: tensor(seeded(36, 5), [3, 6, 2]) }, ['matrixTriangularSolve']);
  });

  test('cholesky: x x^T + 6 I, a matrix that is not positive definite (NaN), and the gradients of all three ops', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 4, 4], 'x');
    const bad = g.placeholder('float32', [2, 2, 2], 'bad');
    const rhs = g.placeholder('float32', [2, 4, 3], 'rhs');
    const spd = ops.add(ops.matmul(x, x, { transposeB: true }), g.constant(tensor(Float32Array.from({ length: 16 }, (_, e) => (e % 5 === 0 ? 6 : 0)), [4, 4])));
    const l = ops.cholesky(spd);
    const solved = ops.matrixSolve(spd, rhs);
    const loss = ops.add(ops.reduceSum(ops.square(l)), ops.reduceSum(ops.mul(solved, ops.matrixTriangularSolve(l, rhs, { adjoint: true }))));
    const [dx, drhs] = gradients(loss, [x, rhs]);
    await checkOnGpu(
      g,
      [l, ops.cholesky(bad), dx, drhs],
      { x: tensor(seeded(32, 6), [2, 4, 4]), bad: tensor([4, 2, 2, 3, 1, 2, 2, 1], [2, 2, 2]), rhs: tensor(seeded(24, 7), [2, 4, 3]) },
      ['cholesky', 'matrixSolve', 'matrixTriangularSolve'],
    );
  });
});
