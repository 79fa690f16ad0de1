import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import { Axes, reduceSum } from '../reduce/reduce';
import { sqrt, square, rsqrt } from './unary';
import { add, div, greater, maximum, minimum, mul, sub, where } from './binary';
import { onesLike } from '../array/fill';

/**
 * Norms for clipping gradients and normalizing vectors, as TensorFlow's tf.linalg.global_norm,
 * tf.clip_by_norm, tf.clip_by_global_norm and tf.math.l2_normalize. Each is built from existing
 * ops, so every backend runs it and autodiff differentiates it.
 */

/** sqrt of the sum of squares of every element of every tensor (tf.linalg.global_norm). */
export function globalNorm(tensors: TensorLike[], name?: string): SymbolicTensor {
  if (tensors.length === 0) throw new ShapeError('globalNorm: no tensors');
  const g = graphOf(tensors);
  const sums = tensors.map((t) => reduceSum(square(toSymbolic(g, t))));
  return sqrt(sums.reduce((acc, s) => add(acc, s)), name);
}

/**
 * `t * clipNorm / max(||t||, clipNorm)`, the L2 norm over `axes` (all when omitted): t unchanged
 * when its norm is at most clipNorm, else scaled down to it (tf.clip_by_norm). A zero norm takes a
 * safe path, so the gradient at 0 is finite.
 */
export function clipByNorm(t: TensorLike, clipNorm: TensorLike, axes?: Axes, name?: string): SymbolicTensor {
  const g = graphOf([t, clipNorm]);
  const x = toSymbolic(g, t);
  const c = toSymbolic(g, clipNorm, x.dtype);
  const sumSquares = reduceSum(square(x), axes, true);
  const positive = greater(sumSquares, 0);
  // sqrt's gradient at 0 is infinite: take the square root of 1 there (the where picks 0 anyway)
  const norm = where(positive, sqrt(where(positive, sumSquares, onesLike(sumSquares))), sumSquares);
  return div(mul(x, c), maximum(norm, c), name);
}

/**
 * Scales every tensor by `clipNorm / max(globalNorm, clipNorm)` (tf.clip_by_global_norm): the
 * usual clipping of a model's gradients together. `useNorm` passes a global norm computed already.
 * Returns the clipped tensors and the global norm; an infinite or NaN norm makes every value NaN,
 * as TensorFlow does, so a diverged step is visible rather than silently clipped.
 */
export function clipByGlobalNorm(tensors: TensorLike[], clipNorm: TensorLike, useNorm?: SymbolicTensor): [SymbolicTensor[], SymbolicTensor] {
  const g = graphOf([...tensors, clipNorm]);
  const xs = tensors.map((t) => toSymbolic(g, t));
  const norm = useNorm ?? globalNorm(xs);
  const c = toSymbolic(g, clipNorm, norm.dtype);
  // clipNorm * min(1 / norm, 1 / clipNorm), plus (norm - norm): 0, or NaN for an infinite norm
  const scale = add(mul(c, minimum(div(1, norm), div(1, c))), sub(norm, norm));
  return [xs.map((x) => mul(x, x.dtype === scale.dtype ? scale : toSymbolic(g, scale, x.dtype))), norm];
}

/** `x / sqrt(max(sum(x^2 over axes), epsilon))` (tf.math.l2_normalize): unit L2 norm along `axes` (all when omitted). */
export function l2Normalize(x: TensorLike, axes?: Axes, epsilon = 1e-12, name?: string): SymbolicTensor {
  const t = toSymbolic(graphOf([x]), x);
  return mul(t, rsqrt(maximum(reduceSum(square(t), axes, true), epsilon)), name);
}
