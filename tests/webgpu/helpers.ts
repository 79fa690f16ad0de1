import { execFileSync } from 'child_process';
import * as path from 'path';
import { Fetches, Graph, NBitsLayout, Session, SymbolicTensor, TensorValue, WebGpuBackend, WebGpuExecutable, nbitsLayout, ops, tensor } from 'graphc';

/**
 * Whether this machine has a WebGPU adapter, probed once per test file in a child process (so the
 * decision is synchronous at collection). Without one, the suites skip and say why; with CI or
 * GRAPHC_REQUIRE_WEBGPU set, a missing adapter fails instead, as CI must have one.
 */
function probe(): { available: boolean; reason?: string; adapter?: string } {
  try {
    const out = execFileSync(process.execPath, [path.join(__dirname, 'probe-adapter.js')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60000,
    });
    return JSON.parse(out);
  } catch (e) {
    return { available: false, reason: `adapter probe failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

export const gpu = probe();
const required = Boolean(process.env.CI || process.env.GRAPHC_REQUIRE_WEBGPU);

/** `describe` when an adapter is present; otherwise a skipped suite that names the reason. */
export function describeGpu(name: string, fn: () => void): void {
  if (gpu.available) {
    describe(name, fn);
    return;
  }
  if (required) {
    describe(name, () => {
      test('has a WebGPU adapter (required in CI)', () => {
        throw new Error(`no WebGPU adapter: ${gpu.reason}`);
      });
    });
    return;
  }
  describe.skip(`${name} [skipped: ${gpu.reason}]`, fn);
}

/** Deterministic values in [-scale, scale). */
export function seeded(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/**
 * Asserts `actual` (webgpu) matches `expected` (cpu): same dtype and shape; integers and bools
 * exactly; floats within `rtol` relative, where an element's scale is at least `floor` of the
 * tensor's largest magnitude (so an element that cancels to ~0 is judged against the tensor's scale).
 */
export function expectClose(actual: TensorValue, expected: TensorValue, rtol = 1e-4, floor = 1e-2, label = ''): void {
  expect({ label, dtype: actual.dtype, shape: actual.shape }).toEqual({ label, dtype: expected.dtype, shape: expected.shape });
  const a = actual.data;
  const e = expected.data;
  if (expected.dtype !== 'float32' && expected.dtype !== 'float64') {
    expect({ label, data: Array.from(a) }).toEqual({ label, data: Array.from(e) });
    return;
  }
  let maxAbs = 0;
  for (let i = 0; i < e.length; i++) if (Number.isFinite(e[i])) maxAbs = Math.max(maxAbs, Math.abs(e[i]));
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < e.length; i++) {
    if (Number.isNaN(e[i]) && Number.isNaN(a[i])) continue;
    if (e[i] === a[i]) continue;
    const scale = Math.max(Math.abs(e[i]), floor * maxAbs, 1e-30);
    const err = Math.abs(a[i] - e[i]) / scale;
    if (!(err <= worstErr)) {
      worstErr = Number.isNaN(err) ? Infinity : err;
      worst = i;
    }
  }
  if (worstErr > rtol) {
    throw new Error(`${label} element ${worst}: webgpu ${a[worst]} vs cpu ${e[worst]} (relative error ${worstErr.toExponential(2)} > ${rtol})`);
  }
}

/** Runs `fetches` with `feeds` on a fresh cpu and a fresh webgpu session of `g` (after initializing). */
export async function runBoth<F extends Fetches>(
  g: Graph,
  fetches: F,
  feeds: Record<string, TensorValue> = {},
  options: { optimize?: 0 | 1 | 2 | 3 } = {},
): Promise<{ cpu: TensorValue[]; gpu: TensorValue[]; exe: WebGpuExecutable; session: Session }> {
  const list = (Array.isArray(fetches) ? fetches : [fetches]) as never[];
  const cpuSess = new Session(g, { backend: 'cpu', optimize: options.optimize });
  const gpuSess = new Session(g, { backend: 'webgpu', optimize: options.optimize });
  if (g.variableInitializers.size) {
    const init = g.globalVariablesInitializer();
    await cpuSess.run(init);
    await gpuSess.run(init);
  }
  const cpu = (await cpuSess.run(list, feeds)) as unknown as TensorValue[];
  const gpuOut = (await gpuSess.run(list, feeds)) as unknown as TensorValue[];
  const exe = (gpuSess.backend as WebGpuBackend).compiled.at(-1)!;
  return { cpu, gpu: gpuOut, exe, session: gpuSess };
}

/**
 * `outs` on webgpu against the cpu backend (the reference) at O0 and O2, within `rtol`; no CPU
 * fallback anywhere in the plan, and every op of `opsOnGpu` placed on the device.
 */
export async function checkOnGpu(g: Graph, outs: SymbolicTensor[], feeds: Record<string, TensorValue>, opsOnGpu: string[], rtol = 1e-4): Promise<void> {
  for (const optimize of [0, 2] as const) {
    const { cpu, gpu: got, exe } = await runBoth(g, outs, feeds, { optimize });
    outs.forEach((o, i) => expectClose(got[i], cpu[i], rtol, 1e-2, `${o.node.op} #${i} ${JSON.stringify(o.node.attrs)} (O${optimize})`));
    expect(exe.fallbacks).toEqual([]);
    for (const op of opsOnGpu) {
      const placed = exe.placement.filter((p) => p.op === op);
      expect({ op, placed: placed.length > 0 }).toEqual({ op, placed: true });
      for (const p of placed) expect({ op, where: p.where }).toEqual({ op, where: 'gpu' });
    }
  }
}

/** Seeded integers in [lo, hi). */
export const seededInts = (n: number, seed: number, lo: number, hi: number): number[] => Array.from(seeded(n, seed), (v) => lo + Math.floor(((v + 1) / 2) * (hi - lo)));

/** An m x k by k x n product in all four transpose combinations, with seeded operands. */
export function transposedMatmuls(m: number, k: number, n: number): { g: Graph; outs: SymbolicTensor[]; feeds: Record<string, TensorValue> } {
  const g = new Graph();
  const a = g.placeholder('float32', [m, k], 'a');
  const at = g.placeholder('float32', [k, m], 'at');
  const b = g.placeholder('float32', [k, n], 'b');
  const bt = g.placeholder('float32', [n, k], 'bt');
  const outs = [
    ops.matmul(a, b),
    ops.matmul(at, b, { transposeA: true }),
    ops.matmul(a, bt, { transposeB: true }),
    ops.matmul(at, bt, { transposeA: true, transposeB: true }),
  ];
  const feeds = {
    a: tensor(seeded(m * k, 1), [m, k]),
    at: tensor(seeded(m * k, 2), [k, m]),
    b: tensor(seeded(k * n, 3), [k, n]),
    bt: tensor(seeded(k * n, 4), [n, k]),
  };
  return { g, outs, feeds };
}

/** matmulNBits weights as arrays, with their layout. */
export interface NBitsWeights {
  layout: NBitsLayout;
  n: number;
  packed: Int32Array;
  scales: Float32Array;
  zeroPoints: Float32Array;
}

/**
 * Random matmulNBits weights for n columns: packed words over the full int32 range (two seeded
 * 16-bit halves, so the low bits are random too), positive scales, zero points in [0, 2^bits),
 * whole or with a fraction.
 */
export function randomNBitsWeights(bits: 2 | 4 | 8, blockSize: number, k: number, n: number, seed: number, wholeZeroPoints = true): NBitsWeights {
  const layout = nbitsLayout({ bits, blockSize, k });
  const high = seededInts(n * layout.words, seed, 0, 65536);
  const low = seededInts(n * layout.words, seed + 1, 0, 65536);
  const packed = Int32Array.from(high, (h, i) => (h << 16) | low[i]);
  const scales = Float32Array.from(seeded(n * layout.blocks, seed + 2), (v) => 0.01 + Math.abs(v) * 0.05);
  const zeroPoints = wholeZeroPoints
    ? Float32Array.from(seededInts(n * layout.blocks, seed + 3, 0, 2 ** bits))
    : Float32Array.from(seeded(n * layout.blocks, seed + 3), (v) => ((v + 1) / 2) * (2 ** bits - 1));
  return { layout, n, packed, scales, zeroPoints };
}
