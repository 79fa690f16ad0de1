import { Graph, SymbolicTensor, TensorValue, ops, tensor } from 'graphc';
import { describeGpu, expectClose, runBoth, seeded, transposedMatmuls } from './helpers';

async function check(g: Graph, outs: SymbolicTensor[], feeds: Record<string, TensorValue>, levels: (0 | 2)[] = [0, 2]) {
  for (const optimize of levels) {
    const { cpu, gpu, exe } = await runBoth(g, outs, feeds, { optimize });
    outs.forEach((o, i) => expectClose(gpu[i], cpu[i], 1e-4, 1e-2, `${o.node.op} #${i} (O${optimize})`));
    expect(exe.fallbacks).toEqual([]);
  }
}

describeGpu('webgpu GEMM', () => {
  test.each([
    [1, 1, 1],
    [3, 5, 7],
    [16, 16, 16],
    [33, 65, 17],
    [64, 64, 64],
    [70, 12, 130],
    [5, 200, 8],
    [128, 96, 40],
  ])('matmul %i x %i x %i in all four transpose combinations', async (m, k, n) => {
    const { g, outs, feeds } = transposedMatmuls(m, k, n);
    await check(g, outs, feeds, [0]);
  });

  test('batched matmul with broadcast batch dimensions', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [2, 3, 5, 8], 'a');
    const b = g.placeholder('float32', [3, 8, 4], 'b');
    const c = g.placeholder('float32', [1, 1, 4, 6], 'c');
    const outs = [ops.matmul(a, b), ops.matmul(ops.matmul(a, b), c)];
    await check(g, outs, { a: tensor(seeded(240, 1), [2, 3, 5, 8]), b: tensor(seeded(96, 2), [3, 8, 4]), c: tensor(seeded(24, 3), [1, 1, 4, 6]) });
  });

  test('matmul + bias + activation at O2 is one fusedMatmul kernel', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [20, 12], 'x');
    const w = g.variable(tensor(seeded(12 * 8, 5), [12, 8]), 'w');
    const b = g.variable(tensor(seeded(8, 6), [8]), 'b');
    const r = g.placeholder('float32', [20, 8], 'r');
    const y = ops.add(ops.relu(ops.add(ops.matmul(x, w), b)), r);
    const w2 = g.variable(tensor(seeded(12 * 8, 9), [12, 8]), 'w2');
    const z = ops.tanh(ops.add(ops.matmul(x, w2), b));
    const feeds = { x: tensor(seeded(240, 7), [20, 12]), r: tensor(seeded(160, 8), [20, 8]) };
    const { cpu, gpu, exe } = await runBoth(g, [y, z], feeds, { optimize: 2 });
    expectClose(gpu[0], cpu[0]);
    expectClose(gpu[1], cpu[1]);
    expect(exe.placement.filter((p) => p.where === 'gpu').map((p) => p.op)).toEqual(['fusedMatmul', 'fusedMatmul']);
    expect(exe.fallbacks).toEqual([]);
  });

  test('empty and K = 0 products', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [3, 0], 'a');
    const b = g.placeholder('float32', [0, 4], 'b');
    const e = g.placeholder('float32', [0, 5], 'e');
    const f = g.placeholder('float32', [5, 2], 'f');
    await check(g, [ops.matmul(a, b), ops.matmul(e, f)], { a: tensor([], [3, 0]), b: tensor([], [0, 4]), e: tensor([], [0, 5]), f: tensor(seeded(10, 1), [5, 2]) }, [0]);
  });
});

