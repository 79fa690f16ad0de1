import { ShapeError } from '../errors';
import { SymbolicTensor, TensorLike, getDefaultGraph, graphOf, toSymbolic } from '../graph';
import type { DType } from '../dtype';
import { tensor } from '../tensor';
import { concat, split } from './array/concat';
import { ArraySourceOptions, range } from './array/fill';
import { stridedSlice } from './array/strided-slice';
import { topK } from './array/top-k';
import { expandDims, reshape, squeeze } from './array/reshape';
import { abs, exp, log, neg, sigmoid, softplus, sqrt, square } from './math/unary';
import { add, div, equal, less, maximum, minimum, mul, sub, where } from './math/binary';
import { Axes, reduceMax, reduceMean, reduceSum } from './reduce/reduce';
import { stopGradient } from './control/control';
import { cast } from './array/cast';
import { gather } from './array/gather';
import { nonZero } from './array/non-zero';
import { ConvOptions, conv2d, depthwiseConv2d } from './nn/conv2d';
import type { Padding, Pair } from './nn/conv-util';

/**
 * TensorFlow helpers that are compositions of graphc ops (tf.stack, tf.nn.moments,
 * tf.reduce_logsumexp, tf.norm, tf.losses.*): no kernels of their own, so every backend runs them
 * and autodiff differentiates them.
 */

const symbolic = (x: TensorLike): SymbolicTensor => toSymbolic(graphOf([x]), x);

/** Joins same-shaped tensors along a new axis (tf.stack): N tensors [A, B] at axis 1 give [A, N, B]. */
export function stack(values: TensorLike[], axis = 0, name?: string): SymbolicTensor {
  if (values.length === 0) throw new ShapeError('stack: no tensors');
  const g = graphOf(values);
  const rank = toSymbolic(g, values[0]).rank;
  const at = axis < 0 ? axis + rank + 1 : axis;
  if (!(at >= 0 && at <= rank)) throw new ShapeError(`stack: axis ${axis} is out of range for tensors of rank ${rank}`);
  return concat(values.map((v) => expandDims(toSymbolic(g, v), at)), at, name);
}

/** Splits along `axis` into its slices, that axis removed (tf.unstack); the axis must be known. */
export function unstack(x: TensorLike, axis = 0): SymbolicTensor[] {
  const t = symbolic(x);
  const [at, n] = knownDim(t, axis, 'unstack');
  return split(t, n, at).map((part) => squeeze(part, at));
}

/** Mean and variance over `axes` (tf.nn.moments); the variance is the population one (divided by N). */
export function moments(x: TensorLike, axes?: Axes, keepDims = false): [SymbolicTensor, SymbolicTensor] {
  const t = symbolic(x);
  const mean = reduceMean(t, axes, true);
  // the mean is a constant of each deviation for the variance's gradient (as TensorFlow's moments)
  const variance = reduceMean(square(sub(t, stopGradient(mean))), axes, keepDims);
  return [keepDims ? mean : reduceMean(t, axes, false), variance];
}

/** Population variance over `axes` (tf.math.reduce_variance). */
export function reduceVariance(x: TensorLike, axes?: Axes, keepDims = false, name?: string): SymbolicTensor {
  const t = symbolic(x);
  return reduceMean(square(sub(t, reduceMean(t, axes, true))), axes, keepDims, name);
}

/** Population standard deviation over `axes` (tf.math.reduce_std). */
export function reduceStd(x: TensorLike, axes?: Axes, keepDims = false, name?: string): SymbolicTensor {
  return sqrt(reduceVariance(x, axes, keepDims), name);
}

/** `log(sum(exp(x)))` over `axes`, shifted by the maximum so it neither overflows nor underflows (tf.reduce_logsumexp). */
export function reduceLogSumExp(x: TensorLike, axes?: Axes, keepDims = false, name?: string): SymbolicTensor {
  const t = symbolic(x);
  // the shift cancels exactly in value; held constant it keeps the gradient softmax(x)
  const shift = stopGradient(reduceMax(t, axes, true));
  const result = add(log(reduceSum(exp(sub(t, shift)), axes, true)), shift);
  return keepDims ? result : squeeze(result, normalizedAxes(t, axes), name);
}

