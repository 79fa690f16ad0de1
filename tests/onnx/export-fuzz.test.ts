import { outcomes, runCase } from '../fuzz/onnx-export-fuzz';

// A slice of the ONNX export fuzzer (the large run: `node tests/fuzz/run.js --suite onnx-export`):
// random graphs exported to ONNX give graphc's outputs in onnxruntime and when imported back.
const SEEDS = Array.from({ length: 40 }, (_, i) => 1 + i);

test('random graphs exported to ONNX run alike in onnxruntime and imported back', async () => {
  const failures: string[] = [];
  for (const seed of SEEDS) {
    const r = await runCase(seed);
    if (!r.ok) failures.push(r.detail!);
  }
  expect(failures).toEqual([]);
  // most cases reach onnxruntime (those that update variables have no ONNX form)
  expect(outcomes.compared).toBeGreaterThanOrEqual(SEEDS.length / 2);
}, 300000);
