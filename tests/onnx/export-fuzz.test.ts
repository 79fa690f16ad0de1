import { outcomes, runCase } from '../fuzz/onnx-export-fuzz';
import { failuresOf, firstSeeds } from '../fuzz/slice';

// A slice of the ONNX export fuzzer (the large run: `node tests/fuzz/run.js --suite onnx-export`):
// random graphs exported to ONNX give graphc's outputs in onnxruntime and when imported back.
const SEEDS = firstSeeds(40);

test('random graphs exported to ONNX run alike in onnxruntime and imported back', async () => {
  expect(await failuresOf(runCase, SEEDS)).toEqual([]);
  // most cases reach onnxruntime (those that update variables have no ONNX form)
  expect(outcomes.compared).toBeGreaterThanOrEqual(SEEDS.length / 2);
}, 300000);
