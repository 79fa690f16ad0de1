import { Graph, Session, ops, setCpuThreads, tensor } from 'graphc';

/**
 * The float32 GEMM on worker threads (setCpuThreads): each block of C is split by column panels, so
 * every result must equal the one-thread result bit for bit, for products that take the threads
 * (large blocks) and products that stay on one (small blocks, edges).
 */

function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.37 + seed)));
}

afterAll(() => {
  setCpuThreads(1);
});

test('matmul, batched matmul and conv2d give the same bits on two threads as on one', async () => {
  const g = new Graph();
  const cases = [
    [512, 300, 520],
    [130, 1000, 77],
    [3, 5, 7],
  ].map(([m, k, n], c) => {
    const a = g.placeholder('float32', [m, k], `a${c}`);
    const b = g.placeholder('float32', [k, n], `b${c}`);
    return { fetch: ops.matmul(a, b), feeds: { [`a${c}`]: tensor(values(m * k, c), [m, k]), [`b${c}`]: tensor(values(k * n, c + 10), [k, n]) } };
  });
  const x = g.placeholder('float32', [2, 30, 30, 64], 'x');
  const conv = ops.conv2d(x, g.constant(tensor(values(3 * 3 * 64 * 96, 7), [3, 3, 64, 96])), 1, 'SAME');
  const bx = g.placeholder('float32', [3, 200, 260], 'bx');
  const batched = ops.matmul(bx, g.constant(tensor(values(260 * 300, 8), [260, 300])));
  const feeds = Object.assign(
    { x: tensor(values(2 * 30 * 30 * 64, 5), [2, 30, 30, 64]), bx: tensor(values(3 * 200 * 260, 6), [3, 200, 260]) },
    ...cases.map((c) => c.feeds),
  );
  const fetches = [...cases.map((c) => c.fetch), conv, batched];
  const session = new Session(g);
  expect(setCpuThreads(1)).toBe(1);
  const one = await session.run(fetches, feeds);
  expect(setCpuThreads(2)).toBe(2);
  const two = await session.run(fetches, feeds);
  const again = await session.run(fetches, feeds);
  expect(setCpuThreads(1)).toBe(1);
  const back = await session.run(fetches, feeds);
  one.forEach((t, i) => {
    expect(Array.from(two[i].data)).toEqual(Array.from(t.data));
    expect(Array.from(again[i].data)).toEqual(Array.from(t.data));
    expect(Array.from(back[i].data)).toEqual(Array.from(t.data));
  });
});

test('a thread count that is not a positive integer is refused', () => {
  expect(() => setCpuThreads(0)).toThrow(/positive integer/);
  expect(() => setCpuThreads(1.5)).toThrow(/positive integer/);
});
