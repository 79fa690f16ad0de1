import {
  Graph,
  Node,
  OutputInfo,
  Shape,
  SymbolicTensor,
  copyNodes,
  getOpDef,
  reachableNodes,
} from '@graphc/graph';
import { ConstantEvaluator, MemoryPlan, OptLevel, PassStats, countKernels, neededRecurrentTwins, optimizeGraph, planMemory, replaceRecurrentTwins } from '@graphc/passes';

/**
 * A compiled, backend-independent plan: the pruned and optimized graph, the order to run it in,
 * and every tensor's shape specialized to the feed shapes of this signature.
 */
export interface Plan {
  graph: Graph;
  schedule: Node[];
  feeds: SymbolicTensor[];
  fetches: SymbolicTensor[];
  targets: Node[];
  /** Output types of each scheduled node with feed shapes substituted (null where data-dependent). */
  outputInfo: Map<Node, OutputInfo[]>;
  passes: PassStats[];
  /** Arena offsets of the tensors the run allocates; absent at level 0 (every kernel allocates its own). */
  memory?: MemoryPlan;
  /** Scheduled nodes that launch a kernel (not consts, placeholders, variables, noOps or views). */
  kernels: number;
}

export interface PlanRequest {
  graph: Graph;
  fetchNames: string[];
  targetNames: string[];
  feedNames: string[];
  feedShapes: number[][];
  level: OptLevel;
  evaluate?: ConstantEvaluator;
  /** Plan an arena for the run (default: at level 1 and above; level 0 is the unplanned reference). */
  planMemory?: boolean;
  /** Run the pass verifier after every pass. */
  verify?: boolean;
}

/**
 * The pruned and optimized graph of a signature, before its shapes are specialized: what the passes
 * make. One serves every feed shape that fits the shapes the passes saw (see `optimizePlanGraph`).
 */
export interface OptimizedGraph {
  graph: Graph;
  passes: PassStats[];
  /** Nodes the run feeds (their placeholders cut the graph there). */
  feedNodeNames: Set<string>;
  /** The feed shapes the passes saw: null where a dimension was left unknown (the graph then serves every size there). */
  passShapes: Shape[];
}

/**
 * Prune to what the fetches need, cut at feeds, and optimize, the fed placeholders given
 * `passShapes` (default the feed shapes): static shapes let the passes fold shape arithmetic and fuse
 * across a batch dimension, a null dimension keeps the graph valid for any size there. From level 1,
 * a recurrent node whose unrolled forward the run's gradient computes anyway reads its outputs from
 * there, so the recurrence runs once (replaceRecurrentTwins).
 */
export function optimizePlanGraph(req: PlanRequest, passShapes: Shape[] = req.feedShapes): OptimizedGraph {
  const keep = new Set([...req.fetchNames.map((n) => n.split(':')[0]), ...req.targetNames, ...req.feedNames.map((n) => req.graph.tensor(n).node.name)]);
  const roots = (g: Graph) => {
    const feedNodeNames = new Set(req.feedNames.map((n) => g.tensor(n).node.name));
    // fed nodes stay in the plan even when no fetch needs them (feeding an unused placeholder is fine)
    const nodes = [...req.fetchNames.map((n) => g.tensor(n).node), ...req.targetNames.map((n) => g.node(n)), ...[...feedNodeNames].map((n) => g.node(n))];
    return { nodes, feedNodeNames };
  };
  const twinsStart = performance.now();
  const given = roots(req.graph);
  const twins = req.level >= 1 ? neededRecurrentTwins(req.graph, given.nodes, given.feedNodeNames, keep) : [];
  const source = twins.length ? replaceRecurrentTwins(req.graph, twins) : req.graph;
  const twinsMs = performance.now() - twinsStart;
  const { nodes: rootNodes, feedNodeNames } = roots(source);
  const needed = reachableNodes(source, rootNodes, feedNodeNames);
  const asPlaceholders = new Set([...feedNodeNames].filter((n) => source.node(n).op !== 'placeholder'));
  const feedShape = new Map(req.feedNames.map((n, i) => [source.tensor(n).node.name, passShapes[i]]));
  const pruned = copyNodes(source, needed, {
    asPlaceholders,
    rewrite: (node, _inputs, target) => {
      const shape = node.op === 'placeholder' ? feedShape.get(node.name) : undefined;
      if (!shape || shape.length !== node.outputs[0].shape.length) return undefined;
      const attrs = { ...node.attrs, shape: [...shape] };
      return target.addNode('placeholder', [], attrs, { name: node.name, controlInputs: [] }).outputTensors;
    },
  });
  const { graph, passes } = optimizeGraph(pruned, { level: req.level, keep, evaluate: req.evaluate, verify: req.verify });
  if (twins.length) passes.unshift({ name: 'recurrentTwins', ms: twinsMs, nodesBefore: req.graph.nodes.length, nodesAfter: source.nodes.length, replaced: twins.length });
  return { graph, passes, feedNodeNames, passShapes };
}

