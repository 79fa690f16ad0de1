import { buildCase, compareValues, runCase } from '../fuzz/passes-fuzz';
import { tensor } from 'graphc';
import { failuresOf, firstSeeds } from '../fuzz/slice';

// every plan runs the verifier after each pass
process.env.GRAPHC_VERIFY_PASSES = '1';

// A small slice of the differential fuzzer (the large run is `npm run fuzz`).
const SEEDS = firstSeeds(120);

test('random graphs give the same outputs at O1, O2 and O3 as at O0', async () => {
  expect(await failuresOf(runCase, SEEDS)).toEqual([]);
});

test('a seed always builds the same graph and feeds', () => {
  const a = buildCase(4242);
  const b = buildCase(4242);
  expect(a.graph.nodes.map((n) => `${n.name}:${n.op}`)).toEqual(b.graph.nodes.map((n) => `${n.name}:${n.op}`));
  expect(Object.values(a.feeds).map((f) => Array.from(f.data))).toEqual(Object.values(b.feeds).map((f) => Array.from(f.data)));
});

test('the comparison catches a wrong element, a NaN and a shape change', () => {
  const want = tensor([1, 2, 3], [3]);
  expect(compareValues(tensor([1, 2, 3.00001], [3]), want)).toBeUndefined();
  expect(compareValues(tensor([1, 2, 3.1], [3]), want)).toMatch(/element 2/);
  expect(compareValues(tensor([1, NaN, 3], [3]), want)).toMatch(/element 1/);
  expect(compareValues(tensor([1, 2, 3], [1, 3]), want)).toMatch(/shape/);
});
