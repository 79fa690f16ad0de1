import { Graph, SymbolicTensor, TensorValue, nbitsLayout, ops, tensor } from 'graphc';
import { nbitsLanes, setWebGpuNBitsColumnThreads } from '../../packages/runtime/src/backends/webgpu/kernels/matmul-nbits';
import { checkOnGpu, describeGpu, expectClose, randomNBitsWeights, runBoth, seeded } from './helpers';

/**
 * matmulNBits on webgpu against the cpu backend, at O0 and O2, placed on the device: 2, 4 and 8
 * bits; 1 and 17 rows (one row tile, and three of them, the last partial); k a multiple of the
 * block size and not, of 32 / bits and not, of 4 and not (a's rows read as vec4s or as scalars);
 * each column's words split among threads (the GPU's layout, forced by
 * setWebGpuNBitsColumnThreads('split'), the sizes making 1 to 32 of them) and each column one
 * thread's (lavapipe's, forced by 'single'); an odd n; a batched a. Packed words are random over the whole int32 range, so the padding past k in the
 * last block holds bits the kernel must ignore.
 */
type Bits = 2 | 4 | 8;

/** Random weights for n columns (randomNBitsWeights) as the graph's constants. */
function weights(g: Graph, bits: Bits, blockSize: number, k: number, n: number, seed: number): SymbolicTensor[] {
  const { layout, packed, scales, zeroPoints } = randomNBitsWeights(bits, blockSize, k, n, seed);
  return [
    g.constant(tensor(packed, [n, layout.words], 'int32')),
    g.constant(tensor(scales, [n, layout.blocks])),
    g.constant(tensor(zeroPoints, [n, layout.blocks])),
  ];
}

/** For each n and each a shape: a product of a placeholder a with its own weights; the feeds to match. */
function products(bits: Bits, blockSize: number, k: number, ns: number[], aShapes: number[][]): { g: Graph; outs: SymbolicTensor[]; feeds: Record<string, TensorValue> } {
  const g = new Graph();
  const outs: SymbolicTensor[] = [];
  const feeds: Record<string, TensorValue> = {};
  aShapes.forEach((shape, i) => {
    const name = `a${i}`;
    const a = g.placeholder('float32', shape, name);
    feeds[name] = tensor(seeded(shape.reduce((p, d) => p * d, 1), 100 + i), shape);
    ns.forEach((n, j) => {
      const [packed, scales, zeroPoints] = weights(g, bits, blockSize, k, n, 1000 * bits + 10 * j);
      outs.push(ops.matmulNBits(a, packed, scales, zeroPoints, { bits, blockSize, k }));
    });
  });
  return { g, outs, feeds };
}

const BITS: Bits[] = [2, 4, 8];
/**
 * [k, blockSize]: whole blocks; a partial last block; k not a multiple of 4; a column of one whole
 * word; one of 32+ words. 4 bits (LLM exports' width) takes them all, 2 and 8 bits the two that end
 * inside a word or span many (each case compiles its pipelines on lavapipe: the matrix is kept small).
 */
const SIZES: [number, number][] = [
  [96, 32],
  [40, 16],
  [37, 16],
  [20, 16],
  [520, 32],
];

describeGpu('webgpu matmulNBits with transposeW (the gradient with respect to a)', () => {
  test('runs through the CPU fallback, recorded in the plan, with the cpu backend\'s values', async () => {
    const g = new Graph();
    const k = 40;
    const [packed, scales, zeroPoints] = weights(g, 4, 16, k, 37, 77);
    const a = g.placeholder('float32', [3, 37], 'a');
    const y = ops.matmulNBits(a, packed, scales, zeroPoints, { bits: 4, blockSize: 16, k, transposeW: true });
    const { cpu, gpu, exe } = await runBoth(g, [y], { a: tensor(seeded(3 * 37, 78), [3, 37]) });
    expectClose(gpu[0], cpu[0], 1e-4, 1e-2, 'transposeW');
    expect(exe.fallbacks.map((f) => f.op)).toEqual(['matmulNBits']);
  });
});

describe.each(['split', 'single'] as const)('column threads %s', (mode) => {
  describeGpu(`webgpu matmulNBits, ${mode === 'split' ? "each column's words split among threads" : 'a thread a column'}`, () => {
    beforeAll(() => setWebGpuNBitsColumnThreads(mode));
    afterAll(() => setWebGpuNBitsColumnThreads('auto'));

    test('the sizes give columns the threads meant', () => {
      const lanes = new Set(BITS.flatMap((bits) => SIZES.map(([k, blockSize]) => nbitsLanes(nbitsLayout({ bits, blockSize, k }), false))));
      expect([...lanes].sort((x, y) => x - y)).toEqual(mode === 'split' ? [1, 2, 4, 8, 16, 32] : [1]);
    });

    const cases = BITS.flatMap((bits) => SIZES.filter(([k]) => bits === 4 || k === 37 || k === 520).map(([k, blockSize]) => [bits, k, blockSize] as const));
    test.each(cases)(
      '%i bits, k = %i, blockSize = %i: 1 and 17 rows, n = 37',
      async (bits, k, blockSize) => {
        const { g, outs, feeds } = products(bits, blockSize, k, [37], [[1, k], [17, k]]);
        await checkOnGpu(g, outs, feeds, ['matmulNBits']);
      },
    );

    test.each(BITS)('%i bits: a batched a [2, 3, k] and a vector a [k]', async (bits) => {
      const k = 40;
      const { g, outs, feeds } = products(bits, 16, k, [37], [[2, 3, k], [k]]);
      await checkOnGpu(g, outs, feeds, ['matmulNBits']);
    });

    test('decode-sized: 4 bits, k = 512, blockSize = 32, n = 1408, 1 and 8 rows', async () => {
      const k = 512;
      const { g, outs, feeds } = products(4, 32, k, [1408], [[1, k], [8, k]]);
      await checkOnGpu(g, outs, feeds, ['matmulNBits']);
    });
  });
});
