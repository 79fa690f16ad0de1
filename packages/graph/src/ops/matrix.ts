import { ShapeError } from '../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../graph';
import { normalizeAxis, shapeToString } from '../shape';
import { tensor } from '../tensor';
import { pad } from './array/pad';
import { expandDims, reshape } from './array/reshape';
import { transpose } from './array/transpose';
import { matmul } from './math/matmul';
import { slice } from './array/slice';
import { where } from './math/binary';
import { reduceSum } from './reduce/reduce';

/**
 * TensorFlow's matrix helpers (tf.linalg.diag, diag_part, set_diag, band_part, trace) on the last
 * two dimensions, built from where over constant masks: every value is moved, never multiplied,
 * so an infinity or NaN off the band stays out of the result. The matrix sizes must be known.
 * And tf.tensordot, a matmul of the flattened axes.
 */

/** x as a tensor with its matrix sizes [m, n] known. */
function matrixOf(x: TensorLike, what: string): { t: SymbolicTensor; m: number; n: number } {
  const t = toSymbolic(graphOf([x]), x);
  const [m, n] = t.shape.slice(-2);
  if (t.rank < 2 || m === null || n === null) throw new ShapeError(`${what}: ${t.name} ${shapeToString(t.shape)} needs known matrix sizes [..., m, n]`);
  return { t, m, n };
}

/** A bool [m, n] constant, true where `keep(row, column)`. */
function mask(t: SymbolicTensor, m: number, n: number, keep: (r: number, c: number) => boolean): SymbolicTensor {
  return t.graph.constant(tensor(Array.from({ length: m * n }, (_, e) => (keep(Math.floor(e / n), e % n) ? 1 : 0)), [m, n], 'bool'));
}

/** The band of each matrix: entries at most numLower below and numUpper above the diagonal (a negative count: all), zeros elsewhere (tf.linalg.band_part). */
export function matrixBandPart(x: TensorLike, numLower: number, numUpper: number, name?: string): SymbolicTensor {
  const { t, m, n } = matrixOf(x, 'matrixBandPart');
  const band = mask(t, m, n, (r, c) => (numLower < 0 || r - c <= numLower) && (numUpper < 0 || c - r <= numUpper));
  return where(band, t, 0, name);
}

/** The diagonal of each matrix, [..., min(m, n)] (tf.linalg.diag_part). */
export function matrixDiagPart(x: TensorLike, name?: string): SymbolicTensor {
  const { t, m, n } = matrixOf(x, 'matrixDiagPart');
  const k = Math.min(m, n);
  const rows = m > k ? slice(t, [...t.shape.map(() => 0)], [...t.shape.slice(0, -2).map(() => -1), k, n]) : t;
  // where, not a product with the identity: off-diagonal infinities would make 0 * inf = NaN
  return reduceSum(where(mask(t, k, n, (r, c) => r === c), rows, 0), [-1], false, name);
}

/** Square matrices [..., n, n] with `diagonal` ([..., n]) on their diagonals and zeros elsewhere (tf.linalg.diag). */
export function matrixDiag(diagonal: TensorLike, name?: string): SymbolicTensor {
  const d = toSymbolic(graphOf([diagonal]), diagonal);
  const n = d.shape[d.rank - 1];
  if (d.rank < 1 || n === null) throw new ShapeError(`matrixDiag: the diagonal's length in ${d.name} ${shapeToString(d.shape)} must be known`);
  return where(mask(d, n, n, (r, c) => r === c), expandDims(d, -1), 0, name);
}

/** x with the diagonal of each matrix replaced by `diagonal` ([..., min(m, n)]) (tf.linalg.set_diag). */
export function matrixSetDiag(x: TensorLike, diagonal: TensorLike, name?: string): SymbolicTensor {
  const { t, m, n } = matrixOf(x, 'matrixSetDiag');
  const d = toSymbolic(t.graph, diagonal, t.dtype);
  const k = Math.min(m, n);
  if (d.shape[d.rank - 1] !== null && d.shape[d.rank - 1] !== k) throw new ShapeError(`matrixSetDiag: diagonal ${shapeToString(d.shape)} must end in min(m, n) = ${k} for ${shapeToString(t.shape)}`);
  // row r's diagonal value broadcast along its columns; rows past k (m > n) hold none
  const byRow = expandDims(m > k ? pad(d, [...d.shape.slice(0, -1).map((): [number, number] => [0, 0]), [0, m - k]]) : d, -1);
  return where(mask(t, m, n, (r, c) => r === c), byRow, t, name);
}

/** The sum of each matrix's diagonal, [...] (tf.linalg.trace). */
export function trace(x: TensorLike, name?: string): SymbolicTensor {
  return reduceSum(matrixDiagPart(x), [-1], false, name);
}

/**
 * Sums of products over `axes` of a and b (tf.tensordot): a number k pairs a's last k axes with
 * b's first k; a pair of lists pairs them by position. The result's axes are a's others, then b's.
 * A transpose of each side, and one matmul of the flattened pairs. The summed axes must be known,
 * and the result may have one unknown dimension at most.
 */
export function tensordot(a: TensorLike, b: TensorLike, axes: number | [number[], number[]], name?: string): SymbolicTensor {
  const g = graphOf([a, b]);
  const [x, y] = [toSymbolic(g, a), toSymbolic(g, b)];
  const [xAxes, yAxes] = typeof axes === 'number' ? [range0(axes).map((k) => x.rank - axes + k), range0(axes)] : axes;
  const fail = (why: string): never => {
    throw new ShapeError(`tensordot: ${shapeToString(x.shape)} and ${shapeToString(y.shape)} over axes ${JSON.stringify(axes)}: ${why}`);
  };
  if (xAxes.length !== yAxes.length) fail('the two lists of axes differ in length');
  const xs = xAxes.map((v) => normalizeAxis(v, x.rank, 'tensordot: '));
  const ys = yAxes.map((v) => normalizeAxis(v, y.rank, 'tensordot: '));
  if (new Set(xs).size !== xs.length || new Set(ys).size !== ys.length) fail('an axis is summed twice');
  const summed = xs.map((v, k) => {
    const [p, q] = [x.shape[v], y.shape[ys[k]]];
    if (p === null || q === null) return fail('the summed axes must be known');
    if (p !== q) fail(`axis ${v} of a (${p}) and axis ${ys[k]} of b (${q}) differ`);
    return p;
  });
  const xFree = range0(x.rank).filter((v) => !xs.includes(v));
  const yFree = range0(y.rank).filter((v) => !ys.includes(v));
  const outShape = [...xFree.map((v) => x.shape[v]), ...yFree.map((v) => y.shape[v])];
  if (outShape.filter((d) => d === null).length > 1) fail('the result would have more than one unknown dimension');
  const size = (dims: (number | null)[]): number => (dims.includes(null) ? -1 : dims.reduce<number>((p, d) => p * d!, 1));
  const k = summed.reduce((p, d) => p * d, 1);
  const left = reshape(permuted(x, [...xFree, ...xs]), [size(xFree.map((v) => x.shape[v])), k]);
  const right = reshape(permuted(y, [...ys, ...yFree]), [k, size(yFree.map((v) => y.shape[v]))]);
  return reshape(matmul(left, right), outShape.map((d) => d ?? -1), name);
}

const range0 = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** t transposed by `perm`, or t itself where perm keeps every axis in place. */
function permuted(t: SymbolicTensor, perm: number[]): SymbolicTensor {
  return perm.every((p, i) => p === i) ? t : transpose(t, perm);
}
