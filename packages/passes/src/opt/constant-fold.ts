import { BYTES_PER_ELEMENT, Node, SymbolicTensor, TensorValue, isFullyKnown, ops, sizeOf } from '@graphc/graph';
import { constValue, def } from '../analysis';
import { Rebuild } from '../rebuild';
import type { GraphPass } from './pass';

const bytesOf = (dtype: keyof typeof BYTES_PER_ELEMENT, shape: number[]): number => sizeOf(shape) * BYTES_PER_ELEMENT[dtype];

/**
 * Constant folding: a pure node whose inputs are all constants (or that is a constant source such as
 * zeros) is evaluated once, with the same CPU kernels that would run it, and becomes a `const`.
 * Results over `foldLimitBytes` are left unfolded unless they are no larger than their inputs, so
 * folding never bloats a model (a broadcast of a scalar to a large tensor stays a kernel). A node
 * the evaluator cannot run (no kernel, bad data) is left for the runtime to report.
 *
 * `shapeOf` folds too where the dimensions it reads are known (a plan knows every fed shape), so the
 * shape arithmetic of an ONNX file (Shape, Gather, Concat into Reshape) folds with it and the
 * simplify pass can resolve the dynamicAttrs node it feeds.
 */
export const constantFoldPass: GraphPass = {
  name: 'constantFold',
  run(graph, ctx) {
    const evaluate = ctx.evaluate;
    if (!evaluate) return { graph, stats: { folded: 0, skippedLarge: 0 } };
    if (!graph.nodes.some((n) => foldable(n, ctx.keep) && (n.inputs.every((t) => t.node.op === 'const') || (n.op === 'shapeOf' && knownShape(n, n.inputs[0]))))) {
      return { graph, stats: { folded: 0, skippedLarge: 0 } };
    }
    const rb = new Rebuild(graph);
    let folded = 0;
    let skippedLarge = 0;
    for (const n of graph.nodes) {
      const inputs = n.inputs.map((i) => rb.tensor(i));
      const shape = n.op === 'shapeOf' && foldable(n, ctx.keep) ? knownShape(n, inputs[0]) : undefined;
      if (shape) {
        rb.replace(n, [rb.add('const', [], { value: shape }, n.name).output(0)]);
        folded++;
        continue;
      }
      const candidate = foldable(n, ctx.keep) && inputs.every((t) => t.node.op === 'const');
      if (!candidate) {
        rb.copy(n, { inputs });
        continue;
      }
      const values = inputs.map((t) => constValue(t)!);
      const inBytes = values.reduce((s, v) => s + v.data.byteLength, 0);
      const outBytes = n.outputs.reduce((s, o) => s + (isFullyKnown(o.shape) ? bytesOf(o.dtype, o.shape) : Infinity), 0);
      if (outBytes > ctx.foldLimitBytes && outBytes > inBytes) {
        skippedLarge++;
        rb.copy(n, { inputs });
        continue;
      }
      let results: TensorValue[];
      try {
        results = evaluate(n, values);
      } catch {
        // the same error surfaces, naming the node, when the plan runs it
        rb.copy(n, { inputs });
        continue;
      }
      if (results.some((r, i) => r.dtype !== n.outputs[i].dtype)) {
        rb.copy(n, { inputs });
        continue;
      }
      const consts: Node[] = results.map((value, i) =>
        rb.add('const', [], { value: owned(value, values) }, n.outputs.length === 1 ? n.name : `${n.name}/output_${i}`),
      );
      rb.replace(n, consts.map((c) => c.output(0)));
      folded++;
    }
    if (folded === 0) return { graph, stats: { folded, skippedLarge } };
    return { graph: rb.finish(), stats: { folded, skippedLarge } };
  },
};

/** The value of shapeOf node `n` over input `x`, when the dimensions it reads are known. */
function knownShape(n: Node, x: SymbolicTensor): TensorValue | undefined {
  const { start, end } = ops.shapeRange(x.rank, n.attrs.start, n.attrs.end);
  const dims = x.shape.slice(start, end);
  if (dims.some((d) => d === null)) return undefined;
  return { dtype: 'int64', shape: [dims.length], data: Float64Array.from(dims as number[]) };
}

/** Whether `n` may be folded once its inputs are constants. */
function foldable(n: Node, keep: Set<string>): boolean {
  const d = def(n);
  return (
    n.op !== 'const' &&
    !d.stateful &&
    n.controlInputs.length === 0 &&
    n.outputs.length > 0 &&
    (n.outputs.length === 1 || !keep.has(n.name)) &&
    (n.inputs.length > 0 || d.isConstantSource === true)
  );
}

/** A folded value that does not share storage with an input constant (kernels may return views). */
function owned(value: TensorValue, inputs: TensorValue[]): TensorValue {
  const shared = inputs.some((i) => i.data.buffer === value.data.buffer);
  return shared ? { dtype: value.dtype, shape: [...value.shape], data: value.data.slice() } : value;
}
