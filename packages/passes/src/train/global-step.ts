import { GradientError, Graph, SymbolicTensor, tensor } from '@graphc/graph';

export const GLOBAL_STEP = 'global_step';

/** The graph's step counter: the int64 scalar variable `global_step`, if there is one. */
export function getGlobalStep(graph: Graph): SymbolicTensor | undefined {
  if (!graph.hasNode(GLOBAL_STEP)) return undefined;
  const node = graph.node(GLOBAL_STEP);
  if (node.op !== 'variable') throw new GradientError(`node '${GLOBAL_STEP}' is a '${node.op}', not the global step variable`);
  return node.output();
}

/** `global_step` (int64, starts at 0, not trainable): optimizers increment it once per update. */
export function getOrCreateGlobalStep(graph: Graph): SymbolicTensor {
  return getGlobalStep(graph) ?? graph.variable(tensor([0], [], 'int64'), GLOBAL_STEP, { trainable: false });
}