/** The L1 norm (`ord` 1), L2 (2, the default) or max norm (Infinity) over `axes`, all when omitted (tf.norm on vectors). */
export function norm(x: TensorLike, ord: 1 | 2 | typeof Infinity = 2, axes?: Axes, keepDims = false, name?: string): SymbolicTensor {
  const t = symbolic(x);
  if (ord === 1) return reduceSum(abs(t), axes, keepDims, name);
  if (ord === Infinity) return reduceMax(abs(t), axes, keepDims, name);
  if (ord === 2) return sqrt(reduceSum(square(t), axes, keepDims), name);
  throw new ShapeError(`norm: ord must be 1, 2 or Infinity, got ${ord}`);
}

function normalizedAxes(t: SymbolicTensor, axes?: Axes): number[] {
  const list = axes === undefined ? t.shape.map((_, i) => i) : typeof axes === 'number' ? [axes] : axes;
  return list.map((a) => (a < 0 ? a + t.rank : a));
}

/** The length of `axis` of `t`, which must be known (ops whose output size is that length). */
function knownDim(t: SymbolicTensor, axis: number, what: string): [number, number] {
  const at = axis < 0 ? axis + t.rank : axis;
  const n = t.shape[at];
  if (!(at >= 0 && at < t.rank)) throw new ShapeError(`${what}: axis ${axis} is out of range for ${t.name} of rank ${t.rank}`);
  if (n === null || n === undefined) throw new ShapeError(`${what}: dimension ${axis} of ${t.name} must be known`);
  return [at, n];
}

/** The values along `axis` in ascending order, or descending (tf.sort); NaN sorts as topK places it. */
export function sort(x: TensorLike, axis = -1, descending = false, name?: string): SymbolicTensor {
  const t = symbolic(x);
  const [at, n] = knownDim(t, axis, 'sort');
  return topK(t, n, at, descending, name)[0];
}

/** The int32 indices that sort `axis` (tf.argsort), ties in index order. */
export function argsort(x: TensorLike, axis = -1, descending = false, name?: string): SymbolicTensor {
  const t = symbolic(x);
  const [at, n] = knownDim(t, axis, 'argsort');
  return topK(t, n, at, descending, name)[1];
}

/** The elements in reverse order along each of `axes` (tf.reverse); those dimensions must be known. */
export function reverse(x: TensorLike, axes: number | number[], name?: string): SymbolicTensor {
  const t = symbolic(x);
  const flipped = new Set((typeof axes === 'number' ? [axes] : axes).map((a) => knownDim(t, a, 'reverse')[0]));
  const dims = t.shape.map((d, i) => {
    if (d === null) throw new ShapeError(`reverse: dimension ${i} of ${t.name} must be known (strided slices take static sizes)`);
    return d;
  });
  return stridedSlice(t, dims.map((d, i) => (flipped.has(i) ? d - 1 : 0)), dims.map((_, i) => (flipped.has(i) ? -1 : 1)), dims, name);
}

/** An identity matrix [rows, columns] (tf.eye), a constant. */
export function eye(rows: number, columns = rows, dtype: DType = 'float32', options: ArraySourceOptions = {}): SymbolicTensor {
  if (!(Number.isInteger(rows) && rows >= 0 && Number.isInteger(columns) && columns >= 0)) throw new ShapeError(`eye: sizes must be non-negative integers, got ${rows} x ${columns}`);
  const data = new Array<number>(rows * columns).fill(0);
  for (let i = 0; i < Math.min(rows, columns); i++) data[i * columns + i] = 1;
  return (options.graph ?? getDefaultGraph()).constant(tensor(data, [rows, columns], dtype), options.name);
}

/** `num` evenly spaced values from `start` to `stop`, both included (tf.linspace), float32. */
export function linspace(start: number, stop: number, num: number, options: ArraySourceOptions = {}): SymbolicTensor {
  if (!(Number.isInteger(num) && num >= 1)) throw new ShapeError(`linspace: num must be a positive integer, got ${num}`);
  const step = num === 1 ? 0 : (stop - start) / (num - 1);
  return add(mul(range(0, num, 1, 'float32', { graph: options.graph }), step), start, options.name);
}

