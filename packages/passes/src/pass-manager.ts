import type { Graph, TensorValue, Node } from '@graphc/graph';

/** Optimization level: 0 nothing, 1 prune + CSE + constant folding, 2 + simplification and fusion, 3 + layout. */
export type OptLevel = 0 | 1 | 2 | 3;

/** Evaluates one node on constant inputs (the runtime passes its CPU kernels in: passes never import a backend). */
export type ConstantEvaluator = (node: Node, inputs: TensorValue[]) => TensorValue[];

export interface OptimizeOptions {
  level: OptLevel;
  /** Names of nodes whose outputs must survive (fetches, feeds, targets). */
  keep: Set<string>;
  evaluate?: ConstantEvaluator;
}

export interface PassStats {
  name: string;
  ms: number;
  nodesBefore: number;
  nodesAfter: number;
  [extra: string]: number | string;
}

export interface OptimizeResult {
  graph: Graph;
  passes: PassStats[];
}

/** Runs the passes of `options.level` in order. Level 0 returns the graph unchanged. */
export function optimizeGraph(graph: Graph, options: OptimizeOptions): OptimizeResult {
  const passes: PassStats[] = [];
  if (options.level === 0) return { graph, passes };
  return { graph, passes };
}
