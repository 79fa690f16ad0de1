import { Session } from 'graphc';
import { allCases } from '../gpujs/cases';
import { closeTo } from '../gpujs/harness';

/**
 * Every op's cases (the gpujs suite's, one or more per registered op) on the cpu backend at O2 with
 * every arena view filled with garbage before its kernel runs (GRAPHC_POISON_ARENA): a kernel that
 * leaves part of its output unwritten, relying on zeroed memory, differs from the O0 run (heap
 * memory, always zeroed). The arena reuses memory, so such a kernel is wrong at O2 in real graphs.
 */
const cases = allCases();

beforeAll(() => {
  process.env.GRAPHC_POISON_ARENA = '1';
});
afterAll(() => {
  delete process.env.GRAPHC_POISON_ARENA;
});

test.each(cases.map((c) => [`${c.op}#${c.variant}`, c] as const))('%s: the same outputs in a poisoned arena', async (label, c) => {
  const built = c.build();
  const reference = new Session(built.graph, { optimize: 0 });
  const planned = new Session(built.graph, { optimize: 2 });
  if (built.init) {
    await reference.run(built.init);
    await planned.run(built.init);
  }
  for (let run = 0; run < (built.runs ?? 1); run++) {
    const want = await reference.run(built.fetches, built.feeds);
    const got = await planned.run(built.fetches, built.feeds);
    want.forEach((w, k) => closeTo(got[k], w, `${label} run ${run} fetch ${k}`));
  }
  expect(planned.plans()[0].memory).toBeDefined();
});
