import { Graph, Session, TensorValue, UnsupportedOpError, exportOnnx, importOnnx, onnx, ops, tensor } from 'graphc';
import { compare, runInOrt } from '../../scripts/conformance-harness';

/**
 * The solves exported: by default as MatMul with an inverse built from Det (adjugate over
 * determinant, standard ONNX); with contribOps as onnxruntime's com.microsoft Inverse, which imports
 * back as a solve against the identity. cholesky has no ONNX form.
 */
function solveGraph(): { g: Graph; feeds: Record<string, TensorValue>; outputs: string[] } {
  const g = new Graph();
  const a = g.placeholder('float32', [2, 3, 3], 'a');
  const b = g.placeholder('float32', [2, 3, 2], 'b');
  const outputs = [ops.matrixSolve(a, b, {}, 'x').name, ops.matrixInverse(a, {}, 'inverse').name, ops.matrixTriangularSolve(a, b, { lower: false }, 'upper').name];
  const feeds = {
    a: tensor([4, 1, -2, 0.5, 3, 1, 2, -1, 5, 2, 2, 1, 1, 3, 3, 4, 1, 5], [2, 3, 3]),
    b: tensor([1, -1, 2, 0.5, -3, 4, 2, 2, -1, 0, 1, 3], [2, 3, 2]),
  };
  return { g, feeds, outputs };
}

describe('matrixSolve and matrixTriangularSolve exported to ONNX', () => {
  test.each([false, true])('contribOps %s: the nodes written, and onnxruntime gives graphc\'s values', async (contribOps) => {
    const { g, feeds, outputs } = solveGraph();
    const bytes = exportOnnx(g, { outputs, contribOps });
    const types = new Set(onnx.ModelProto.decode(bytes).graph!.node!.map((n) => `${n.domain || ''}:${n.opType}`));
    expect(types.has('com.microsoft:Inverse')).toBe(contribOps);
    expect(types.has(':Det')).toBe(!contribOps);
    const ours = await new Session(g).run(outputs, feeds);
    const theirs = await runInOrt(bytes, feeds, outputs);
    ours.forEach((o, k) => expect({ output: outputs[k], problem: compare(o, theirs[k]) }).toEqual({ output: outputs[k], problem: undefined }));
  });

  test('com.microsoft Inverse imports back as a solve against the identity, with the same values', async () => {
    const { g, feeds, outputs } = solveGraph();
    const back = importOnnx(exportOnnx(g, { outputs, contribOps: true }), { file: 'inverse.onnx' });
    expect(back.graph.nodes.filter((n) => n.op === 'matrixSolve').length).toBe(3);
    const ours = await new Session(g).run(outputs, feeds);
    const again = await new Session(back.graph).run(back.signature.outputs, feeds);
    ours.forEach((o, k) => expect(compare(o, again[k])).toBeUndefined());
  });

  test('cholesky has no ONNX form: an UnsupportedOpError naming it', () => {
    const g = new Graph();
    const l = ops.cholesky(g.placeholder('float32', [3, 3], 'a'));
    expect(() => exportOnnx(g, { outputs: [l.name] })).toThrow(UnsupportedOpError);
    expect(() => exportOnnx(g, { outputs: [l.name] })).toThrow(/cholesky/);
  });
});
