import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import { setGradient } from '../registry';
import { shapeToString } from '../shape';
import { tensor } from '../tensor';
import { transpose } from '../ops/array/transpose';
import { tril, triu } from '../ops/array/trilu';
import { add, mul } from '../ops/math/binary';
import { identityLike, matrixSolve, matrixTriangularSolve } from '../ops/math/linalg';
import { matmul } from '../ops/math/matmul';
import { neg } from '../ops/math/unary';

/** x with its last two dimensions swapped. */
function matrixTranspose(x: SymbolicTensor): SymbolicTensor {
  const perm = Array.from({ length: x.rank }, (_, k) => k);
  [perm[x.rank - 2], perm[x.rank - 1]] = [x.rank - 1, x.rank - 2];
  return transpose(x, perm);
}

/**
 * x = a^-1 b: db = a^-T dx (a solve with the other adjoint), da = -db x^T; with `adjoint`
 * (x = a^-T b), da = -x db^T. As TensorFlow's MatrixSolve gradient.
 */
setGradient('matrixSolve', ({ node, inputs, outputs, grads }) => {
  const [a] = inputs;
  const x = outputs[0];
  const adjoint = node.attrs.adjoint === true;
  const db = matrixSolve(a, grads[0]!, { adjoint: !adjoint });
  const da = adjoint ? matmul(x, db, { transposeB: true }) : matmul(db, x, { transposeB: true });
  return [neg(da), db];
});

/** The same as matrixSolve's, with a's gradient kept to the triangle the op reads. */
setGradient('matrixTriangularSolve', ({ node, inputs, outputs, grads }) => {
  const [a] = inputs;
  const x = outputs[0];
  const adjoint = node.attrs.adjoint === true;
  const lower = node.attrs.lower !== false;
  const db = matrixTriangularSolve(a, grads[0]!, { lower, adjoint: !adjoint });
  const da = neg(adjoint ? matmul(x, db, { transposeB: true }) : matmul(db, x, { transposeB: true }));
  return [lower ? tril(da) : triu(da), db];
});

/**
 * Murray's (2016) symmetric form, as TensorFlow writes it: with phi(m) the lower triangle of m with
 * its diagonal halved, da = sym(l^-T phi(l^T dl) l^-1), sym(g) = (g + g^T) / 2. The forward op reads
 * only a's lower triangle; this gradient spreads each entry's share over both triangles, so it is
 * the derivative along symmetric changes of a (which is what a symmetric a sees).
 */
setGradient('cholesky', ({ node, outputs, grads }) => {
  const l = outputs[0];
  const n = l.shape[l.rank - 1];
  if (n === null) throw new GradientError(`gradient of cholesky (node '${node.name}'): the matrix size of ${shapeToString(l.shape)} must be known`);
  const halfDiagonalLower = Array.from({ length: n * n }, (_, e) => {
    const [r, c] = [Math.floor(e / n), e % n];
    return r > c ? 1 : r === c ? 0.5 : 0;
  });
  const lInverse = matrixTriangularSolve(l, identityLike(l), { lower: true });
  const middle = mul(matmul(l, grads[0]!, { transposeA: true }), l.graph.constant(tensor(halfDiagonalLower, [n, n], l.dtype)));
  const g = matmul(matmul(lInverse, middle, { transposeA: true }), lInverse);
  return [mul(add(g, matrixTranspose(g)), 0.5)];
});
