import { Graph, GradientError, SymbolicTensor, TensorValue, isFloat, reachableNodes, shapeToString, tensor } from '@graphc/graph';
import { gradients } from '@graphc/passes';
import type { OptLevel } from '@graphc/passes';
import { Prng } from './random';
import { BackendName, Session } from './session';

export interface CheckGradientsOptions {
  /** Indices of the inputs to differentiate with respect to (default: every float input). */
  wrt?: number[];
  /** Central-difference step (default 1e-6 for float64 inputs, 1e-2 for float32). */
  eps?: number;
  /** Allowed |symbolic - numeric| is `atol + rtol * |numeric|` (defaults: 1e-6 and 1e-5 for float64, 1e-2 and 1e-2 for float32). */
  atol?: number;
  rtol?: number;
  /** Weights of the outputs (the `gy` of Chainer's check); default seeded uniform values in [-1, 1]. */
  dys?: TensorValue[];
  seed?: number;
  backend?: BackendName;
  optimize?: OptLevel;
}

export interface GradientMismatch {
  input: number;
  /** Flat element index within that input. */
  index: number;
  symbolic: number;
  numeric: number;
}

export interface GradientCheckResult {
  ok: boolean;
  maxAbsError: number;
  /** The elements that fail the tolerance (at most 10), worst first. */
  mismatches: GradientMismatch[];
  /** Per checked input, as laid out in `wrt`. */
  symbolic: TensorValue[];
  numeric: TensorValue[];
}

/**
 * Compares the symbolic gradients of `fn` (built by `gradients`) with central differences, in the
 * spirit of Chainer's `gradient_check.check_backward`: with random output weights `dy`, the gradient
 * of `sum(dy · fn(x))` with respect to each element of each input is estimated as
 * `(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`. Returns the comparison; see `checkGradients` to
 * fail on a mismatch.
 *
 * ```ts
 * const r = await compareGradients((a, b) => ops.matmul(a, b), [tensor(A, [2, 3], 'float64'), tensor(B, [3, 4], 'float64')]);
 * r.maxAbsError;   // ~1e-10
 * ```
 */
