import { outcomes, runCase } from '../fuzz/onnx-fuzz';

// A slice of the ONNX import fuzzer (the large run is `npm run fuzz`): mutated models import and
// run to success or a GraphcError, never another exception or a hang.
test('mutated ONNX models fail only with typed errors', async () => {
  const failures: string[] = [];
  for (let seed = 1; seed <= 300; seed++) {
    const r = await runCase(seed);
    if (!r.ok) failures.push(r.detail!);
  }
  expect(failures).toEqual([]);
  // the mutants reach both the importer's errors and real runs
  expect(outcomes.importError).toBeGreaterThan(50);
  expect(outcomes.ran).toBeGreaterThan(20);
});
