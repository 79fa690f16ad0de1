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

test('the ops declared without a kernel are the data-dependent-shape and control-flow ones, which the session stages', async () => {
  // their output shapes, or how often they run a function, depend on values: the session runs them on the cpu between two gpujs stages
  expect(registeredOps().filter((d) => gpujsUnsupportedReason(d.name)).map((d) => d.name).sort()).toEqual(['cond', 'dynamicAttrs', 'nonMaxSuppression', 'nonZero', 'unique', 'whileLoop']);
  const g = new Graph();
  const x = g.placeholder('float32', [4], 'x');
  const y = applyOp('nonZero', [x], {}, 'u', g).output(0);
  const s = new Session(g, { backend: new GpujsBackend({ mode: 'cpu', onFallback: () => undefined }) });
  const got = await s.run(y, { x: tensor([0, 1, 0, 2], [4]) });
  expect({ shape: got.shape, data: Array.from(got.data) }).toEqual({ shape: [1, 2], data: [1, 3] });
  s.close();
});

const cases = allCases();
test.each(cases.map((c) => [`${c.op}#${c.variant}`, c] as const))('%s matches the cpu backend on every mode', async (label, c) => {
  for (const mode of modes) await compareWithCpu(c.build(), mode, 0, label);
});
