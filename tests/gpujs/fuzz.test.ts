import { gpujs, outcomes } from '../fuzz/backend-fuzz';

// A slice of the gpujs differential fuzzer (the large run: `GRAPHC_GPUJS_MODE=webasm node
// tests/fuzz/run.js --suite gpujs`): random graphs on gpujs at O2 give the cpu backend's O0 outputs.
// webasm is the gpu.js mode every machine has; the other modes run the op cases in ops.test.ts.
process.env.GRAPHC_GPUJS_MODE = 'webasm';
const SEEDS = Array.from({ length: 150 }, (_, i) => 1 + i);

test('random graphs give the cpu reference outputs on gpujs (webasm)', async () => {
  const failures: string[] = [];
  for (const seed of SEEDS) {
    const r = await gpujs.runCase(seed);
    if (!r.ok) failures.push(r.detail!);
  }
  expect(failures).toEqual([]);
  // most cases reach gpu.js kernels (a plan may run wholly on the cpu, or be refused, typed)
  expect(outcomes.compared).toBeGreaterThanOrEqual(SEEDS.length * 0.9);
}, 300000);
