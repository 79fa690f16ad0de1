import { Graph, GraphError } from '@graphc/graph';
import { constantFoldPass } from './opt/constant-fold';
import { csePass } from './opt/cse';
import { foldBatchNormPass } from './opt/fold-batch-norm';
import { fusePass } from './opt/fuse';
import { layoutPass } from './opt/layout';
import type { ConstantEvaluator, GraphPass, PassContext } from './opt/pass';
import { prunePass } from './opt/prune';
import { simplifyPass } from './opt/simplify';
import { verifyGraph } from './verify';

export type { ConstantEvaluator, GraphPass, PassContext, PassResult } from './opt/pass';

/** Optimization level: 0 nothing, 1 prune + CSE + constant folding, 2 + simplification and fusion, 3 + layout. */
export type OptLevel = 0 | 1 | 2 | 3;

export interface OptimizeOptions {
  level: OptLevel;
  /** Names of nodes whose outputs must survive (fetches, feeds, targets). */
  keep: Set<string>;
  evaluate?: ConstantEvaluator;
  /** Run the verifier after every pass (default: when GRAPHC_VERIFY_PASSES=1); a failure names the pass. */
  verify?: boolean;
  /** Constant-folding size cap in bytes (default 16 MiB). */
  foldLimitBytes?: number;
  /** Run these passes (by name) instead of the level's pipeline. */
  passes?: string[];
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

const registry = new Map<string, GraphPass>();

/** Makes a pass available to pipelines and to `optimizeGraph({ passes })` by its name. */
export function registerPass(pass: GraphPass): void {
  registry.set(pass.name, pass);
}

export function getPass(name: string): GraphPass {
  const pass = registry.get(name);
  if (!pass) throw new Error(`unknown pass '${name}' (known: ${[...registry.keys()].join(', ')})`);
  return pass;
}

for (const pass of [prunePass, csePass, constantFoldPass, simplifyPass(), foldBatchNormPass, fusePass, layoutPass]) registerPass(pass);

/**
 * A group of passes run again while one of them still changes the graph, at most `rounds` times:
 * constant folding and simplification each make work for the other (a folded Shape makes a
 * dynamicAttrs node's parameters constants, simplify resolves it into its target op, whose output
 * shape then lets the next Shape fold), so one pass of each leaves an ONNX file's later layers with
 * unknown shapes, and unknown shapes keep fuse from joining their ops. Grappler's meta-optimizer
 * iterates its passes the same way.
 */
export interface RepeatedPasses {
  repeat: readonly string[];
  rounds: number;
}

export type PipelineStep = string | RepeatedPasses;

const FOLD_AND_SIMPLIFY: RepeatedPasses = { repeat: ['constantFold', 'simplify'], rounds: 4 };
const O1: PipelineStep[] = ['prune', 'cse', 'constantFold', 'prune'];
const O2: PipelineStep[] = ['prune', 'cse', 'constantFold', 'simplify', 'prune', 'foldBatchNorm', FOLD_AND_SIMPLIFY, 'cse', 'fuse', 'prune'];
const O3: PipelineStep[] = ['prune', 'cse', 'constantFold', 'simplify', 'prune', 'foldBatchNorm', 'layout', FOLD_AND_SIMPLIFY, 'cse', 'fuse', 'prune'];

/** The passes each level runs, in order (DESIGN.md: every level gives O0's results within float tolerance). */
export const PIPELINES: Record<OptLevel, readonly PipelineStep[]> = { 0: [], 1: O1, 2: O2, 3: O3 };

/**
 * Runs the passes of `options.level` (or `options.passes`) in order, timing each and collecting its
 * stats. Level 0 returns the graph unchanged.
 */
export function optimizeGraph(graph: Graph, options: OptimizeOptions): OptimizeResult {
  const passes: PassStats[] = [];
  const steps = options.passes ?? PIPELINES[options.level];
  const verify = options.verify ?? process.env.GRAPHC_VERIFY_PASSES === '1';
  const ctx: PassContext = { keep: options.keep, evaluate: options.evaluate, foldLimitBytes: options.foldLimitBytes ?? 16 * 1024 * 1024 };
  let current = graph;
  const kept = [...options.keep].filter((n) => graph.hasNode(n));
  // a pass's output is its own fixed point: rerunning it on a graph nothing has changed since is skipped
  const lastOutput = new Map<string, Graph>();
  const runPass = (name: string): void => {
    const pass = getPass(name);
    const nodesBefore = current.nodes.length;
    if (lastOutput.get(name) === current) {
      passes.push({ name, ms: 0, nodesBefore, nodesAfter: nodesBefore, skipped: 1 });
      return;
    }
    const start = performance.now();
    const result = pass.run(current, ctx);
    const ms = performance.now() - start;
    current = result.graph;
    lastOutput.set(name, current);
    if (verify) {
      verifyGraph(current, `after pass '${name}'`);
      const lost = kept.filter((n) => !current.hasNode(n));
      if (lost.length) throw new GraphError(`after pass '${name}': kept node(s) ${lost.join(', ')} disappeared`);
    }
    passes.push({ name, ms, nodesBefore, nodesAfter: current.nodes.length, ...result.stats });
  };
  for (const step of steps) {
    if (typeof step === 'string') {
      runPass(step);
      continue;
    }
    // a round that hands back the graph it was given changed nothing: the group is at its fixed point
    for (let round = 0; round < step.rounds; round++) {
      const before = current;
      for (const name of step.repeat) runPass(name);
      if (current === before) break;
    }
  }
  return { graph: current, passes };
}
