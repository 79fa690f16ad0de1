import { gpujs, outcomes } from '../fuzz/backend-fuzz';
import { failuresOf, firstSeeds } from '../fuzz/slice';
import { testModes } from './harness';

// A slice of the gpujs differential fuzzer (the large run: `GRAPHC_GPUJS_MODE=webasm node
// tests/fuzz/run.js --suite gpujs`): random graphs on gpujs at O2 give the cpu backend's O0 outputs,
// in webasm (the gpu.js mode every machine has) and in webgpu where an adapter answers (lavapipe in
// CI), whose 8 storage buffers a shader bound how much one kernel may read.
const SEEDS = firstSeeds(150);
const mode = process.env.GRAPHC_GPUJS_MODE;
afterAll(() => {
  if (mode === undefined) delete process.env.GRAPHC_GPUJS_MODE;
  else process.env.GRAPHC_GPUJS_MODE = mode;
});

test('random graphs give the cpu reference outputs on gpujs (webasm)', async () => {
  process.env.GRAPHC_GPUJS_MODE = 'webasm';
  const before = outcomes.compared;
  expect(await failuresOf(gpujs.runCase, SEEDS)).toEqual([]);
  // most cases reach gpu.js kernels (a plan may run wholly on the cpu, or be refused, typed)
  expect(outcomes.compared - before).toBeGreaterThanOrEqual(SEEDS.length * 0.9);
}, 300000);

test('and in gpu.js webgpu mode, where this machine has an adapter', async () => {
  if (!(await testModes()).includes('webgpu')) return;
  process.env.GRAPHC_GPUJS_MODE = 'webgpu';
  const seeds = SEEDS.slice(0, 60);
  const before = outcomes.compared;
  expect(await failuresOf(gpujs.runCase, seeds)).toEqual([]);
  expect(outcomes.compared - before).toBeGreaterThanOrEqual(seeds.length * 0.9);
}, 300000);
