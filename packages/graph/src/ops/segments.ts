import { DType, finiteRange, isFloat, isInteger } from '../dtype';
import { DTypeError, ShapeError } from '../errors';
import { Graph, SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../graph';
import { isTensorValue, tensor } from '../tensor';
import { cast } from './array/cast';
import { expand } from './array/expand';
import { fill, onesLike, zerosLike } from './array/fill';
import { ScatterReduction, scatterNd } from './array/gather-nd';
import { expandDims, reshape } from './array/reshape';
import { add, div, less, maximum, mul, where } from './math/binary';
import { reduceSum } from './reduce/reduce';

/**
 * TensorFlow's unsorted segment reductions (tf.math.unsorted_segment_sum, _mean, _max, _min):
 * out[s] combines every row data[i] whose segmentIds[i] is s, for s in [0, numSegments). The ids
 * cover data's leading dimensions (their shape is a prefix of data's), so data [N, D] with ids [N]
 * gives [numSegments, D]. A negative id drops its row, as TensorFlow's does; an id at or past
 * numSegments is a run-time error. Compositions of scatterNd: every backend runs them, and autodiff
 * differentiates them (max and min share a tie's gradient equally among the tied rows).
 */

/** What an empty segment holds: TensorFlow's identity of each reduction (the lowest float for max). */
function identityOf(how: ScatterReduction, dtype: DType): number {
  if (how === 'add') return 0;
  const [lowest, highest] = finiteRange(dtype);
  return how === 'max' ? lowest : highest;
}

interface Segments {
  graph: Graph;
  data: SymbolicTensor;
  ids: SymbolicTensor;
  /** The rows' own shape: data's dimensions past the ids'. */
  row: (number | null)[];
}

function segmentsOf(op: string, data: TensorLike, segmentIds: TensorLike, numSegments: number): Segments {
  const graph = graphOf([data, segmentIds]);
  const x = toSymbolic(graph, data);
  // plain arrays of ids become int32 (a tensor value or a tensor keeps its dtype)
  const ids = toSymbolic(graph, segmentIds, 'int32');
  if (!isInteger(ids.dtype)) throw new DTypeError(`${op}: segmentIds must be int32 or int64, got ${ids.dtype}`);
  if (!(Number.isInteger(numSegments) && numSegments >= 0)) throw new ShapeError(`${op}: numSegments must be a non-negative integer, got ${numSegments}`);
  const prefix = x.shape.slice(0, ids.rank);
  const clash = ids.rank > x.rank || ids.shape.some((d, i) => d !== null && prefix[i] !== null && d !== prefix[i]);
  if (clash) throw new ShapeError(`${op}: segmentIds [${ids.shape}] must be a prefix of data's shape [${x.shape}]`);
  return { graph, data: x, ids, row: x.shape.slice(ids.rank) };
}

/** The ids as known when the graph is built (a plain array or tensor value), else null. */
function knownIds(segmentIds: TensorLike): ArrayLike<number> | null {
  if (isTensorValue(segmentIds)) return segmentIds.data;
  return Array.isArray(segmentIds) ? (segmentIds.flat(Infinity) as number[]) : null;
}

/** [numSegments, ...row] filled with `value`: a constant when the row's shape is known, else broadcast to data's rows. */
function filledSegments(s: Segments, numSegments: number, value: number): SymbolicTensor {
  const dtype = s.data.dtype;
  if (s.row.every((d): d is number => d !== null)) return fill([numSegments, ...s.row], value, dtype, { graph: s.graph });
  const column = expand(s.graph.constant(tensor([value], [], dtype)), [numSegments, ...s.row.map(() => 1)]);
  const leading = s.ids.shape.map((_, i) => i);
  return add(column, reduceSum(zerosLike(s.data), leading));
}

function segmentReduce(op: string, how: ScatterReduction, data: TensorLike, segmentIds: TensorLike, numSegments: number, name?: string): SymbolicTensor {
  const s = segmentsOf(op, data, segmentIds, numSegments);
  const empty = identityOf(how, s.data.dtype);
  let rows = s.data;
  let ids = s.ids;
  const known = knownIds(segmentIds);
  if (!known || Array.prototype.some.call(known, (v: number) => v < 0)) {
    // a dropped row scatters the reduction's identity into segment 0, which changes nothing there
    let dropped = less(ids, 0);
    for (let i = 0; i < s.row.length; i++) dropped = expandDims(dropped, -1);
    rows = where(dropped, s.graph.constant(tensor([empty], [], s.data.dtype)), rows);
    ids = maximum(ids, s.graph.constant(tensor([0], [], ids.dtype)));
  }
  return scatterNd(filledSegments(s, numSegments, empty), expandDims(ids, -1), rows, how, name);
}

/**
 * Sums of data's rows by segment (tf.math.unsorted_segment_sum); an empty segment is 0.
 *
 * ```ts
 * ops.unsortedSegmentSum(x, [0, 2, 0], 3);   // x [3, D] -> [x[0] + x[2], 0, x[1]]
 * ```
 */
export function unsortedSegmentSum(data: TensorLike, segmentIds: TensorLike, numSegments: number, name?: string): SymbolicTensor {
  return segmentReduce('unsortedSegmentSum', 'add', data, segmentIds, numSegments, name);
}

/** Maxima of data's rows by segment (tf.math.unsorted_segment_max); an empty segment holds the dtype's lowest value. */
export function unsortedSegmentMax(data: TensorLike, segmentIds: TensorLike, numSegments: number, name?: string): SymbolicTensor {
  return segmentReduce('unsortedSegmentMax', 'max', data, segmentIds, numSegments, name);
}

/** Minima of data's rows by segment (tf.math.unsorted_segment_min); an empty segment holds the dtype's largest value. */
export function unsortedSegmentMin(data: TensorLike, segmentIds: TensorLike, numSegments: number, name?: string): SymbolicTensor {
  return segmentReduce('unsortedSegmentMin', 'min', data, segmentIds, numSegments, name);
}

/** Means of data's rows by segment (tf.math.unsorted_segment_mean), float data only; an empty segment is 0. */
export function unsortedSegmentMean(data: TensorLike, segmentIds: TensorLike, numSegments: number, name?: string): SymbolicTensor {
  const s = segmentsOf('unsortedSegmentMean', data, segmentIds, numSegments);
  if (!isFloat(s.data.dtype)) throw new DTypeError(`unsortedSegmentMean: data must be float32 or float64, got ${s.data.dtype}`);
  const sums = unsortedSegmentSum(s.data, segmentIds, numSegments);
  const counts = unsortedSegmentSum(cast(onesLike(s.ids), s.data.dtype), segmentIds, numSegments);
  const perRow = reshape(maximum(counts, s.graph.constant(tensor([1], [], s.data.dtype))), [numSegments, ...s.row.map(() => 1)]);
  return div(sums, perRow, name);
}

/**
 * counts[l, p]: how many i have labels[i] = l and predictions[i] = p (tf.math.confusion_matrix),
 * int32; with weights, their sums, of the weights' dtype. Labels and predictions lie in
 * [0, numClasses) (one past it is a run-time error; a negative label drops its entry).
 */
export function confusionMatrix(labels: TensorLike, predictions: TensorLike, numClasses: number, weights?: TensorLike, name?: string): SymbolicTensor {
  const graph = graphOf([labels, predictions, weights]);
  const [l, p] = [toSymbolic(graph, labels, 'int32'), toSymbolic(graph, predictions, 'int32')];
  if (!isInteger(l.dtype) || l.dtype !== p.dtype) throw new DTypeError(`confusionMatrix: labels and predictions must share an integer dtype, got ${l.dtype} and ${p.dtype}`);
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new ShapeError(`confusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
  const cells = add(mul(l, graph.constant(tensor([numClasses], [], l.dtype))), p);
  const counted = weights === undefined ? onesLike(l) : toSymbolic(graph, weights);
  return reshape(unsortedSegmentSum(counted, cells, numClasses * numClasses), [numClasses, numClasses], name);
}

/**
 * How often each value in [0, size) occurs in x (tf.math.bincount with minlength = maxlength =
 * size), int32; with weights (x's shape), their sums. Values outside [0, size) are left out.
 */
export function bincount(x: TensorLike, size: number, weights?: TensorLike, name?: string): SymbolicTensor {
  const graph = graphOf([x, weights]);
  const values = reshape(toSymbolic(graph, x, 'int32'), [-1]);
  if (!isInteger(values.dtype)) throw new DTypeError(`bincount: x must be int32 or int64, got ${values.dtype}`);
  if (!(Number.isInteger(size) && size >= 0)) throw new ShapeError(`bincount: size must be a non-negative integer, got ${size}`);
  const ids = where(less(values, graph.constant(tensor([size], [], values.dtype))), values, -1);
  const counted = weights === undefined ? onesLike(values) : reshape(toSymbolic(graph, weights), [-1]);
  return unsortedSegmentSum(counted, ids, size, name);
}
