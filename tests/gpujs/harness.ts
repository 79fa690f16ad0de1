import { Fetchable, Graph, SymbolicTensor, TensorValue, tensor } from '@graphc/graph';
import { GpujsBackend, GpujsMode, Session, gpujsUnavailableReason } from '@graphc/runtime';

/**
 * The gpu.js modes this machine can run, probed once: webasm and cpu everywhere, webgpu where an
 * adapter answers (lavapipe in CI), headlessgl where the optional `gl` package built and a display
 * exists. `GRAPHC_GPUJS_TEST_MODES=webasm,cpu` pins the list.
 */
export async function testModes(): Promise<GpujsMode[]> {
  const pinned = process.env.GRAPHC_GPUJS_TEST_MODES;
  if (pinned) return pinned.split(',').map((m) => m.trim()) as GpujsMode[];
  const modes: GpujsMode[] = [];
  for (const m of ['webgpu', 'headlessgl', 'webasm', 'cpu'] as GpujsMode[]) {
    if ((await gpujsUnavailableReason(m)) === null) modes.push(m);
  }
  return modes;
}

/** Deterministic test data. */
export function rand(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function randomTensor(shape: number[], seed: number, lo = -3, hi = 3, dtype: TensorValue['dtype'] = 'float32'): TensorValue {
  const r = rand(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: n }, () => {
    const v = lo + (hi - lo) * r();
    return dtype === 'int32' || dtype === 'int64' ? Math.round(v) : dtype === 'bool' ? (v > (lo + hi) / 2 ? 1 : 0) : v;
  });
  return tensor(data, shape, dtype);
}

/** |gpujs - cpu| <= 1e-4 * |cpu| (+ 1e-6 of the tensor's largest magnitude, for values that cancel to ~0). */
export function closeTo(got: TensorValue, want: TensorValue, label: string): void {
  expect({ label, dtype: got.dtype, shape: got.shape }).toEqual({ label, dtype: want.dtype, shape: want.shape });
  let scale = 1;
  for (let i = 0; i < want.data.length; i++) if (Number.isFinite(want.data[i])) scale = Math.max(scale, Math.abs(want.data[i]));
  const bad: string[] = [];
  for (let i = 0; i < want.data.length; i++) {
    const g = Number(got.data[i]);
    const w = Number(want.data[i]);
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (g === w) continue;
    if (!(Math.abs(g - w) <= 1e-4 * Math.abs(w) + 1e-6 * scale)) bad.push(`[${i}] got ${g}, cpu ${w}`);
  }
  if (bad.length) throw new Error(`${label}: ${bad.length} of ${want.data.length} values differ from the cpu backend beyond 1e-4 relative: ${bad.slice(0, 5).join('; ')}`);
}

export interface Case {
  graph: Graph;
  fetches: SymbolicTensor[];
  feeds?: Record<string, TensorValue>;
  /** Run before the fetches (variable initializers). */
  init?: Fetchable[];
  /** How many times to run the fetches (stateful ops advance each run). */
  runs?: number;
}

/** Runs `c` on the cpu backend and on gpujs in `mode`; returns gpujs's report of the last plan. */
export async function compareWithCpu(c: Case, mode: GpujsMode, optimize: 0 | 1 | 2 = 0, label = ''): Promise<GpujsBackend> {
  const fallbacks: string[] = [];
  const backend = new GpujsBackend({ mode, onFallback: (m) => fallbacks.push(m) });
  const cpu = new Session(c.graph, { backend: 'cpu', optimize });
  const gj = new Session(c.graph, { backend, optimize });
  try {
    for (const s of [cpu, gj]) if (c.init) for (const i of c.init) await s.run(i);
    for (let r = 0; r < (c.runs ?? 1); r++) {
      const want = await cpu.run(c.fetches, c.feeds ?? {});
      const got = await gj.run(c.fetches, c.feeds ?? {});
      want.forEach((w, k) => closeTo(got[k], w, `${label} ${mode} run ${r} fetch ${c.fetches[k].name}`));
      // the mode asked for is the mode every kernel ran on: gpu.js can silently degrade to cpu
      expect(backend.lastInfo?.modesRan ?? []).toEqual(backend.lastInfo && backend.lastInfo.modesRan.length ? [mode] : []);
    }
    return backend;
  } finally {
    cpu.close();
    gj.close();
  }
}
