import { Graph, Session, ops, tensor } from 'graphc';

/**
 * The cpu topK selects (one pass) for k up to 64 and sorts beyond: both must give the same order,
 * so the first k of a full sort (k = dim) are what a small k returns, on ties, NaN and infinities.
 */
test('selection (small k) and sort (k = dim) agree on every prefix', async () => {
  const dim = 300;
  const data = Array.from({ length: 4 * dim }, (_, i) => (i % 37 === 3 ? NaN : i % 41 === 5 ? -Infinity : i % 43 === 7 ? Infinity : Math.round(Math.sin(i * 1.3) * 8) / 2));
  const g = new Graph();
  const x = g.placeholder('float32', [4, dim], 'x');
  const s = new Session(g);
  for (const largest of [true, false]) {
    const [fullV, fullI] = await s.run(ops.topK(x, dim, -1, largest), { x: tensor(data, [4, dim]) });
    for (const k of [1, 2, 7, 64]) {
      const [v, i] = await s.run(ops.topK(x, k, -1, largest), { x: tensor(data, [4, dim]) });
      for (let row = 0; row < 4; row++) {
        for (let j = 0; j < k; j++) {
          expect(i.data[row * k + j]).toBe(fullI.data[row * dim + j]);
          expect(Object.is(v.data[row * k + j], fullV.data[row * dim + j])).toBe(true);
        }
      }
    }
  }
});

test('an inner axis and int32 values', async () => {
  const g = new Graph();
  const x = g.placeholder('int32', [50, 3], 'x');
  const s = new Session(g);
  const data = Array.from({ length: 150 }, (_, i) => (i * 7919) % 11);
  const [fullV, fullI] = await s.run(ops.topK(x, 50, 0), { x: tensor(data, [50, 3], 'int32') });
  const [v, i] = await s.run(ops.topK(x, 5, 0), { x: tensor(data, [50, 3], 'int32') });
  expect(Array.from(v.data)).toEqual(Array.from(fullV.data.slice(0, 15)));
  expect(Array.from(i.data)).toEqual(Array.from(fullI.data.slice(0, 15)));
});
