import { outcomes, runCase } from '../fuzz/model-fuzz';

// A slice of the model.json fuzzer (the large run is `npm run fuzz`): mutated model files load and
// run to success or a GraphcError naming the file and node, never another exception or a hang.
test('mutated model.json files fail only with typed errors', async () => {
  const failures: string[] = [];
  for (let seed = 1; seed <= 400; seed++) {
    const r = await runCase(seed);
    if (!r.ok) failures.push(r.detail!);
  }
  expect(failures).toEqual([]);
  // the mutants reach both the loader's errors and real runs
  expect(outcomes.loadError).toBeGreaterThan(100);
  expect(outcomes.ran).toBeGreaterThan(20);
});
