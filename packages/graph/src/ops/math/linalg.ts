import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import type { InferContext, OutputInfo } from '../../opdef';
import { registerOp } from '../../registry';
import { Shape, shapeToString } from '../../shape';
import { tensor } from '../../tensor';
import { apply1 } from '../builder';
import { requireFloat, sameDType, squareMatrixSize } from '../infer-helpers';
import { broadcastToShapeOf } from './broadcast-gradient';

/**
 * Linear algebra on the last two dimensions (tf.linalg): solving square systems, triangular
 * systems, and the Cholesky factor. Every kernel works on one matrix of the batch at a time; where
 * the system has no solution (a zero pivot in matrixSolve, a matrix that is not positive definite in
 * cholesky) that matrix's whole result is NaN on every backend, where TensorFlow raises.
 */

/** Two dimensions that must agree where both are known; the known one of the two. */
function agreeing(a: number | null, b: number | null): number | null {
  return a ?? b;
}

/** Output of a solve: b's shape, after checking a ([..., n, n]) and b ([..., n, k]) have one batch and one n. */
function inferSolve(ctx: InferContext): OutputInfo[] {
  const dtype = requireFloat(ctx, 0);
  sameDType(ctx);
  const n = squareMatrixSize(ctx, 0);
  const [a, b] = ctx.inputs.map((i) => i.shape);
  const clash = (): never => {
    throw new ShapeError(`${ctx.where}matrices ${shapeToString(a)} and right-hand sides ${shapeToString(b)} must share their batch and size n ([..., n, n] and [..., n, k])`);
  };
  if (b.length !== a.length) clash();
  const shape: Shape = b.map((d, k) => {
    if (k === b.length - 1) return d;
    const other = k === b.length - 2 ? n : a[k];
    if (d !== null && other !== null && d !== other) clash();
    return agreeing(d, other);
  });
  return [{ dtype, shape }];
}

registerOp({ name: 'matrixSolve', family: 'math', numInputs: 2, infer: inferSolve });
registerOp({ name: 'matrixTriangularSolve', family: 'math', numInputs: 2, infer: inferSolve });
registerOp({
  name: 'cholesky',
  family: 'math',
  numInputs: 1,
  infer: (ctx) => {
    const dtype = requireFloat(ctx, 0);
    squareMatrixSize(ctx, 0);
    return [{ dtype, shape: [...ctx.inputs[0].shape] }];
  },
});

/**
 * matrixSolve(a, b): x with a x = b (a^T x = b when `adjoint`), for a [..., n, n] and b [..., n, k]
 * of one batch (tf.linalg.solve); Gaussian elimination with partial pivoting.
 */
export function matrixSolve(a: TensorLike, b: TensorLike, options: { adjoint?: boolean } = {}, name?: string): SymbolicTensor {
  return apply1('matrixSolve', [a, b], { adjoint: options.adjoint ?? false }, name);
}

/**
 * matrixTriangularSolve(a, b): x with a x = b for a lower (or upper, `lower: false`) triangular a,
 * reading only that triangle of a (tf.linalg.triangular_solve); `adjoint` solves a^T x = b.
 */
export function matrixTriangularSolve(a: TensorLike, b: TensorLike, options: { lower?: boolean; adjoint?: boolean } = {}, name?: string): SymbolicTensor {
  return apply1('matrixTriangularSolve', [a, b], { lower: options.lower ?? true, adjoint: options.adjoint ?? false }, name);
}

/** cholesky(a): the lower triangular l with l l^T = a, from a's lower triangle (tf.linalg.cholesky). */
export function cholesky(a: TensorLike, name?: string): SymbolicTensor {
  return apply1('cholesky', [a], {}, name);
}

/** An identity matrix for each matrix of `a` ([..., n, n], n known), of a's dtype. */
export function identityLike(a: SymbolicTensor): SymbolicTensor {
  const n = a.shape[a.rank - 1] ?? a.shape[a.rank - 2];
  if (n === null || a.rank < 2) throw new ShapeError(`identityLike: the matrix size of ${shapeToString(a.shape)} must be known`);
  const data = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return broadcastToShapeOf(a.graph.constant(tensor(data, [n, n], a.dtype)), a);
}

/** matrixInverse(a): the inverse of each square matrix of a (tf.linalg.inv), as matrixSolve(a, I). */
export function matrixInverse(a: TensorLike, options: { adjoint?: boolean } = {}, name?: string): SymbolicTensor {
  const x = toSymbolic(graphOf([a]), a);
  return matrixSolve(x, identityLike(x), options, name);
}