describeGpu('webgpu convolutions and pools', () => {
  const convCases: [string, number[], number[], number | [number, number], 'SAME' | 'VALID' | [[number, number], [number, number]], number][] = [
    ['3x3 SAME, C=3', [2, 7, 6, 3], [3, 3, 3, 5], 1, 'SAME', 1],
    ['3x3 stride 2 VALID, C=4 (vec4 loads)', [2, 9, 8, 4], [3, 3, 4, 8], 2, 'VALID', 1],
    ['5x5 SAME stride 2 dilation 1, C=8', [1, 11, 10, 8], [5, 5, 8, 4], 2, 'SAME', 1],
    ['1x1 pointwise', [3, 5, 5, 6], [1, 1, 6, 7], 1, 'VALID', 1],
    ['3x3 dilation 2, explicit padding', [1, 9, 9, 2], [3, 3, 2, 3], 1, [[1, 2], [0, 1]], 2],
    ['2x4 strides [2,1]', [2, 8, 7, 4], [2, 4, 4, 4], [2, 1], 'SAME', 1],
  ];
  test.each(convCases)('conv2d and its two gradients: %s', async (_label, xs, fs, strides, padding, dilation) => {
    const g = new Graph();
    const x = g.placeholder('float32', xs, 'x');
    const f = g.placeholder('float32', fs, 'f');
    const y = ops.conv2d(x, f, strides, padding, { dilations: dilation });
    const dy = g.placeholder('float32', y.shape, 'dy');
    const attrs = y.node.attrs;
    const dx = ops.conv2dBackpropInput(dy, f, x, attrs);
    const df = ops.conv2dBackpropFilter(x, dy, f, attrs);
    const size = (s: (number | null)[]) => s.reduce<number>((p, d) => p * (d as number), 1);
    await check(g, [y, dx, df], {
      x: tensor(seeded(size(xs), 1), xs),
      f: tensor(seeded(size(fs), 2), fs),
      dy: tensor(seeded(size(y.shape), 3), y.shape as number[]),
    }, [0]);
  });

  test.each([
    ['multiplier 1, SAME', [2, 6, 6, 4], [3, 3, 4, 1], 1, 'SAME'],
    ['multiplier 2, stride 2 VALID', [1, 7, 8, 3], [3, 3, 3, 2], 2, 'VALID'],
  ] as const)('depthwiseConv2d and its two gradients: %s', async (_label, xs, fs, strides, padding) => {
    const g = new Graph();
    const x = g.placeholder('float32', [...xs], 'x');
    const f = g.placeholder('float32', [...fs], 'f');
    const y = ops.depthwiseConv2d(x, f, strides, padding);
    const dy = g.placeholder('float32', y.shape, 'dy');
    const dx = ops.depthwiseConv2dBackpropInput(dy, f, x, y.node.attrs);
    const df = ops.depthwiseConv2dBackpropFilter(x, dy, f, y.node.attrs);
    const size = (s: readonly (number | null)[]) => s.reduce<number>((p, d) => p * (d as number), 1);
    await check(g, [y, dx, df], {
      x: tensor(seeded(size(xs), 1), [...xs]),
      f: tensor(seeded(size(fs), 2), [...fs]),
      dy: tensor(seeded(size(y.shape), 3), y.shape as number[]),
    }, [0]);
  });

  test('conv + bias + relu and depthwise + bias + relu6 fuse at O2 (fusedConv2d, fusedDepthwiseConv2d)', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 8, 8, 4], 'x');
    const f = g.variable(tensor(seeded(3 * 3 * 4 * 8, 1), [3, 3, 4, 8]), 'f');
    const b = g.variable(tensor(seeded(8, 2), [8]), 'b');
    const d = g.variable(tensor(seeded(3 * 3 * 8, 3), [3, 3, 8, 1]), 'd');
    const db = g.variable(tensor(seeded(8, 4), [8]), 'db');
    const h = ops.relu(ops.add(ops.conv2d(x, f, 1, 'SAME'), b));
    const y = ops.relu6(ops.add(ops.depthwiseConv2d(h, d, 2, 'SAME'), db));
    const { cpu, gpu, exe } = await runBoth(g, [y], { x: tensor(seeded(512, 5), [2, 8, 8, 4]) }, { optimize: 2 });
    expectClose(gpu[0], cpu[0]);
    expect(exe.placement.filter((p) => p.where === 'gpu').map((p) => p.op)).toEqual(['fusedConv2d', 'fusedDepthwiseConv2d']);
  });

  test.each([
    ['2x2 stride 2 VALID', [2, 6, 6, 3], [2, 2], [2, 2], 'VALID'],
    ['3x3 stride 1 SAME', [1, 5, 7, 4], [3, 3], [1, 1], 'SAME'],
    ['3x3 stride 2 SAME', [2, 7, 7, 2], [3, 3], [2, 2], 'SAME'],
  ] as const)('maxPool, avgPool and their gradients: %s', async (_label, xs, ksize, strides, padding) => {
    const g = new Graph();
    const x = g.placeholder('float32', [...xs], 'x');
    const mp = ops.maxPool(x, [...ksize], [...strides], padding);
    const ap = ops.avgPool(x, [...ksize], [...strides], padding);
    const dy = g.placeholder('float32', mp.shape, 'dy');
    const ddx = g.placeholder('float32', [...xs], 'ddx');
    const outs = [mp, ap, ops.maxPoolGrad(dy, x, mp.node.attrs), ops.avgPoolGrad(dy, x, ap.node.attrs), ops.maxPoolGradGrad(ddx, x, mp.node.attrs)];
    const size = (s: readonly (number | null)[]) => s.reduce<number>((p, d) => p * (d as number), 1);
    // ties on purpose: quantized values make several cells share a window's maximum
    const xv = seeded(size(xs), 1).map((v) => Math.round(v * 3) / 3);
    await check(g, outs, { x: tensor(xv, [...xs]), dy: tensor(seeded(size(mp.shape), 2), mp.shape as number[]), ddx: tensor(seeded(size(xs), 3), [...xs]) }, [0]);
  });

  test('batchNorm with per-channel statistics, and int32 maxPool', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 3, 5], 'x');
    const s = (name: string, seed: number, pos = false) => g.placeholder('float32', [5], name) && tensor(seeded(5, seed).map((v) => (pos ? Math.abs(v) + 0.5 : v)), [5]);
    const mean = g.placeholder('float32', [5], 'mean');
    const variance = g.placeholder('float32', [5], 'variance');
    const y = ops.batchNorm(x, mean, variance, ops.mul(mean, 0.5), 2, 1e-3);
    const xi = g.placeholder('int32', [1, 4, 4, 2], 'xi');
    const mi = ops.maxPool(xi, 2, 2, 'VALID');
    await check(g, [y, mi], {
      x: tensor(seeded(90, 1), [2, 3, 3, 5]),
      mean: s('m_', 2),
      variance: s('v_', 3, true),
      xi: tensor(Array.from({ length: 32 }, (_, i) => (i * 7919) % 23 - 11), [1, 4, 4, 2], 'int32'),
    }, [0]);
  });
});
