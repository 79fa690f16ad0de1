/**
 * Differential fuzzer of the webgpu backend: the passes fuzzer's seeded random graphs (buildCase:
 * elementwise chains, broadcasting, reductions, matmuls, convolutions, pools, softmax, variables
 * and their updates) run on the cpu backend at O0, the reference, and on webgpu at O2, where the
 * fusion pass makes generated kernels, fused epilogues and fused updates out of them and the arena
 * is planned. Every fetched output must agree within float tolerance. On a machine without a GPU
 * the adapter is lavapipe, so this checks the WGSL, not GPU speed.
 *
 *   node tests/fuzz/run.js --suite webgpu --count 500        # `--seed N --count 1` reproduces one
 */
import { GraphcError, Session, TensorValue, releaseGpu, webgpuAvailability } from 'graphc';
import { FuzzCase, buildCase, compareValues } from './passes-fuzz';

/** How the cases ended: a fuzzer whose graphs never reach the GPU tests nothing. */
export const outcomes = { compared: 0, skipped: 0, ranOnCpuOnly: 0 };

async function runOn(c: FuzzCase, backend: 'cpu' | 'webgpu'): Promise<{ values: TensorValue[]; gpuSteps: number }> {
  const sess = new Session(c.graph, { backend, optimize: backend === 'cpu' ? 0 : 2 });
  const fetches = [...c.fetches.map((f) => f.name), ...c.targets.map((t) => t.name)];
  try {
    if (c.hasVariables || c.targets.length) await sess.run(c.graph.globalVariablesInitializer());
    // two runs: variables stay on the device between them, and the arena is reused
    await sess.run(fetches, c.feeds);
    const out = await sess.run(fetches, c.feeds);
    const stats = backend === 'webgpu' ? sess.lastStats() : null;
    return { values: out.slice(0, c.fetches.length) as TensorValue[], gpuSteps: stats ? stats.dispatchesPerRun : 0 };
  } finally {
    sess.close();
  }
}

let unavailable: string | undefined;

export async function runCase(seed: number): Promise<{ seed: number; ok: boolean; detail?: string }> {
  if (unavailable === undefined) {
    const gpu = await webgpuAvailability();
    unavailable = gpu.available ? '' : (gpu.reason ?? 'no adapter');
  }
  if (unavailable) throw new Error(`no WebGPU adapter: ${unavailable}`);
  const c = buildCase(seed);
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
    got = await runOn(c, 'webgpu');
  } catch (e) {
    return { seed, ok: false, detail: `${where}: webgpu failed: ${(e as Error).message}` };
  }
  if (got.gpuSteps === 0) outcomes.ranOnCpuOnly++;
  else outcomes.compared++;
  for (let i = 0; i < reference.length; i++) {
    const diff = compareValues(got.values[i], reference[i]);
    if (diff) return { seed, ok: false, detail: `${where}: webgpu fetch ${c.fetches[i].name}: ${diff}` };
  }
  return { seed, ok: true };
}

/** Lets the process exit: Dawn's device keeps Node alive until destroyed. */
export function finish(): void {
  releaseGpu();
}