/** The plan of `req`'s signature from its optimized graph: the schedule, every shape at the feed shapes, and the memory plan. */
export function specializePlan(optimized: OptimizedGraph, req: PlanRequest): Plan {
  const { graph, schedule, feeds, fetches, targets } = scheduleOf(optimized, req);
  const passes = [...optimized.passes];
  const outputInfo = specializeShapes(schedule, feeds, req.feedShapes);
  let memory: MemoryPlan | undefined;
  if (req.planMemory ?? req.level > 0) {
    const start = performance.now();
    memory = planMemory({ schedule, outputInfo, fetches, feeds });
    passes.push({
      name: 'planMemory',
      ms: performance.now() - start,
      nodesBefore: schedule.length,
      nodesAfter: schedule.length,
      naiveBytes: memory.naiveBytes,
      plannedBytes: memory.plannedBytes,
      lowerBoundBytes: memory.lowerBoundBytes,
      inplace: memory.inplace,
    });
  }
  return { graph, schedule, feeds, fetches, targets, outputInfo, passes, memory, kernels: countKernels(schedule) };
}

/**
 * The plan of `req`'s signature from its optimized graph with no shapes specialized and no memory
 * plan (every kernel allocates its outputs): one plan for every feed shape that fits the shapes its
 * passes saw, on a backend whose kernels work their shapes out as they run (`Backend.runsAnyShape`).
 */
export function unspecializedPlan(optimized: OptimizedGraph, req: PlanRequest): Plan {
  const { graph, schedule, feeds, fetches, targets } = scheduleOf(optimized, req);
  return { graph, schedule, feeds, fetches, targets, outputInfo: new Map(), passes: [...optimized.passes], kernels: countKernels(schedule) };
}

/** The fetches, targets and feeds of `req` in an optimized graph, and the nodes a run of them schedules. */
function scheduleOf(optimized: OptimizedGraph, req: PlanRequest): Pick<Plan, 'graph' | 'schedule' | 'feeds' | 'fetches' | 'targets'> {
  const { graph, feedNodeNames } = optimized;
  const fetches = req.fetchNames.map((n) => graph.tensor(n));
  const targets = req.targetNames.map((n) => graph.node(n));
  const feeds = req.feedNames.map((n) => graph.tensor(n));
  // fed nodes are scheduled even when no fetch needs them: every backend finds each feed in the schedule
  const schedule = reachableNodes(graph, [...fetches.map((f) => f.node), ...targets, ...feeds.map((f) => f.node)], feedNodeNames);
  return { graph, schedule, feeds, fetches, targets };
}

/** Prune, optimize and specialize for the feed shapes of `req`, and plan memory: a plan for one signature. */
export function buildPlan(req: PlanRequest): Plan {
  return specializePlan(optimizePlanGraph(req), req);
}

/** Re-runs shape inference over the schedule with the concrete feed shapes. */
export function specializeShapes(schedule: Node[], feeds: SymbolicTensor[], feedShapes: number[][]): Map<Node, OutputInfo[]> {
  const info = new Map<Node, OutputInfo[]>();
  const fed = new Map<Node, Shape>(feeds.map((f, i) => [f.node, feedShapes[i]]));
  // a fed node no fetch needs is still fed: its type is known though it is not scheduled
  feeds.forEach((f, i) => info.set(f.node, [{ dtype: f.dtype, shape: feedShapes[i] }]));
  for (const node of schedule) {
    const feedShape = fed.get(node);
    if (feedShape) {
      info.set(node, [{ dtype: node.outputs[0].dtype, shape: feedShape }]);
      continue;
    }
    const inputs = node.inputs.map((i) => info.get(i.node)?.[i.index] ?? node.graph.node(i.node.name).outputs[i.index]);
    const where = `op '${node.op}' (node '${node.name}'): `;
    info.set(node, getOpDef(node.op).infer({ inputs, attrs: node.attrs, where }));
  }
  return info;
}
