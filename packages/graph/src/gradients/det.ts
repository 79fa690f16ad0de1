import { GradientError } from '../errors';
import { setGradient } from '../registry';
import { shapeToString } from '../shape';
import { tensor } from '../tensor';
import { gather } from '../ops/array/gather';
import { expandDims } from '../ops/array/reshape';
import { transpose } from '../ops/array/transpose';
import { mul } from '../ops/math/binary';
import { det } from '../ops/math/det';

/**
 * d det(A) / dA is the cofactor matrix, C_ij = (-1)^(i+j) det(A without row i and column j) (Jacobi's
 * formula: det(A) inv(A)^T where A is invertible, and still exact where it is singular). The n^2
 * minors are gathered by constant row and column tables and their determinants taken at once, so
 * the gradient is det and gather again, and differentiates again. It costs n^2 determinants of
 * size n - 1: meant for the small matrices Det is used on.
 */
setGradient('det', ({ node, inputs, grads }) => {
  const [a] = inputs;
  const dy = grads[0]!;
  const rank = a.rank;
  const n = a.shape[rank - 1] ?? a.shape[rank - 2];
  if (n === null) throw new GradientError(`gradient of det (node '${node.name}'): the matrix size of ${shapeToString(a.shape)} must be known`);
  const scale = expandDims(expandDims(dy, -1), -1); // [..., 1, 1]
  if (n <= 1) return [n === 1 ? scale : mul(a, 0)];
  const graph = a.graph;
  // others[i]: every index but i
  const others: number[] = [];
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) if (k !== i) others.push(k);
  const table = graph.constant(tensor(others, [n, n - 1], 'int32'));
  const rows = gather(a, table, rank - 2); // [..., i, n - 1, n]
  const both = gather(rows, table, rank); // [..., i, n - 1, j, n - 1]
  const batch = Array.from({ length: rank - 2 }, (_, k) => k);
  const minors = transpose(both, [...batch, rank - 2, rank, rank - 1, rank + 1]); // [..., i, j, n - 1, n - 1]
  const signs = graph.constant(tensor(Array.from({ length: n * n }, (_, k) => ((Math.floor(k / n) + (k % n)) % 2 === 0 ? 1 : -1)), [n, n], a.dtype));
  return [mul(scale, mul(det(minors), signs))];
});
