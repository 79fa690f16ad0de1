import { gpujs, outcomes } from '../fuzz/backend-fuzz';
import { failuresOf, firstSeeds } from '../fuzz/slice';

// A slice of the gpujs differential fuzzer (the large run: `GRAPHC_GPUJS_MODE=webasm node
// tests/fuzz/run.js --suite gpujs`): random graphs on gpujs at O2 give the cpu backend's O0 outputs.
// webasm is the gpu.js mode every machine has; the other modes run the op cases in ops.test.ts.
process.env.GRAPHC_GPUJS_MODE = 'webasm';
const SEEDS = firstSeeds(150);

test('random graphs give the cpu reference outputs on gpujs (webasm)', async () => {
  expect(await failuresOf(gpujs.runCase, SEEDS)).toEqual([]);
  // most cases reach gpu.js kernels (a plan may run wholly on the cpu, or be refused, typed)
  expect(outcomes.compared).toBeGreaterThanOrEqual(SEEDS.length * 0.9);
}, 300000);
