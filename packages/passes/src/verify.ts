import { Graph, GraphError, Node, getOpDef, shapeToString, shapesEqual } from '@graphc/graph';

/**
 * Checks a graph is well formed: every reference points to an earlier node of the same graph (so
 * there are no dangling refs and no cycles), names are unique and resolvable, and every node's
 * stored output types equal what its OpDef infers from its inputs now. Run after every pass in tests.
 * Throws a GraphError naming `context` (the pass) and the node.
 */
export function verifyGraph(graph: Graph, context = 'verify'): void {
  const seen = new Set<Node>();
  const names = new Set<string>();
  const fail = (n: Node, msg: string): never => {
    throw new GraphError(`${context}: node '${n.name}' (op '${n.op}'): ${msg}`);
  };
  for (const n of graph.nodes) {
    if (n.graph !== graph) fail(n, 'belongs to another graph');
    if (names.has(n.name)) fail(n, 'its name is used twice');
    names.add(n.name);
    if (!graph.hasNode(n.name) || graph.node(n.name) !== n) fail(n, 'is not found by its name');
    n.inputs.forEach((i, k) => {
      if (!seen.has(i.node)) fail(n, `input ${k} ('${i.name}') is not an earlier node of this graph (dangling ref or cycle)`);
      if (i.index >= i.node.outputs.length) fail(n, `input ${k} reads output ${i.index} of '${i.node.name}', which has ${i.node.outputs.length}`);
    });
    for (const c of n.controlInputs) {
      if (!seen.has(c)) fail(n, `control input '${c.name}' is not an earlier node of this graph (dangling ref or cycle)`);
    }
    const def = getOpDef(n.op);
    let inferred;
    try {
      inferred = def.infer({ inputs: n.inputs.map((i) => i.node.outputs[i.index]), attrs: n.attrs, where: `op '${n.op}' (node '${n.name}'): ` });
    } catch (e) {
      fail(n, `does not type-check: ${(e as Error).message}`);
    }
    if (inferred!.length !== n.outputs.length) fail(n, `has ${n.outputs.length} outputs, its op infers ${inferred!.length}`);
    inferred!.forEach((o, k) => {
      const have = n.outputs[k];
      if (o.dtype !== have.dtype || !shapesEqual(o.shape, have.shape)) {
        fail(n, `output ${k} is ${have.dtype} ${shapeToString(have.shape)} but its inputs give ${o.dtype} ${shapeToString(o.shape)}`);
      }
    });
    seen.add(n);
  }
  for (const [v, init] of graph.variableInitializers) {
    if (!graph.hasNode(v) || graph.node(v).op !== 'variable') throw new GraphError(`${context}: initializer of '${v}' names no variable`);
    if (!seen.has(init) || init.graph !== graph) throw new GraphError(`${context}: initializer '${init.name}' of '${v}' is not a node of the graph`);
  }
}
