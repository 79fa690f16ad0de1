import type { DType } from '../dtype';
import { Graph, Node, SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../graph';
import type { Attrs } from '../opdef';

/**
 * Adds `op` to the graph of its inputs. Constant inputs (numbers, arrays, values) become `const`
 * nodes of the dtype of the first symbolic input, so `ops.mul(x, 2)` works for any float x.
 */
export function applyOp(op: string, inputs: TensorLike[], attrs: Attrs = {}, name?: string, graph?: Graph): Node {
  const g = graph ?? graphOf(inputs);
  const dtype: DType | undefined = inputs.find((i): i is SymbolicTensor => i instanceof SymbolicTensor)?.dtype;
  const symbolic = inputs.map((i) => toSymbolic(g, i, dtype));
  return g.addNode(op, symbolic, attrs, { name });
}

/** `applyOp` for the common case of one output. */
export function apply1(op: string, inputs: TensorLike[], attrs: Attrs = {}, name?: string, graph?: Graph): SymbolicTensor {
  return applyOp(op, inputs, attrs, name, graph).output(0);
}

/** Drops undefined attrs so saved models and CSE keys stay canonical. */
export function cleanAttrs(attrs: Record<string, unknown>): Attrs {
  const out: Attrs = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out[k] = v as Attrs[string];
  return out;
}