/** log(sigmoid(x)) as -softplus(-x) (tf.math.log_sigmoid): finite where sigmoid underflows to 0. */
export function logSigmoid(x: TensorLike, name?: string): SymbolicTensor {
  return neg(softplus(neg(symbolic(x))), name);
}

/**
 * a / b, and 0 where b is 0 (tf.math.divide_no_nan). The division itself never sees a zero divisor,
 * so the gradient is 0 there too, not NaN.
 */
export function divNoNan(a: TensorLike, b: TensorLike, name?: string): SymbolicTensor {
  const g = graphOf([a, b]);
  const [x, y] = [toSymbolic(g, a), toSymbolic(g, b)];
  const byZero = equal(y, 0);
  return where(byZero, 0, div(x, where(byZero, 1, y)), name);
}

/** x * sigmoid(x) (tf.nn.silu, also called swish). */
export function silu(x: TensorLike, name?: string): SymbolicTensor {
  const t = symbolic(x);
  return mul(t, sigmoid(t), name);
}

/**
 * 1-D convolution over [N, W, C] with a filter [K, C, O] (tf.nn.conv1d), as a conv2d of height 1:
 * `padding` is 'SAME', 'VALID' or explicit [left, right].
 *
 * ```ts
 * ops.conv1d(x, w, 1, 'SAME');           // x [N, 100, 16], w [5, 16, 32] -> [N, 100, 32]
 * ops.conv1d(x, w, 2, [2, 2], { dilation: 2 });
 * ```
 */
export function conv1d(
  x: TensorLike,
  filter: TensorLike,
  stride: number,
  padding: 'SAME' | 'VALID' | [number, number],
  options: { dilation?: number } = {},
  name?: string,
): SymbolicTensor {
  const g = graphOf([x, filter]);
  const [input, w] = [toSymbolic(g, x), toSymbolic(g, filter)];
  if (input.rank !== 3 || w.rank !== 3) throw new ShapeError(`conv1d: input [N, W, C] and filter [K, C, O] must have rank 3, got ranks ${input.rank} and ${w.rank}`);
  const pad2d = typeof padding === 'string' ? padding : [[0, 0], padding];
  const y = conv2d(expandDims(input, 1), expandDims(w, 0), [1, stride], pad2d as [[number, number], [number, number]], { dilations: [1, options.dilation ?? 1] });
  return squeeze(y, 1, name);
}

/**
 * mask[..., j] = j < lengths[...] for j in [0, maxlen) (tf.sequence_mask): a bool mask, or of `dtype`.
 * maxlen is fixed when the graph is built (TensorFlow's default, the longest length, would make the
 * shape depend on values).
 */
export function sequenceMask(lengths: TensorLike, maxlen: number, dtype: DType = 'bool', name?: string): SymbolicTensor {
  const g = graphOf([lengths]);
  const n = toSymbolic(g, lengths, 'int32');
  if (!(Number.isInteger(maxlen) && maxlen >= 0)) throw new ShapeError(`sequenceMask: maxlen must be a non-negative integer, got ${maxlen}`);
  const positions = range(0, maxlen, 1, n.dtype, { graph: g });
  const mask = less(positions, expandDims(n, -1), dtype === 'bool' ? name : undefined);
  return dtype === 'bool' ? mask : cast(mask, dtype, name);
}

/**
 * The entries of `x` where `mask` is true (tf.boolean_mask): the mask covers dimensions axis ..
 * axis + mask.rank - 1 of x, which become one dimension of the selected entries, in row-major
 * order; its length is known only at run time. A mask of rank above 1 needs every other dimension
 * of x known.
 *
 * ```ts
 * ops.booleanMask(x, mask);   // x [4, 3], mask [4] -> the rows of x where mask is true: [?, 3]
 * ```
 */
