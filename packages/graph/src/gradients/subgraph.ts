import { isFloat } from '../dtype';
import { GradientError } from '../errors';
import type { Graph, Node, SymbolicTensor } from '../graph';
import { getOpDef } from '../registry';
import { add } from '../ops/math/binary';
import { sumToShapeOf } from '../ops/math/broadcast-gradient';

/**
 * Reverse mode over the nodes a gradient builder has just built: the builders of ops whose gradient
 * is the gradient of an equivalent graph of primitive ops (an unrolled recurrence, say) build that
 * graph from the op's own inputs, then differentiate it here with the primitives' OpDef gradient
 * builders. (The graph package cannot call the passes' `gradients`; this is the same walk, limited to
 * `graph.nodes[from..]`, where everything the forward rebuilt lies.) The result is ordinary graph,
 * so it may be differentiated again.
 *
 * Returns, per x, d(sum of ys · dys)/dx, or null where no gradient reaches x.
 */
export function differentiateBuilt(
  graph: Graph,
  from: number,
  ys: SymbolicTensor[],
  dys: (SymbolicTensor | null)[],
  xs: SymbolicTensor[],
): (SymbolicTensor | null)[] {
  const built = graph.nodes.slice(from);
  const xSet = new Set(xs);
  const live = new Set<Node>();
  const isLive = (t: SymbolicTensor): boolean => xSet.has(t) || live.has(t.node);
  for (const n of built) {
    const skip = getOpDef(n.op).nonDifferentiableInputs ?? [];
    if (n.inputs.some((t, i) => isLive(t) && isFloat(t.dtype) && !skip.includes(i))) live.add(n);
  }

  const pending = new Map<SymbolicTensor, SymbolicTensor[]>();
  const contribute = (t: SymbolicTensor, g: SymbolicTensor): void => {
    const list = pending.get(t);
    if (list) list.push(g);
    else pending.set(t, [g]);
  };
  const total = (t: SymbolicTensor): SymbolicTensor | null => {
    const parts = pending.get(t);
    if (!parts || parts.length === 0) return null;
    let sum = parts[0];
    for (let i = 1; i < parts.length; i++) sum = add(sum, parts[i]);
    // operands may broadcast where unknown dims differ; the sum keeps t's shape
    return parts.length > 1 && !sameShape(sum.shape, t.shape) ? sumToShapeOf(sum, t) : sum;
  };

  ys.forEach((y, i) => {
    const dy = dys[i];
    if (dy && isLive(y)) contribute(y, dy);
  });
  for (let k = built.length - 1; k >= 0; k--) {
    const node = built[k];
    if (!live.has(node)) continue;
    const grads = node.outputTensors.map((t) => (isFloat(t.dtype) ? total(t) : null));
    if (grads.every((g) => g === null)) continue;
    const def = getOpDef(node.op);
    const skip = new Set(def.nonDifferentiableInputs ?? []);
    const wanted = node.inputs.map((t, i) => isLive(t) && isFloat(t.dtype) && !skip.has(i));
    if (!def.gradient) throw new GradientError(`op '${node.op}' (node '${node.name}'), built to differentiate another op, has no gradient`);
    const inputGrads = def.gradient({ node, inputs: node.inputs, outputs: node.outputTensors, grads, attrs: node.attrs });
    inputGrads.forEach((g, i) => {
      if (g && wanted[i]) contribute(node.inputs[i], g);
    });
  }
  return xs.map((x) => total(x));
}

function sameShape(a: (number | null)[], b: (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
