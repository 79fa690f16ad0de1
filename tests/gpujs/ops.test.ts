import { GpujsMode, hasGpujsKernel } from '@graphc/runtime';
import { registeredOps } from '@graphc/graph';
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

test('every registered op has a gpujs kernel and a test case', () => {
  expect(registeredOps().filter((d) => !hasGpujsKernel(d.name)).map((d) => d.name)).toEqual([]);
  expect(uncoveredOps()).toEqual([]);
});

const cases = allCases();
test.each(cases.map((c) => [`${c.op}#${c.variant}`, c] as const))('%s matches the cpu backend on every mode', async (label, c) => {
  for (const mode of modes) await compareWithCpu(c.build(), mode, 0, label);
});