export function booleanMask(x: TensorLike, mask: TensorLike, axis = 0, name?: string): SymbolicTensor {
  const g = graphOf([x, mask]);
  const [t, m] = [toSymbolic(g, x), toSymbolic(g, mask, 'bool')];
  const at = axis < 0 ? axis + t.rank : axis;
  if (m.dtype !== 'bool') throw new ShapeError(`booleanMask: mask must be bool, got ${m.dtype}`);
  if (!(at >= 0 && at + m.rank <= t.rank) || m.rank === 0) {
    throw new ShapeError(`booleanMask: a mask [${m.shape}] cannot cover dimensions from axis ${axis} of [${t.shape}]`);
  }
  const covered = t.shape.slice(at, at + m.rank);
  if (m.shape.some((d, i) => d !== null && covered[i] !== null && d !== covered[i])) {
    throw new ShapeError(`booleanMask: mask [${m.shape}] does not match dimensions ${at}.. of x [${t.shape}]`);
  }
  let flat = t;
  if (m.rank > 1) {
    const others = [...t.shape.slice(0, at), ...t.shape.slice(at + m.rank)];
    if (others.some((d) => d === null)) throw new ShapeError(`booleanMask: a mask of rank ${m.rank} needs x's other dimensions known, got [${t.shape}]`);
    flat = reshape(t, [...t.shape.slice(0, at), -1, ...t.shape.slice(at + m.rank)] as number[]);
  }
  const selected = reshape(nonZero(m.rank > 1 ? reshape(m, [-1]) : m), [-1]);
  return gather(flat, selected, at, name);
}

/** Loss functions (tf.losses / tf.keras.losses): the mean over every element of the per-element loss. */
export const losses = {
  /** mean((predictions - labels)^2) */
  meanSquaredError(labels: TensorLike, predictions: TensorLike, name?: string): SymbolicTensor {
    return reduceMean(square(sub(predictions, labels)), undefined, false, name);
  },
  /** mean(|predictions - labels|) */
  absoluteDifference(labels: TensorLike, predictions: TensorLike, name?: string): SymbolicTensor {
    return reduceMean(abs(sub(predictions, labels)), undefined, false, name);
  },
  /** Quadratic within `delta` of the label, linear beyond: mean(0.5 e^2 for |e| <= delta, delta (|e| - delta / 2) else). */
  huber(labels: TensorLike, predictions: TensorLike, delta = 1, name?: string): SymbolicTensor {
    const e = abs(sub(predictions, labels));
    const quadratic = minimum(e, delta);
    const linear = sub(e, quadratic);
    return reduceMean(add(mul(0.5, square(quadratic)), mul(delta, linear)), undefined, false, name);
  },
  /** Binary cross-entropy of probabilities: mean(-(y log(p + eps) + (1 - y) log(1 - p + eps))). */
  logLoss(labels: TensorLike, predictions: TensorLike, epsilon = 1e-7, name?: string): SymbolicTensor {
    const [y, p] = [symbolic(labels), symbolic(predictions)];
    const terms = add(mul(y, log(add(p, epsilon))), mul(sub(1, y), log(add(sub(1, p), epsilon))));
    return reduceMean(mul(-1, terms), undefined, false, name);
  },
  /** mean(max(0, 1 - y' p)) with labels in {0, 1} mapped to y' in {-1, 1}. */
  hinge(labels: TensorLike, predictions: TensorLike, name?: string): SymbolicTensor {
    const signed = sub(mul(2, symbolic(labels)), 1);
    return reduceMean(maximum(sub(1, mul(signed, predictions)), 0), undefined, false, name);
  },
};

/**
 * A depthwise convolution, then a 1x1 convolution that mixes its channels (tf.nn.separable_conv2d):
 * depthwiseFilter [KH, KW, C, M], pointwiseFilter [1, 1, C * M, O]; strides, padding and
 * dilations apply to the depthwise step.
 */
export function separableConv2d(
  x: TensorLike,
  depthwiseFilter: TensorLike,
  pointwiseFilter: TensorLike,
  strides: Pair,
  padding: Padding,
  options: ConvOptions = {},
  name?: string,
): SymbolicTensor {
  return conv2d(depthwiseConv2d(x, depthwiseFilter, strides, padding, options), pointwiseFilter, 1, 'VALID', {}, name);
}
