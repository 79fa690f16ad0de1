/**
 * Differential fuzzer of the GPU backends: the passes fuzzer's seeded random graphs (buildCase, its
 * smooth cases: elementwise chains, broadcasting, reductions, matmuls, convolutions, pools, softmax,
 * variables and their updates) run on the cpu backend at O0, the reference, and on webgpu (or gpujs)
 * at O2 (O3, with the layout pass, for odd seeds), where the fusion pass makes generated kernels,
 * fused epilogues and fused updates out of them and the arena is planned. Every fetched output
 * must agree within float tolerance, and then so must
 * the gradients of a weighted sum of them (the gradient fuzzer's loss; graphs without variable
 * updates), which run the backward kernels the same way. On a machine
 * without a GPU the webgpu adapter is lavapipe, so this checks the WGSL, not GPU speed.
 *
 *   node tests/fuzz/run.js --suite webgpu --count 500        # `--seed N --count 1` reproduces one
 *   GRAPHC_GPUJS_MODE=webasm node tests/fuzz/run.js --suite gpujs --count 500
 */
import { GradientError, GraphcError, Session, SymbolicTensor, TensorValue, UnsupportedOpError, releaseGpu, webgpuAvailability } from 'graphc';
import { weightedLoss } from './gradient-fuzz';
import { FuzzCase, buildCase, compareValues, otherBatch, rng, writesVariables } from './passes-fuzz';

type Backend = 'webgpu' | 'gpujs';

/** How the cases ended: a fuzzer whose graphs never reach the GPU tests nothing. */
export const outcomes = { compared: 0, skipped: 0, ranOnCpuOnly: 0, refused: 0, gradients: 0, afterOtherBatch: 0 };

/** The case's fetches (or `wanted`, with no targets) on `backend`: cpu at O0, the GPU backends at `level`. */
async function runOn(c: FuzzCase, backend: 'cpu' | Backend, wanted?: SymbolicTensor[], level: 2 | 3 = 2): Promise<{ values: TensorValue[]; gpuSteps: number }> {
  // on a GPU, where no run writes a variable, a larger batch runs first in a session that keeps one
  // plan: the case's plan then binds to the arena pool that batch grew, with shared constants
  const first = backend !== 'cpu' && !c.targets.length && !writesVariables(c.graph) ? otherBatch(c, 3) : undefined;
  const sess = new Session(c.graph, { backend, optimize: backend === 'cpu' ? 0 : level, maxPlans: first ? 1 : undefined });
  const outputs = wanted ?? c.fetches;
  const fetches = [...outputs.map((f) => f.name), ...(wanted ? [] : c.targets.map((t) => t.name))];
  try {
    if (c.hasVariables || c.targets.length) await sess.run(c.graph.globalVariablesInitializer());
    if (first) {
      try {
        await sess.run(fetches, first);
        outcomes.afterOtherBatch++;
      } catch (e) {
        // a graph that fixes its batch elsewhere has no other batch
        if (!(e instanceof GraphcError)) throw e;
      }
    }
    // two runs: variables stay on the device between them, and the arena is reused
    await sess.run(fetches, c.feeds);
    const out = await sess.run(fetches, c.feeds);
    const stats = backend === 'cpu' ? undefined : sess.lastStats();
    // webgpu counts its dispatches, gpujs the steps of its program
    return { values: out.slice(0, outputs.length) as TensorValue[], gpuSteps: stats ? (stats.dispatchesPerRun ?? stats.steps ?? 0) : 0 };
  } finally {
    sess.close();
  }
}

let unavailable: string | undefined;

/** One case on webgpu. */
export function runCase(seed: number): Promise<{ seed: number; ok: boolean; detail?: string }> {
  return runCaseOn('webgpu', seed);
}

/** One case on `backend`. */
export async function runCaseOn(backend: Backend, seed: number): Promise<{ seed: number; ok: boolean; detail?: string }> {
  if (backend === 'webgpu' && unavailable === undefined) {
    const gpu = await webgpuAvailability();
    unavailable = gpu.available ? '' : (gpu.reason ?? 'no adapter');
  }
  if (backend === 'webgpu' && unavailable) throw new Error(`no WebGPU adapter: ${unavailable}`);
  // smooth: a last-bit difference in a sum must not become sign's -1 against 0
  const c = buildCase(seed, { smooth: true });
  // odd seeds at O3, whose layout pass rewrites the windows first
  const level = seed % 2 ? 3 : 2;
  const where = `seed ${seed} [${c.description.join(', ')}]`;
  let reference: TensorValue[];
  try {
    reference = (await runOn(c, 'cpu')).values;
  } catch (e) {
    // a graph the cpu reference cannot run (a feed that does not fit, ...) is no test
    if (e instanceof GraphcError) {
      outcomes.skipped++;
      return { seed, ok: true, detail: `skipped: ${(e as Error).message}` };
    }
    throw e;
  }
  let got: { values: TensorValue[]; gpuSteps: number };
  try {
    got = await runOn(c, backend, undefined, level);
  } catch (e) {
    // a backend that says, typed, which configuration it does not run (gpujs cannot stage a run
    // at a cond whose inputs follow a variable update) refuses; any other error is a failure
    if (e instanceof UnsupportedOpError) {
      outcomes.refused++;
      return { seed, ok: true, detail: `refused: ${e.message}` };
    }
    return { seed, ok: false, detail: `${where}: ${backend} failed: ${(e as Error).message}` };
  }
  if (got.gpuSteps === 0) outcomes.ranOnCpuOnly++;
  else outcomes.compared++;
  for (let i = 0; i < reference.length; i++) {
    const diff = compareValues(got.values[i], reference[i]);
    if (diff) return { seed, ok: false, detail: `${where}: ${backend} fetch ${c.fetches[i].name}: ${diff}` };
  }
  // then the backward graph (a graph without variable updates): the gradient kernels, fused
  let grads: SymbolicTensor[];
  try {
    if (writesVariables(c.graph)) return { seed, ok: true };
    ({ grads } = weightedLoss(c, reference.map((v) => v.shape), 'float32', rng(seed ^ 0x5bd1e995)));
  } catch (e) {
    if (e instanceof GradientError) return { seed, ok: true };
    throw e;
  }
  let wantGrads: TensorValue[];
  try {
    wantGrads = (await runOn(c, 'cpu', grads)).values;
  } catch (e) {
    if (e instanceof GraphcError) return { seed, ok: true, detail: `gradients skipped: ${(e as Error).message}` };
    throw e;
  }
  let gotGrads: TensorValue[];
  try {
    gotGrads = (await runOn(c, backend, grads, level)).values;
  } catch (e) {
    if (e instanceof UnsupportedOpError) return { seed, ok: true, detail: `gradients refused: ${e.message}` };
    return { seed, ok: false, detail: `${where}: ${backend} failed on the gradients: ${(e as Error).message}` };
  }
  outcomes.gradients++;
  for (let i = 0; i < grads.length; i++) {
    const diff = compareValues(gotGrads[i], wantGrads[i]);
    if (diff) return { seed, ok: false, detail: `${where}: ${backend} gradient ${grads[i].name}: ${diff}` };
  }
  return { seed, ok: true };
}

/** Lets the process exit: Dawn's device keeps Node alive until destroyed. */
export function finish(): void {
  releaseGpu();
}

/** The same on gpujs (its mode: GRAPHC_GPUJS_MODE, else gpu.js's best here). */
export const gpujs = { runCase: (seed: number) => runCaseOn('gpujs', seed), outcomes };
