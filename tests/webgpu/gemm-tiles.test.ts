import { Graph, SymbolicTensor, TensorValue, gradients, ops, setWebGpuGemmPrefetch, setWebGpuGemmTile, tensor, webGpuGemmTile } from 'graphc';
import { takesLargeTiles } from '../../packages/runtime/src/backends/webgpu/kernels/gemm';
import { describeGpu, expectClose, runBoth, seeded, transposedMatmuls } from './helpers';

/**
 * Both GEMM tilings of large products, 128x128 (each thread 2x2 blocks of 4x4 outputs, forced by
 * setWebGpuGemmTile(128)) and 64x64 (setWebGpuGemmTile(64)), each with and without prefetching the
 * next k step's tiles into registers (setWebGpuGemmPrefetch): every operand layout, ragged edges, batches, fused epilogues and
 * the implicit-GEMM convolutions give the cpu backend's results.
 */
async function check(g: Graph, outs: SymbolicTensor[], feeds: Record<string, TensorValue>, optimize: 0 | 2 = 0) {
  const { cpu, gpu, exe } = await runBoth(g, outs, feeds, { optimize });
  outs.forEach((o, i) => expectClose(gpu[i], cpu[i], 1e-4, 1e-2, `${o.node.op} #${i} (O${optimize})`));
  expect(exe.fallbacks).toEqual([]);
}

describe.each([
  [128, false],
  [64, false],
  [128, true],
  [64, true],
] as const)('tile %i, prefetch %s', (tile, prefetch) => {
  describeGpu(`webgpu GEMM, ${tile}x${tile} tiles${prefetch ? ', next tiles prefetched into registers' : ''}`, () => {
    beforeAll(() => {
      setWebGpuGemmTile(tile);
      setWebGpuGemmPrefetch(prefetch);
    });
    afterAll(() => {
      setWebGpuGemmTile('auto');
      setWebGpuGemmPrefetch(false);
    });

    test.each([
      [128, 64, 128],
      [130, 33, 257],
      [256, 100, 132],
      [200, 16, 129],
    ])('matmul %i x %i x %i in all four transpose combinations', async (m, k, n) => {
      const { g, outs, feeds } = transposedMatmuls(m, k, n);
      await check(g, outs, feeds);
    });

    test('batched, and with a fused bias + relu + residual epilogue', async () => {
      const g = new Graph();
      const a = g.placeholder('float32', [2, 140, 48], 'a');
      const b = g.placeholder('float32', [48, 136], 'b');
      const bias = g.placeholder('float32', [136], 'bias');
      const r = g.placeholder('float32', [2, 140, 136], 'r');
      const y = ops.add(ops.relu(ops.add(ops.matmul(a, b), bias)), r);
      const feeds = { a: tensor(seeded(2 * 140 * 48, 5), [2, 140, 48]), b: tensor(seeded(48 * 136, 6), [48, 136]), bias: tensor(seeded(136, 7), [136]), r: tensor(seeded(2 * 140 * 136, 8), [2, 140, 136]) };
      await check(g, [ops.matmul(a, b), y], feeds, 0);
      await check(g, [y], feeds, 2);
    });

    test('conv2d as implicit GEMM (256 pixels x 128 filters) and its gradients', async () => {
      const g = new Graph();
      const x = g.placeholder('float32', [1, 16, 16, 8], 'x');
      const w = g.placeholder('float32', [3, 3, 8, 128], 'w');
      const y = ops.conv2d(x, w, 1, 'SAME');
      const dy = g.placeholder('float32', [1, 16, 16, 128], 'dy');
      const [dx, dw] = gradients(ops.reduceSum(ops.mul(y, dy)), [x, w]);
      const outs = [y, dx, dw];
      await check(g, outs, { x: tensor(seeded(2048, 9), [1, 16, 16, 8]), w: tensor(seeded(9216, 10), [3, 3, 8, 128]), dy: tensor(seeded(32768, 11), [1, 16, 16, 128]) });
    });
  });
});

describe('GEMM tile choice (no GPU needed)', () => {
  const gpuTarget = { maxPerDim: 65535, software: false };
  const software = { maxPerDim: 65535, software: true };
  afterEach(() => setWebGpuGemmTile('auto'));

  test("'auto' is the default: 128-tiles on a software adapter, on a GPU only when they still fill it", () => {
    expect(webGpuGemmTile()).toBe('auto');
    expect(takesLargeTiles(512, 1024, 1, software)).toBe(true);
    // the MLP's 512x1024 product: 32 workgroups of 128x128, 128 of 64x64
    expect(takesLargeTiles(512, 1024, 1, gpuTarget)).toBe(false);
    expect(takesLargeTiles(1024, 1024, 1, gpuTarget)).toBe(false);
    expect(takesLargeTiles(2048, 2048, 1, gpuTarget)).toBe(true);
    expect(takesLargeTiles(4096, 4096, 1, gpuTarget)).toBe(true);
    // batch entries are workgroups too
    expect(takesLargeTiles(512, 512, 16, gpuTarget)).toBe(true);
    // small products never take them
    expect(takesLargeTiles(100, 4096, 64, software)).toBe(false);
  });

  test('64 and 128 force the tile; anything else is refused', () => {
    setWebGpuGemmTile(128);
    expect(takesLargeTiles(512, 1024, 1, gpuTarget)).toBe(true);
    setWebGpuGemmTile(64);
    expect(takesLargeTiles(4096, 4096, 1, software)).toBe(false);
    expect(() => setWebGpuGemmTile(32 as never)).toThrow(/64, 128 or 'auto'/);
  });
});
