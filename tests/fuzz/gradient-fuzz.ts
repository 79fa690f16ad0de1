/**
 * Differential fuzzer of autodiff: the passes fuzzer's random graphs, built in float64 and smooth
 * (elementwise chains, broadcasting, dense and conv blocks, pools, reductions, softmax, transposes,
 * slices, pads, gathers, conds and loops), get loss = sum over the fetches of sum(dy * fetch) with
 * fixed random dy, and its symbolic gradient with respect to every placeholder (the `gradients`
 * rewrite) must equal central differences, (loss(x + eps) - loss(x - eps)) / 2 eps, element by
 * element (the feeds moved off the generator's 1/64 grid, so inputs do not tie). Where the two
 * differ, the one-sided slopes decide: at a kink within eps of x (relu at 0) they differ, and the
 * element is counted, not failed; a wrong gradient has them agree. So is a difference below what
 * the quotient resolves at the loss's magnitude (its rounding over 2 eps). The gradient graph also
 * runs at O2, which must give what O0 gives.
 *
 *   node tests/fuzz/run.js --suite gradients --count 300      # `--seed N --count 1` reproduces one
 */
import { GradientError, Session, ShapeError, SymbolicTensor, TensorValue, UnsupportedOpError, gradients, ops, tensor } from 'graphc';
import { FuzzCase, buildCase, compareValues, referenceOutputs, rng, writesVariables } from './passes-fuzz';

export const outcomes = { compared: 0, elements: 0, kinks: 0, belowResolution: 0, skipped: 0, stateful: 0, notDifferentiable: 0 };

const EPS = 1e-6;
const ATOL = 1e-6;
const RTOL = 1e-4;
const close = (a: number, b: number): boolean => Math.abs(a - b) <= ATOL + RTOL * Math.abs(b);

/**
 * loss = sum over the case's fetches of sum(dy * fetch), with random dy of the fetches' run-time
 * `shapes` (uneven weights: with equal ones the gradient of a softmax's sum is zero and would test
 * nothing), and its gradients with respect to every placeholder. Throws GradientError where an op
 * on the way has no gradient.
 */
export function weightedLoss(c: FuzzCase, shapes: number[][], dtype: 'float32' | 'float64', r: () => number): { loss: SymbolicTensor; grads: SymbolicTensor[] } {
  const g = c.graph;
  const loss = g.asDefault(() =>
    c.fetches
      .map((f, i) => {
        const n = shapes[i].reduce((a, b) => a * b, 1);
        const dy = g.constant(tensor(Array.from({ length: n }, () => r() * 2 - 1), shapes[i], dtype));
        return ops.reduceSum(ops.mul(f, dy));
      })
      .reduce((a, b) => ops.add(a, b)),
  );
  return { loss, grads: gradients(loss, g.placeholders()) };
}

export async function runCase(seed: number): Promise<{ seed: number; ok: boolean; detail?: string }> {
  const c = buildCase(seed, { smooth: true, dtype: 'float64' });
  const where = `seed ${seed} [${c.description.join(', ')}]`;
  // a graph that writes a variable changes between the runs a difference quotient compares
  if (writesVariables(c.graph)) {
    outcomes.stateful++;
    return { seed, ok: true, detail: 'refused: the graph updates a variable' };
  }
  const g = c.graph;
  const r = rng(seed ^ 0x5bd1e995);
  const xs = g.placeholders();
  // off the 1/64 grid of the generator's values: two inputs equal by construction would tie in a
  // maximum and a minimum, where the composition can be flat while each op's gradient picks a side
  const feeds = Object.fromEntries(
    Object.entries(c.feeds).map(([name, v], k) => [name, tensor(Array.from(v.data as ArrayLike<number>, (x, i) => x + 1e-3 * Math.sin(7.3 * i + 1.9 * k + 0.5)), v.shape, 'float64')]),
  );
  // the fetches' shapes at these feeds, for weights dy of the same shapes
  const probe = await referenceOutputs(c);
  if (!Array.isArray(probe)) {
    outcomes.skipped++;
    return { seed, ok: true, detail: `skipped: ${probe.skipped}` };
  }
  const shapes = probe.map((v) => v.shape);
  let loss: SymbolicTensor;
  let grads: SymbolicTensor[];
  try {
    ({ loss, grads } = weightedLoss(c, shapes, 'float64', r));
  } catch (e) {
    if (e instanceof GradientError || e instanceof UnsupportedOpError) {
      outcomes.notDifferentiable++;
      return { seed, ok: true, detail: `refused: ${(e as Error).message}` };
    }
    throw e;
  }
  const session = new Session(g, { optimize: 0 });
  try {
    if (c.hasVariables) await session.run(g.globalVariablesInitializer());
    let symbolic: TensorValue[];
    try {
      symbolic = await session.run(grads, feeds);
    } catch (e) {
      // a loop variable whose unknown dimension changes at run time: that loop has no gradient, said so
      if (e instanceof ShapeError && /has none where a loop variable changes shape/.test(e.message)) {
        outcomes.notDifferentiable++;
        return { seed, ok: true, detail: `no gradient: ${e.message}` };
      }
      throw e;
    }
    const lossAt = async (name: string, index: number, delta: number): Promise<number> => {
      const base = feeds[name];
      const data = Float64Array.from(base.data as ArrayLike<number>);
      data[index] += delta;
      const [v] = await session.run([loss], { ...feeds, [name]: tensor(data, base.shape, 'float64') });
      return v.data[0] as number;
    };
    const slope = async (name: string, index: number, eps: number): Promise<number> => ((await lossAt(name, index, eps)) - (await lossAt(name, index, -eps))) / (2 * eps);
    outcomes.compared++;
    // the gradient graph through the passes (fusion of the backward ops, CSE with the forward ones)
    const optimized = new Session(g, { optimize: 2 });
    try {
      if (c.hasVariables) await optimized.run(g.globalVariablesInitializer());
      const atO2 = await optimized.run(grads, feeds);
      for (let k = 0; k < xs.length; k++) {
        const diff = compareValues(atO2[k], symbolic[k]);
        if (diff) return { seed, ok: false, detail: `${where}: d loss / d ${xs[k].name} at O2 against O0: ${diff}` };
      }
    } finally {
      optimized.close();
    }
    for (let k = 0; k < xs.length; k++) {
      const name = xs[k].name;
      const got = symbolic[k].data as ArrayLike<number>;
      for (let i = 0; i < got.length; i++) {
        outcomes.elements++;
        const numeric = await slope(name, i, EPS);
        if (close(got[i], numeric)) continue;
        const at = await lossAt(name, i, 0);
        // a difference quotient cannot see a slope smaller than the loss's rounding over 2 eps: a
        // loss of 1e13 (squares of squares) resolves nothing below about 2e3, and reads 0 there
        if (Math.abs(got[i] - numeric) <= (4 * Math.abs(at) * Number.EPSILON) / EPS) {
          outcomes.belowResolution++;
          continue;
        }
        // a kink within eps of x (relu at 0, a max between equal values): the one-sided slopes differ
        const forward = ((await lossAt(name, i, EPS)) - at) / EPS;
        const backward = (at - (await lossAt(name, i, -EPS))) / EPS;
        if (!close(forward, backward)) {
          outcomes.kinks++;
          continue;
        }
        return { seed, ok: false, detail: `${where}: d loss / d ${name}[${i}]: symbolic ${got[i]}, numeric ${numeric} (eps ${EPS}; one-sided ${forward} and ${backward})` };
      }
    }
    return { seed, ok: true };
  } finally {
    session.close();
  }
}
