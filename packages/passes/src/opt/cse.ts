import { Graph, Node, SymbolicTensor } from '@graphc/graph';
import { GraphInfo, def } from '../analysis';
import { Rebuild } from '../rebuild';
import { attrsKey, tensorsEqual } from './attrs-key';
import type { GraphPass } from './pass';

/** Ops whose two inputs may be swapped without changing a bit of the result (broadcasting is symmetric). */
const COMMUTATIVE = new Set(['add', 'mul', 'maximum', 'minimum', 'equal', 'notEqual', 'logicalAnd', 'logicalOr']);

/**
 * Common-subexpression elimination: a pure node with the same op, attrs, inputs and control inputs
 * as an earlier one is the earlier one. Constants merge by value. Stateful ops (variables, random,
 * assigns) never merge, kept nodes are never merged away, and a read of a variable never merges
 * across a write of it.
 */
export const csePass: GraphPass = {
  name: 'cse',
  run(source, ctx) {
    const { graph, loopsMerged } = mergeExtendedLoops(source, ctx.keep);
    const info = new GraphInfo(graph);
    // first find the merges on the source graph (inputs named by their representative), and
    // rebuild only if there are any
    const rep = new Map<Node, Node>();
    const seen = new Map<string, Node[]>();
    const ref = (t: SymbolicTensor): string => `${(rep.get(t.node) ?? t.node).id}:${t.index}`;
    for (const n of graph.nodes) {
      if (def(n).stateful || ctx.keep.has(n.name) || n.outputs.length === 0) continue;
      let refs = n.inputs.map(ref);
      if (COMMUTATIVE.has(n.op) && refs.length === 2) refs = [...refs].sort();
      const controls = n.controlInputs.length ? [...new Set(n.controlInputs.map((c) => (rep.get(c) ?? c).id))].sort((a, b) => a - b).join(',') : '';
      const key = `${n.op}|${attrsKey(n.attrs)}|${refs.join(',')}|${controls}`;
      const candidates = seen.get(key) ?? [];
      const match = candidates.find(
        (c) =>
          (n.op !== 'const' || tensorsEqual(c.attrs.value as never, n.attrs.value as never)) &&
          n.inputs.every((i) => info.readMayMove(i, info.position.get(c)!, info.position.get(n)!)),
      );
      if (match) rep.set(n, match);
      else {
        candidates.push(n);
        seen.set(key, candidates);
      }
    }
    if (rep.size === 0) return { graph, stats: { merged: 0, loopsMerged } };
    const rb = new Rebuild(graph);
    for (const n of graph.nodes) {
      const r = rep.get(n);
      if (r) rb.replace(n, r.outputTensors.map((t) => rb.tensor(t)));
      else rb.copy(n);
    }
    return { graph: rb.finish(), stats: { merged: rep.size, loopsMerged } };
  },
};

/**
 * A whileLoop's gradient runs the loop again with its body extended to stack each iteration's
 * starting values (`forwardBody`: the body it extends; its first outputs are the loop's). Where both
 * loops run in one plan (a training step), the extended one takes the loop's place and the loop's
 * consumers read its first outputs, so the forward runs once.
 */
function mergeExtendedLoops(graph: Graph, keep: Set<string>): { graph: Graph; loopsMerged: number } {
  const key = (inputs: SymbolicTensor[], body: unknown, carried: unknown, scans: unknown): string =>
    `${inputs.map((t) => `${t.node.id}:${t.index}`).join(',')}|${carried}|${scans}|${attrsKey({ body: body as never })}`;
  const loops = graph.nodes.filter((n) => n.op === 'whileLoop' && n.controlInputs.length === 0);
  const plain = new Map(loops.filter((n) => !n.attrs.forwardBody && !keep.has(n.name)).map((n) => [key(n.inputs, n.attrs.body, n.attrs.carried, n.attrs.scans), n]));
  const extendedBy = new Map<Node, Node>();
  for (const n of loops) {
    if (!n.attrs.forwardBody) continue;
    const original = plain.get(key(n.inputs, n.attrs.forwardBody, n.attrs.carried, n.attrs.forwardScans));
    if (original && !extendedBy.has(original)) extendedBy.set(original, n);
  }
  if (extendedBy.size === 0) return { graph, loopsMerged: 0 };
  const rb = new Rebuild(graph);
  for (const n of graph.nodes) {
    const extended = extendedBy.get(n);
    if (extended) {
      // its inputs are the original's: it may run where the original did
      const copy = rb.copy(extended);
      rb.replace(n, copy.outputTensors.slice(0, n.outputs.length));
    } else if (!rb.has(n)) rb.copy(n);
  }
  return { graph: rb.finish(), loopsMerged: extendedBy.size };
}
