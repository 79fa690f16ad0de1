import { Graph, Session, TensorValue, exportOnnx, importOnnx, nbitsLayout, onnx, ops, tensor } from 'graphc';
import { compare, runInOrt } from '../../scripts/conformance-harness';

/**
 * matmulNBits exported: by default as a MatMul of the dequantized float weights (standard ONNX), the
 * packed words, scales and zero points not written besides; with contribOps as onnxruntime's
 * MatMulNBits, the weights still packed. Both run in onnxruntime with graphc's values, and the
 * contrib form imports back to matmulNBits.
 */
const [K, N, BLOCK] = [96, 24, 32];

function int4Graph(): { g: Graph; feeds: Record<string, TensorValue>; outputs: string[] } {
  const g = new Graph();
  const layout = nbitsLayout({ bits: 4, blockSize: BLOCK, k: K });
  const packed = Array.from({ length: N * layout.words }, (_, i) => Math.imul(i + 1, 2654435761) | 0);
  const scales = Array.from({ length: N * layout.blocks }, (_, i) => 0.01 + ((i * 7) % 13) / 200);
  const zeroPoints = Array.from({ length: N * layout.blocks }, (_, i) => (i * 5) % 16);
  const a = g.placeholder('float32', [null, K], 'a');
  const y = ops.matmulNBits(
    a,
    g.constant(tensor(packed, [N, layout.words], 'int32'), 'packed'),
    g.constant(tensor(scales, [N, layout.blocks]), 'scales'),
    g.constant(tensor(zeroPoints, [N, layout.blocks]), 'zero_points'),
    { bits: 4, blockSize: BLOCK, k: K },
    'y',
  );
  const feeds = { a: tensor(Array.from({ length: 3 * K }, (_, i) => Math.sin(i) * 2), [3, K]) };
  return { g, feeds, outputs: [y.name] };
}

describe('matmulNBits exported to ONNX', () => {
  test.each([false, true])('contribOps %s: runs in onnxruntime with graphc\'s values', async (contribOps) => {
    const { g, feeds, outputs } = int4Graph();
    const bytes = exportOnnx(g, { outputs, contribOps });
    const model = onnx.ModelProto.decode(bytes);
    const nodes = model.graph!.node!.map((n) => `${n.domain || ''}:${n.opType}`);
    expect(nodes).toEqual([contribOps ? 'com.microsoft:MatMulNBits' : ':MatMul']);
    expect(model.opsetImport!.map((o) => o.domain || '')).toEqual(contribOps ? ['', 'com.microsoft'] : ['']);
    // the packed words as int32 are never written: the weights take half a byte each packed, 4 dequantized
    const weightBytes = model.graph!.initializer!.reduce((sum, t) => sum + (t.rawData?.length ?? 4 * (t.floatData?.length ?? 0) + 4 * (t.int32Data?.length ?? 0)), 0);
    expect(weightBytes).toBeLessThan(contribOps ? (K * N) / 2 + 8 * N * (K / BLOCK) + 64 : 4 * K * N + 64);
    const [ours] = await new Session(g).run(outputs, feeds);
    const [theirs] = await runInOrt(bytes, feeds, outputs);
    expect(compare(ours, theirs)).toBeUndefined();
  });

  test('the contrib form imports back to matmulNBits, with the same values', async () => {
    const { g, feeds, outputs } = int4Graph();
    const back = importOnnx(exportOnnx(g, { outputs, contribOps: true }), { file: 'int4.onnx' });
    expect(back.graph.nodes.filter((n) => n.op === 'matmulNBits')).toHaveLength(1);
    const [ours] = await new Session(g).run(outputs, feeds);
    const [again] = await new Session(back.graph).run(back.signature.outputs, feeds);
    expect(Array.from(again.data)).toEqual(Array.from(ours.data));
  });

  test('transposeW and 8 bits, which MatMulNBits cannot say, are written dequantized even with contribOps', () => {
    const g = new Graph();
    const layout = nbitsLayout({ bits: 8, blockSize: 16, k: 32 });
    const c = (v: number[], shape: number[], dtype: 'int32' | 'float32') => g.constant(tensor(v, shape, dtype));
    const a = g.placeholder('float32', [2, 32], 'a');
    const y = ops.matmulNBits(a, c(new Array(4 * layout.words).fill(7), [4, layout.words], 'int32'), c(new Array(8).fill(0.5), [4, 2], 'float32'), c(new Array(8).fill(1), [4, 2], 'float32'), { bits: 8, blockSize: 16, k: 32 });
    const model = onnx.ModelProto.decode(exportOnnx(g, { outputs: [y.name], contribOps: true }));
    expect(model.graph!.node!.map((n) => n.opType)).toEqual(['MatMul']);
    expect(model.opsetImport!.map((o) => o.domain || '')).toEqual(['']);
  });
});
