import { Graph, SymbolicTensor, TensorValue, ops, tensor } from 'graphc';
import { describeGpu, expectClose, runBoth, seeded } from './helpers';

/**
 * topK over long rows with a small k runs as k selection passes per row (a workgroup each); it must
 * give the cpu backend's values and indices exactly: ties by index, NaN as the largest, infinities,
 * int32 and int64, an inner axis.
 */
async function check(g: Graph, outs: SymbolicTensor[], feeds: Record<string, TensorValue>): Promise<void> {
  const { cpu, gpu, exe } = await runBoth(g, outs, feeds, { optimize: 0 });
  outs.forEach((o, i) => expectClose(gpu[i], cpu[i], 0, 0, `${o.name}`));
  expect(exe.fallbacks).toEqual([]);
}

/** Values drawn from few levels, so ties are everywhere; a few NaN and infinities. */
function tied(n: number, seed: number, special: boolean): number[] {
  return Array.from(seeded(n, seed), (v, i) => {
    if (special && i % 97 === 5) return NaN;
    if (special && i % 89 === 7) return i % 2 ? Infinity : -Infinity;
    return Math.round(v * 6) / 2;
  });
}

describeGpu('webgpu topK by selection (rows of 512 or more, k up to 32)', () => {
  test('float32 rows: largest and smallest, k 1, 5 and 32, ties, NaN, infinities', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3, 700], 'x');
    const outs: SymbolicTensor[] = [];
    for (const k of [1, 5, 32]) outs.push(...ops.topK(x, k), ...ops.topK(x, k, -1, false));
    await check(g, outs, { x: tensor(tied(2100, 1, true), [3, 700]) });
  });

  test('an inner axis (rows strided in memory) and a row count over one workgroup grid row', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [600, 4, 3], 'x');
    const outs = [...ops.topK(x, 7, 0), ...ops.topK(x, 3, 0, false)];
    await check(g, outs, { x: tensor(tied(7200, 2, false), [600, 4, 3]) });
  });

  test('int32 and int64 values, ties everywhere', async () => {
    const g = new Graph();
    const i = g.placeholder('int32', [2, 1000], 'i');
    const l = g.placeholder('int64', [1500], 'l');
    const outs = [...ops.topK(i, 10), ...ops.topK(i, 4, -1, false), ...ops.topK(l, 16), ...ops.topK(l, 2, 0, false)];
    const ints = (n: number, seed: number) => Array.from(seeded(n, seed), (v) => Math.round(v * 20));
    await check(g, outs, { i: tensor(ints(2000, 3), [2, 1000], 'int32'), l: tensor(ints(1500, 4), [1500], 'int64') });
  });
});
