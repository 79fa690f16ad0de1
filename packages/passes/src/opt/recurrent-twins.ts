import { Graph, Node, RECURRENT_TWINS, SymbolicTensor, reachableNodes } from '@graphc/graph';
import { Rebuild } from '../rebuild';

/**
 * A recurrent node (lstm, gru, rnn) whose gradient a run computes is computed twice: by its kernel,
 * for its consumers, and by the unrolled forward its gradient differentiates (graph metadata
 * `recurrentTwins` names those outputs). Where a run needs both, the node's consumers can read the
 * unrolled forward's outputs instead, and the recurrence runs once. The unrolled forward is built
 * from the node's inputs alone, so its nodes move up to where the node was.
 *
 * This is decided on the whole graph before a plan is pruned (the plan's gradient needs the unrolled
 * steps but not the outputs stacked from them, so pruning would drop those): buildPlan calls it.
 */
export interface RecurrentTwin {
  node: Node;
  /** The unrolled forward's outputs, in the node's output order. */
  tensors: SymbolicTensor[];
  /** The nodes after the recurrent node that compute them, in graph order. */
  later: Node[];
}

/**
 * The twins that a run from `roots` (stopping at `cut`) needs both of: the recurrent node, and some
 * of its unrolled forward. A node in `keep` (fetched) is left alone.
 */
export function neededRecurrentTwins(graph: Graph, roots: Node[], cut: Set<string>, keep: Set<string>): RecurrentTwin[] {
  const twins = (graph.metadata[RECURRENT_TWINS] ?? {}) as Record<string, string[]>;
  if (Object.keys(twins).length === 0) return [];
  const needed = new Set(reachableNodes(graph, roots, cut));
  const position = new Map(graph.nodes.map((n, i) => [n, i]));
  const out: RecurrentTwin[] = [];
  const claimed = new Set<Node>();
  for (const [name, outputs] of Object.entries(twins)) {
    if (!graph.hasNode(name) || keep.has(name) || !needed.has(graph.node(name))) continue;
    const node = graph.node(name);
    const tensors = outputs.map((t) => tensorIn(graph, t));
    if (tensors.length !== node.outputs.length || !tensors.every((t): t is SymbolicTensor => t !== null)) continue;
    const later = laterAncestors(tensors, position.get(node)!, position);
    if (!later || !later.some((n) => needed.has(n)) || later.some((n) => claimed.has(n))) continue;
    later.forEach((n) => claimed.add(n));
    out.push({ node, tensors, later });
  }
  return out;
}

/** A copy of `graph` in which each twin's recurrent node is replaced by its unrolled forward's outputs. */
export function replaceRecurrentTwins(graph: Graph, twins: RecurrentTwin[]): Graph {
  const byNode = new Map(twins.map((t) => [t.node, t]));
  const moved = new Set(twins.flatMap((t) => t.later));
  const rb = new Rebuild(graph);
  for (const n of graph.nodes) {
    const twin = byNode.get(n);
    if (twin) {
      for (const m of twin.later) rb.copy(m);
      rb.replace(n, twin.tensors.map((t) => rb.tensor(t)));
    } else if (!moved.has(n)) rb.copy(n);
  }
  return rb.finish();
}

/** The tensor named `name`, or null where its node is not in the graph. */
function tensorIn(graph: Graph, name: string): SymbolicTensor | null {
  try {
    return graph.tensor(name);
  } catch {
    return null;
  }
}

/**
 * The nodes after position `at` that `tensors` need (through data and control edges), in graph
 * order; null when one of them is the node at `at` itself (the tensors depend on the node).
 */
function laterAncestors(tensors: SymbolicTensor[], at: number, position: Map<Node, number>): Node[] | null {
  const seen = new Set<Node>();
  const stack = tensors.map((t) => t.node);
  while (stack.length) {
    const n = stack.pop()!;
    const p = position.get(n)!;
    if (p < at || seen.has(n)) continue;
    if (p === at) return null;
    seen.add(n);
    for (const t of n.inputs) stack.push(t.node);
    stack.push(...n.controlInputs);
  }
  return [...seen].sort((a, b) => position.get(a)! - position.get(b)!);
}
