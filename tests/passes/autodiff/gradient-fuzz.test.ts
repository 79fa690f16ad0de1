import { outcomes, runCase } from '../../fuzz/gradient-fuzz';

// A slice of the autodiff fuzzer (the large run: `node tests/fuzz/run.js --suite gradients`): the
// symbolic gradients of random float64 graphs equal central differences element by element.
const SEEDS = Array.from({ length: 200 }, (_, i) => 1 + i);

test('random graphs: symbolic gradients equal central differences', async () => {
  const failures: string[] = [];
  for (const seed of SEEDS) {
    const r = await runCase(seed);
    if (!r.ok) failures.push(r.detail!);
  }
  expect(failures).toEqual([]);
  // most cases compare (those that update a variable cannot be differenced), element by element
  expect(outcomes.compared).toBeGreaterThanOrEqual(SEEDS.length / 2);
  expect(outcomes.elements).toBeGreaterThan(outcomes.compared * 5);
}, 300000);
