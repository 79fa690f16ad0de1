import { GpujsBackend, GpujsMode, Session, hasGpujsKernel } from '@graphc/runtime';
import { Graph, applyOp, registeredOps, tensor } from '@graphc/graph';
import { gpujsUnsupportedReason } from '../../packages/runtime/src/backends/gpujs';
import { allCases, uncoveredOps } from './cases';
import { compareWithCpu, testModes } from './harness';

/**
 * Every registered op against the cpu backend, on every gpu.js mode this machine runs (webasm and cpu
 * always; webgpu on lavapipe or a GPU), asserting the mode that actually ran.
 */
const modesEnv = process.env.GRAPHC_GPUJS_TEST_MODES;
let modes: GpujsMode[] = [];

beforeAll(async () => {
  modes = await testModes();
});

test('the machine runs at least the webasm and cpu modes', () => {
  if (!modesEnv) expect(modes).toEqual(expect.arrayContaining(['webasm', 'cpu']));
});

test('every registered op has a gpujs kernel and a test case, or is declared unsupported with a reason', () => {
  expect(registeredOps().filter((d) => !hasGpujsKernel(d.name) && !gpujsUnsupportedReason(d.name)).map((d) => d.name)).toEqual([]);
  expect(uncoveredOps()).toEqual([]);
});

test('a plan with a declared-unsupported op fails to compile, saying why', async () => {
  const op = registeredOps().find((d) => gpujsUnsupportedReason(d.name) && d.numInputs === 1);
  if (!op) return; // no such op registered in this build
  const g = new Graph();
  const x = g.placeholder('float32', [4], 'x');
  const y = applyOp(op.name, [x], {}, 'u', g).output(0);
  const s = new Session(g, { backend: new GpujsBackend({ mode: 'cpu', onFallback: () => undefined }) });
  await expect(s.run(y, { x: tensor([0, 1, 0, 2], [4]) })).rejects.toThrow(new RegExp(`no kernel for: ${op.name} \\(`));
  s.close();
});

const cases = allCases();
test.each(cases.map((c) => [`${c.op}#${c.variant}`, c] as const))('%s matches the cpu backend on every mode', async (label, c) => {
  for (const mode of modes) await compareWithCpu(c.build(), mode, 0, label);
});
