import type { Graph, Node, TensorValue } from '@graphc/graph';

/** Evaluates one node on constant inputs (the runtime passes its CPU kernels in: passes never import a backend). */
export type ConstantEvaluator = (node: Node, inputs: TensorValue[]) => TensorValue[];

/** What every pass may consult besides the graph. */
export interface PassContext {
  /** Names of nodes that must survive with their name and outputs (fetches, feeds, targets). */
  keep: Set<string>;
  evaluate?: ConstantEvaluator;
  /** Constant folding leaves results larger than this (bytes) unfolded, unless no larger than their inputs. */
  foldLimitBytes: number;
}

export interface PassResult {
  graph: Graph;
  /** Pass-specific counts (rewrites by rule, nodes folded, groups fused, ...). */
  stats?: Record<string, number>;
}

/** A named, pure Graph -> Graph transformation. */
export interface GraphPass {
  name: string;
  run(graph: Graph, ctx: PassContext): PassResult;
}
