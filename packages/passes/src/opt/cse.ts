import { Node, SymbolicTensor } from '@graphc/graph';
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
  run(graph, ctx) {
    const info = new GraphInfo(graph);
    const rb = new Rebuild(graph);
    const seen = new Map<string, Node[]>();
    let merged = 0;
    const ref = (t: SymbolicTensor): string => `${t.node.id}:${t.index}`;
    for (const n of graph.nodes) {
      if (def(n).stateful || ctx.keep.has(n.name) || n.outputs.length === 0) {
        rb.copy(n);
        continue;
      }
      const inputs = n.inputs.map((i) => rb.tensor(i));
      let refs = inputs.map(ref);
      if (COMMUTATIVE.has(n.op) && refs.length === 2) refs = [...refs].sort();
      const controls = rb.controls(n.controlInputs).map((c) => c.id).sort((a, b) => a - b);
      const key = `${n.op}|${attrsKey(n.attrs)}|${refs.join(',')}|${controls.join(',')}`;
      const candidates = seen.get(key) ?? [];
      const match = candidates.find(
        (c) =>
          (n.op !== 'const' || tensorsEqual(c.attrs.value as never, n.attrs.value as never)) &&
          n.inputs.every((i) => info.readMayMove(i, info.position.get(c)!, info.position.get(n)!)),
      );
      if (match) {
        rb.replace(n, rb.tensor(match.output(0)).node.outputTensors);
        merged++;
        continue;
      }
      rb.copy(n, { inputs });
      candidates.push(n);
      seen.set(key, candidates);
    }
    if (merged === 0) return { graph, stats: { merged } };
    return { graph: rb.finish(), stats: { merged } };
  },
};
