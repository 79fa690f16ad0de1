import { Graph, Node, SymbolicTensor } from './graph';
import { GraphError } from './errors';

/**
 * The nodes that `roots` need (through data and control inputs), stopping at `cut` tensors, in the
 * graph's order (which is topological: an input always precedes its consumer).
 */
export function reachableNodes(graph: Graph, roots: Node[], cut: Set<string> = new Set()): Node[] {
  const needed = new Set<Node>();
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    if (needed.has(n)) continue;
    needed.add(n);
    if (cut.has(n.name)) continue;
    for (const i of n.inputs) if (!needed.has(i.node)) stack.push(i.node);
    for (const c of n.controlInputs) if (!needed.has(c)) stack.push(c);
  }
  return graph.nodes.filter((n) => needed.has(n));
}

export interface CopyOptions {
  /** Nodes (by name) to copy as placeholders of their output 0: fed tensors cut the graph there. */
  asPlaceholders?: Set<string>;
  /** Rewrites a node while copying; return a tensor list to stand for its outputs, or undefined to copy it. */
  rewrite?: (node: Node, inputs: SymbolicTensor[], target: Graph) => SymbolicTensor[] | undefined;
}

/**
 * Copies `nodes` (in order) into a fresh graph, keeping names, attrs and control inputs; the basis of
 * every Graph -> Graph pass. Shapes are re-inferred, so a pass that breaks typing fails here.
 */
export function copyNodes(source: Graph, nodes: Node[], options: CopyOptions = {}): Graph {
  const target = new Graph({ makeDefault: false });
  const map = new Map<Node, SymbolicTensor[]>();
  const nodeMap = new Map<Node, Node>();
  for (const n of nodes) {
    if (options.asPlaceholders?.has(n.name)) {
      const out = n.outputs[0];
      const p = target.addNode('placeholder', [], { dtype: out.dtype, shape: [...out.shape] }, { name: n.name });
      map.set(n, [p.output()]);
      nodeMap.set(n, p);
      continue;
    }
    const inputs = n.inputs.map((i) => {
      const mapped = map.get(i.node);
      if (!mapped) throw new GraphError(`copy: node '${n.name}' uses '${i.name}', which is not copied`);
      return mapped[i.index];
    });
    const rewritten = options.rewrite?.(n, inputs, target);
    if (rewritten) {
      map.set(n, rewritten);
      if (rewritten[0]) nodeMap.set(n, rewritten[0].node);
      continue;
    }
    const controlInputs = n.controlInputs.map((c) => nodeMap.get(c)).filter((c): c is Node => c !== undefined);
    const copy = target.addNode(n.op, inputs, n.attrs, { name: n.name, controlInputs });
    map.set(n, copy.outputTensors);
    nodeMap.set(n, copy);
  }
  for (const [v, assign] of source.variableInitializers) {
    const copied = nodeMap.get(assign);
    if (copied && target.hasNode(v)) target.variableInitializers.set(v, copied);
  }
  Object.assign(target.metadata, source.metadata);
  return target;
}

/** Copies the whole graph (every node, same names). */
export function cloneGraph(source: Graph): Graph {
  return copyNodes(source, source.nodes);
}
