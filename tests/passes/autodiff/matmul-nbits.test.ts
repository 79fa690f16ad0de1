import { Graph, Session, SymbolicTensor, checkGradients, gradients, nbitsLayout, nbitsWeight, ops, tensor } from 'graphc';
import { values } from './helpers';

/**
 * matmulNBits' gradient with respect to a: dY W^T for a W, and dY W for a W^T (transposeW), the
 * packed weights read the other way; none reaches the weights, scales or zero points.
 */
const [K, N, BITS, BLOCK] = [40, 6, 4 as const, 16];
const layout = nbitsLayout({ bits: BITS, blockSize: BLOCK, k: K });

/** Fixed 4-bit weights: words over the whole int32 range, scales in [0.05, 0.25], zero points 0 to 15. */
function weights(g: Graph): SymbolicTensor[] {
  const packed = Array.from({ length: N * layout.words }, (_, i) => ((i * 2654435761) ^ (i << 7)) | 0);
  const scales = Array.from({ length: N * layout.blocks }, (_, i) => 0.05 + ((i * 37) % 11) / 50);
  const zeroPoints = Array.from({ length: N * layout.blocks }, (_, i) => (i * 5) % 16);
  return [g.constant(tensor(packed, [N, layout.words], 'int32')), g.constant(tensor(scales, [N, layout.blocks])), g.constant(tensor(zeroPoints, [N, layout.blocks]))];
}

describe('matmulNBits gradient (float64, central differences)', () => {
  test('a times W: [3, k] and a batch [2, 2, k]', async () => {
    for (const shape of [[3, K], [2, 2, K]]) {
      await checkGradients((a) => ops.matmulNBits(a, ...(weights(a.graph) as [SymbolicTensor, SymbolicTensor, SymbolicTensor]), { bits: BITS, blockSize: BLOCK, k: K }), [values(shape, 61)]);
    }
  });

  test('a times W^T (transposeW), whose gradient is a times W again', async () => {
    await checkGradients((a) => ops.matmulNBits(a, ...(weights(a.graph) as [SymbolicTensor, SymbolicTensor, SymbolicTensor]), { bits: BITS, blockSize: BLOCK, k: K, transposeW: true }), [values([3, N], 62)]);
  });

  test('W^T is the transpose of the dequantized W, as a dense matmul computes it (float32 and float64)', async () => {
    const g = new Graph();
    const [packed, scales, zeroPoints] = weights(g);
    const dense = new Float64Array(K * N);
    const [p, s, z] = [packed, scales, zeroPoints].map((t) => (t.node.attrs.value as { data: ArrayLike<number> }).data);
    for (let col = 0; col < N; col++) for (let kk = 0; kk < K; kk++) dense[kk * N + col] = Math.fround(nbitsWeight(layout, p, s, z, col, kk));
    for (const dtype of ['float32', 'float64'] as const) {
      const a = g.placeholder(dtype, [2, N], `a_${dtype}`);
      const ours = ops.matmulNBits(a, packed, scales, zeroPoints, { bits: BITS, blockSize: BLOCK, k: K, transposeW: true });
      const theirs = ops.matmul(a, g.constant(tensor(dense, [K, N], dtype)), { transposeB: true });
      const feed = tensor(Array.from(values([2, N], 63).data), [2, N], dtype);
      const [x, y] = await new Session(g, { optimize: 0 }).run([ours, theirs], { [`a_${dtype}`]: feed });
      expect(x.shape).toEqual([2, K]);
      const worst = Array.from(x.data).reduce((m, v, i) => Math.max(m, Math.abs(v - Number(y.data[i]))), 0);
      expect(worst).toBeLessThan(dtype === 'float32' ? 1e-5 : 1e-12);
    }
  });

  test('no gradient reaches the packed weights, scales or zero points (zeros)', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [1, K], 'a');
    const [packed, scales, zeroPoints] = weights(g);
    const y = ops.matmulNBits(a, packed, scales, zeroPoints, { bits: BITS, blockSize: BLOCK, k: K });
    const [da, ds, dz] = gradients(ops.reduceSum(y), [a, scales, zeroPoints]);
    const [ga, gs, gz] = await new Session(g).run([da, ds, dz], { a: tensor(Array.from(values([1, K], 64).data), [1, K]) });
    expect(ga.shape).toEqual([1, K]);
    expect(Array.from(ga.data).some((v) => v !== 0)).toBe(true);
    expect([...gs.data, ...gz.data].every((v) => v === 0)).toBe(true);
  });
});
