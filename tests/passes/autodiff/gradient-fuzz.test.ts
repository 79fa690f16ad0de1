import { outcomes, runCase } from '../../fuzz/gradient-fuzz';
import { failuresOf, firstSeeds } from '../../fuzz/slice';

// A slice of the autodiff fuzzer (the large run: `node tests/fuzz/run.js --suite gradients`): the
// symbolic gradients of random float64 graphs equal central differences element by element.
const SEEDS = firstSeeds(200);

test('random graphs: symbolic gradients equal central differences', async () => {
  expect(await failuresOf(runCase, SEEDS)).toEqual([]);
  // most cases compare (those that update a variable cannot be differenced), element by element
  expect(outcomes.compared).toBeGreaterThanOrEqual(SEEDS.length / 2);
  expect(outcomes.elements).toBeGreaterThan(outcomes.compared * 5);
}, 300000);
