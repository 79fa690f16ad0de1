import { outcomes, runCase } from '../fuzz/backend-fuzz';
import { failuresOf, firstSeeds } from '../fuzz/slice';
import { describeGpu } from './helpers';

// A slice of the webgpu differential fuzzer (the large run: `node tests/fuzz/run.js --suite webgpu`):
// random graphs on webgpu at O2 (generated and fused kernels, fused updates, the planned arena)
// give the cpu backend's O0 outputs.
const SEEDS = firstSeeds(40);

describeGpu('webgpu differential fuzzer', () => {
  test('random graphs give the cpu reference outputs on webgpu', async () => {
    expect(await failuresOf(runCase, SEEDS)).toEqual([]);
    // the cases reach the GPU: a graph whose every step fell back to the cpu would test nothing
    expect(outcomes.compared).toBeGreaterThanOrEqual(SEEDS.length - 2);
  }, 300000);
});
