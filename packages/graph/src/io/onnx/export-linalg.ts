import type { Node } from '../../graph';
import { hasOp } from '../../registry';
import { tensor } from '../../tensor';
import { ExportContext, int, ints, setOnnxExport } from './export-context';
import { transposeLast2 } from './export-rules';

/**
 * matrixSolve and matrixTriangularSolve as ONNX: x = inv(a) b. ONNX has no solve and no inverse, so
 * the inverse is the adjugate over the determinant, both from Det: the cofactor of (i, j) is the
 * signed Det of a without row i and column j, the n^2 minors gathered at once by constant row and
 * column tables (as det's gradient builds them). With `contribOps`, onnxruntime's com.microsoft
 * Inverse takes their place. Meant for the small matrices these ops see: it takes n^2 determinants
 * of size n - 1. A singular matrix divides by a zero determinant (infinities and NaN, where graphc's
 * kernels give NaN throughout). cholesky has no ONNX form.
 */

/** inv(a) for a [..., n, n] of static n: adjugate / det. */
function inverseByCofactors(ctx: ExportContext, a: string, rank: number, n: number, dtype: Node['outputs'][0]['dtype']): string {
  if (n === 1) return ctx.emit('Reciprocal', [a])[0];
  const others: number[] = [];
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) if (k !== i) others.push(k);
  const table = ctx.constant(tensor(others, [n, n - 1], 'int64'), 'minor_rows');
  const rows = ctx.emit('Gather', [a, table], 1, { axis: int(rank - 2) })[0]; // [..., i, n - 1, n]
  const both = ctx.emit('Gather', [rows, table], 1, { axis: int(rank) })[0]; // [..., i, n - 1, j, n - 1]
  const batch = Array.from({ length: rank - 2 }, (_, k) => k);
  const minors = ctx.emit('Transpose', [both], 1, { perm: ints([...batch, rank - 2, rank, rank - 1, rank + 1]) })[0];
  const signs = ctx.constant(tensor(Array.from({ length: n * n }, (_, e) => ((Math.floor(e / n) + (e % n)) % 2 === 0 ? 1 : -1)), [n, n], dtype), 'cofactor_signs');
  const cofactors = ctx.emit('Mul', [ctx.emit('Det', [minors])[0], signs])[0];
  const det = ctx.emit('Unsqueeze', [ctx.emit('Det', [a])[0], ctx.int64s([rank - 2, rank - 1], 'axes')])[0];
  return ctx.emit('Div', [transposeLast2(ctx, cofactors, rank), det])[0];
}

function solveRule(triangular: boolean) {
  return (ctx: ExportContext, n: Node): void => {
    const rank = n.inputs[0].rank;
    const size = n.inputs[0].shape[rank - 1] ?? n.inputs[0].shape[rank - 2];
    if (size === null) ctx.unsupported('the matrix size must be known');
    let a = ctx.input(0);
    if (triangular) a = ctx.emit('Trilu', [a, ctx.constant(tensor([0], [], 'int64'), 'k')], 1, { upper: int(n.attrs.lower === false ? 1 : 0) })[0];
    if (n.attrs.adjoint === true) a = transposeLast2(ctx, a, rank);
    const inverse = ctx.contribOps ? ctx.emit('Inverse', [a], 1, {}, 'com.microsoft')[0] : inverseByCofactors(ctx, a, rank, size, n.outputs[0].dtype);
    ctx.emitOut('MatMul', [inverse, ctx.input(1)]);
  };
}

if (hasOp('matrixSolve')) setOnnxExport('matrixSolve', solveRule(false));
if (hasOp('matrixTriangularSolve')) setOnnxExport('matrixTriangularSolve', solveRule(true));