export async function compareGradients(
  fn: (...inputs: SymbolicTensor[]) => SymbolicTensor | SymbolicTensor[],
  inputs: TensorValue[],
  options: CheckGradientsOptions = {},
): Promise<GradientCheckResult> {
  const graph = new Graph({ makeDefault: false });
  const placeholders = inputs.map((v, i) => graph.placeholder(v.dtype, [...v.shape], `input_${i}`));
  const built = graph.asDefault(() => fn(...placeholders));
  const ys = Array.isArray(built) ? built : [built];
  const wrt = options.wrt ?? inputs.map((v, i) => (isFloat(v.dtype) ? i : -1)).filter((i) => i >= 0);
  if (wrt.length === 0) throw new GradientError('checkGradients: no float input to differentiate with respect to');
  for (const i of wrt) {
    if (!isFloat(inputs[i].dtype)) throw new GradientError(`checkGradients: input ${i} is ${inputs[i].dtype}, not a float`);
  }
  const session = new Session(graph, { backend: options.backend ?? 'cpu', optimize: options.optimize });
  try {
    const feeds = new Map<SymbolicTensor, TensorValue>(placeholders.map((p, i) => [p, inputs[i]]));
    const y0 = await session.run(ys, feeds);
    const rng = new Prng(options.seed ?? 1234);
    const dys = options.dys ?? y0.map((y) => tensor(Array.from({ length: y.data.length }, () => rng.next() * 2 - 1), y.shape, y.dtype));
    dys.forEach((dy, k) => {
      if (dy.data.length !== y0[k].data.length) {
        throw new GradientError(`checkGradients: dys[${k}] has ${dy.data.length} values, output ${k} has ${y0[k].data.length} ([${y0[k].shape}])`);
      }
    });
    const dyPlaceholders = dys.map((dy, k) => graph.placeholder(ys[k].dtype, [...y0[k].shape], `dy_${k}`));
    const grads = gradients(ys, wrt.map((i) => placeholders[i]), dyPlaceholders);
    for (const [k, dy] of dys.entries()) feeds.set(dyPlaceholders[k], { ...dy, dtype: ys[k].dtype });
    // feed only what the gradients read: a gradient may not depend on every input
    const needed = new Set(reachableNodes(graph, grads.map((t) => t.node)));
    const symbolic = await session.run(grads, new Map([...feeds].filter(([p]) => needed.has(p.node))));

    const objective = async (values: TensorValue[]): Promise<number> => {
      const ysNow = await session.run(ys, new Map(placeholders.map((p, i) => [p, values[i]])));
      let s = 0;
      ysNow.forEach((y, k) => {
        for (let j = 0; j < y.data.length; j++) s += dys[k].data[j] * y.data[j];
      });
      return s;
    };
    const numeric: TensorValue[] = [];
    const mismatches: GradientMismatch[] = [];
    let maxAbsError = 0;
    for (const [w, i] of wrt.entries()) {
      const x = inputs[i];
      const f64 = x.dtype === 'float64';
      const eps = options.eps ?? (f64 ? 1e-6 : 1e-2);
      const atol = options.atol ?? (f64 ? 1e-6 : 1e-2);
      const rtol = options.rtol ?? (f64 ? 1e-5 : 1e-2);
      const est = tensor(new Float64Array(x.data.length), [...x.shape], 'float64');
      const perturbed = { ...x, data: x.data.slice() };
      const values = inputs.map((v, k) => (k === i ? perturbed : v));
      for (let j = 0; j < x.data.length; j++) {
        const orig = x.data[j];
        perturbed.data[j] = orig + eps;
        const hi = perturbed.data[j];
        const fPlus = await objective(values);
        perturbed.data[j] = orig - eps;
        const lo = perturbed.data[j];
        const fMinus = await objective(values);
        perturbed.data[j] = orig;
        // the step actually taken (float32 storage rounds x + eps)
        est.data[j] = (fPlus - fMinus) / (hi - lo);
        const s = symbolic[w].data[j];
        const err = Math.abs(s - est.data[j]);
        if (!(err <= maxAbsError)) maxAbsError = Number.isNaN(err) ? NaN : Math.max(maxAbsError, err);
        if (!(err <= atol + rtol * Math.abs(est.data[j]))) mismatches.push({ input: i, index: j, symbolic: s, numeric: est.data[j] });
      }
      numeric.push(est);
    }
    mismatches.sort((a, b) => Math.abs(b.symbolic - b.numeric) - Math.abs(a.symbolic - a.numeric));
    return { ok: mismatches.length === 0, maxAbsError, mismatches: mismatches.slice(0, 10), symbolic, numeric };
  } finally {
    session.close();
  }
}

/**
 * `compareGradients`, failing with a GradientError that lists the worst elements when the symbolic
 * and numerical gradients disagree beyond the tolerance. Resolves to the comparison otherwise.
 *
 * ```ts
 * await checkGradients((x) => ops.tanh(x), [tensor([0.3, -1.2], [2], 'float64')]);
 * ```
 */
export async function checkGradients(
  fn: (...inputs: SymbolicTensor[]) => SymbolicTensor | SymbolicTensor[],
  inputs: TensorValue[],
  options: CheckGradientsOptions = {},
): Promise<GradientCheckResult> {
  const result = await compareGradients(fn, inputs, options);
  if (!result.ok) {
    const lines = result.mismatches.map(
      (m) => `input ${m.input} [${m.index}] of ${shapeToString(inputs[m.input].shape)}: symbolic ${m.symbolic}, numeric ${m.numeric}`,
    );
    throw new GradientError(`checkGradients: symbolic and numerical gradients differ (max abs error ${result.maxAbsError}):\n  ${lines.join('\n  ')}`);
  }
  return result;
}
