import { GradientError, SymbolicTensor, ops } from '@graphc/graph';

/**
 * Learning-rate schedules (TensorFlow 1.x's tf.train.exponential_decay, piecewise_constant,
 * polynomial_decay, cosine_decay): float32 scalar tensors of the step counter, to pass as an
 * optimizer's learning rate. The step is usually the graph's `global_step`, which `minimize`
 * increments, so the rate moves as training runs, all in the graph.
 *
 * ```ts
 * const step = train.getOrCreateGlobalStep(g);
 * const lr = train.exponentialDecay(0.1, step, 1000, 0.96, true);
 * const op = new train.SGD(lr).minimize(loss);
 * ```
 */

const f32 = (t: SymbolicTensor): SymbolicTensor => (t.dtype === 'float32' ? t : ops.cast(t, 'float32'));

function positive(what: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new GradientError(`${what} must be a positive number, got ${v}`);
}

/** `learningRate * decayRate ^ (step / decaySteps)`, the exponent floored with `staircase`. */
export function exponentialDecay(learningRate: number, step: SymbolicTensor, decaySteps: number, decayRate: number, staircase = false): SymbolicTensor {
  positive('exponentialDecay: decaySteps', decaySteps);
  const p = ops.div(f32(step), decaySteps);
  return ops.mul(learningRate, ops.pow(decayRate, staircase ? ops.floor(p) : p));
}

/** `values[i]` while step <= boundaries[i] (and past the last boundary, the last value). */
export function piecewiseConstant(step: SymbolicTensor, boundaries: number[], values: number[]): SymbolicTensor {
  if (values.length !== boundaries.length + 1) throw new GradientError(`piecewiseConstant: ${values.length} values for ${boundaries.length} boundaries; need one more value than boundaries`);
  if (boundaries.some((b, i) => i > 0 && b <= boundaries[i - 1])) throw new GradientError(`piecewiseConstant: boundaries must increase, got [${boundaries}]`);
  const s = f32(step);
  // from the last interval back: each boundary switches to its earlier value at or below it
  let rate = step.graph.constant(values[values.length - 1], undefined, 'float32');
  for (let i = boundaries.length - 1; i >= 0; i--) rate = ops.where(ops.lessEqual(s, boundaries[i]), step.graph.constant(values[i], undefined, 'float32'), rate);
  return rate;
}

/** `(learningRate - endLearningRate) * (1 - min(step, decaySteps) / decaySteps) ^ power + endLearningRate`. */
export function polynomialDecay(learningRate: number, step: SymbolicTensor, decaySteps: number, endLearningRate = 0.0001, power = 1): SymbolicTensor {
  positive('polynomialDecay: decaySteps', decaySteps);
  const done = ops.div(ops.minimum(f32(step), decaySteps), decaySteps);
  return ops.add(ops.mul(learningRate - endLearningRate, ops.pow(ops.sub(1, done), power)), endLearningRate);
}

/** `learningRate * ((1 - alpha) * (1 + cos(pi * min(step, decaySteps) / decaySteps)) / 2 + alpha)`. */
export function cosineDecay(learningRate: number, step: SymbolicTensor, decaySteps: number, alpha = 0): SymbolicTensor {
  positive('cosineDecay: decaySteps', decaySteps);
  const done = ops.div(ops.minimum(f32(step), decaySteps), decaySteps);
  const cosine = ops.mul(0.5, ops.add(1, ops.cos(ops.mul(Math.PI, done))));
  return ops.mul(learningRate, ops.add(ops.mul(1 - alpha, cosine), alpha));
}
