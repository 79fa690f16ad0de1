import { Graph, GraphcError, Node, SymbolicTensor, TensorValue, UnsupportedOpError, copyNodes, getOpDef, isFullyKnown, reachableNodes } from '@graphc/graph';
import type { ConstantEvaluator, OptLevel } from '@graphc/passes';
import type { Backend, Executable, NodeTiming, VariableState } from './backend';
import { evaluateNode } from './backends/cpu';
import { Plan, buildPlan } from './plan';
import { DEFAULT_MAX_PLANS, PlanCache } from './plan-cache';

/** Stateful ops that only read: running them twice in a run changes nothing. */
const READS = new Set(['placeholder', 'variable', 'noOp']);

/**
 * Nodes whose output shape depends on tensor values (nonZero's length, dynamicAttrs' attrs), or whose
 * op is one of `hostOps` (the backend cannot run it), while their inputs' shapes are known: where a
 * plan must stop and compute on the host.
 */
export function dataDependentFrontier(plan: Plan, hostOps: ReadonlySet<string> = new Set()): Node[] {
  const known = (n: Node): boolean => (plan.outputInfo.get(n) ?? n.outputs).every((o) => isFullyKnown(o.shape));
  return plan.schedule.filter((n) => (!known(n) || hostOps.has(n.op)) && n.inputs.every((i) => known(i.node)));
}

/**
 * The executable of a plan on `backend`: the backend's own, or, where the backend compiles static
 * shapes only and the plan has a data-dependent frontier, a StagedExecutable cut there.
 */
export function compilePlan(plan: Plan, backend: Backend, state: VariableState, level: OptLevel, evaluate: ConstantEvaluator = evaluateNode): Executable {
  const frontier = backend.staticShapesOnly ? dataDependentFrontier(plan, backend.hostOps) : [];
  return frontier.length ? new StagedExecutable(plan, backend, state, level, { frontier, evaluate }) : backend.compile(plan, state);
}

/**
 * Runs a plan with data-dependent shapes on a backend that compiles static shapes only (webgpu,
 * gpujs): stage A computes the inputs of the frontier nodes on the backend, the CPU evaluates the
 * frontier nodes (now their output shapes are known), and stage B runs the rest on the backend with
 * those outputs fed in. Stage B compiles once per set of frontier output shapes; it is itself staged
 * when more data-dependent shapes lie behind the frontier. The frontier's inputs come back to the
 * host once per run and its outputs go up again: the transfer is the price of a value-dependent shape.
 */
export class StagedExecutable implements Executable {
  readonly stats: Record<string, number> = { stagedRuns: 0, stageCompiles: 0 };
  private readonly frontierInputs: SymbolicTensor[];
  private readonly stageA: Executable;
  /** The plan's graph with each frontier output replaced by a placeholder (fed after stage A). */
  private readonly restGraph: Graph;
  private readonly restFeedNames: string[];
  /** Which of [...feeds, ...frontier outputs] stage B reads (feeds only stage A needed stay on the host). */
  private readonly restFeedIndex: number[];
  private readonly restFetchNames: string[];
  /** Stage B per set of frontier output shapes, the most recently run kept (a count nonZero finds may differ every run). */
  private readonly stageB: PlanCache<Executable>;
  /** Host time of each frontier node's evaluation while profiling (undefined: not profiling). */
  private frontierMs?: Float64Array;
  private frontierRuns = 0;

  /** Where the plan stops for the host (compilePlan has found it). */
  private readonly frontier: Node[];
  /** Constant folding for the stages' plans (the session's, which remembers its folds). */
  private readonly evaluate: ConstantEvaluator;

  constructor(
    private readonly plan: Plan,
    private readonly backend: Backend,
    private readonly state: VariableState,
    private readonly level: OptLevel,
    options: { frontier?: Node[]; maxStages?: number; evaluate?: ConstantEvaluator } = {},
  ) {
    this.frontier = options.frontier ?? dataDependentFrontier(plan, backend.hostOps);
    this.evaluate = options.evaluate ?? evaluateNode;
    this.stageB = new PlanCache(options.maxStages ?? DEFAULT_MAX_PLANS, (e) => e.dispose?.());
    this.frontierInputs = [...new Set(this.frontier.flatMap((n) => n.inputs))];
    const feedNames = plan.feeds.map((f) => f.name);
    const planA = buildPlan({
      graph: plan.graph,
      fetchNames: this.frontierInputs.map((t) => t.name),
      targetNames: [],
      feedNames,
      feedShapes: plan.feeds.map((f) => plan.outputInfo.get(f.node)![f.index].shape as number[]),
      level,
      evaluate: this.evaluate,
    });
    // stage B recomputes what it needs from the feeds: only pure ops (and reads) may run twice
    const stateful = planA.schedule.filter((n) => getOpDef(n.op).stateful && !READS.has(n.op));
    if (stateful.length) {
      const names = stateful.map((n) => `'${n.name}' (${n.op})`).join(', ');
      throw new UnsupportedOpError(
        `${backend.name}: the data-dependent shape of '${this.frontier[0].name}' (op '${this.frontier[0].op}') depends on ${names}, ` +
          'which has side effects; run this graph on the cpu backend',
        stateful.map((n) => n.op),
      );
    }
    this.stageA = backend.compile(planA, state);
    this.stats.stageCompiles++;

    const placeholders = new Map<Node, SymbolicTensor[]>();
    this.restGraph = copyNodes(plan.graph, plan.schedule, {
      rewrite: (node, _inputs, target) => {
        if (!this.frontier.includes(node)) return undefined;
        const outs = node.outputs.map((o, k) =>
          target.addNode('placeholder', [], { dtype: o.dtype, shape: [...o.shape] }, { name: k === 0 ? node.name : `${node.name}/staged_output_${k}` }).output(),
        );
        placeholders.set(node, outs);
        return outs;
      },
    });
    const stagedName = (t: SymbolicTensor): string => (placeholders.has(t.node) ? placeholders.get(t.node)![t.index].name : t.name);
    const allFeeds = [...feedNames, ...this.frontier.flatMap((n) => placeholders.get(n)!.map((p) => p.name))];
    this.restFetchNames = plan.fetches.map(stagedName);
    const fedNodes = new Set(allFeeds.map((f) => this.restGraph.tensor(f).node.name));
    const roots = [...this.restFetchNames.map((f) => this.restGraph.tensor(f).node), ...plan.targets.map((t) => this.restGraph.node(t.name))];
    const needed = new Set(reachableNodes(this.restGraph, roots, fedNodes));
    this.restFeedIndex = allFeeds.map((f, i) => (needed.has(this.restGraph.tensor(f).node) ? i : -1)).filter((i) => i >= 0);
    this.restFeedNames = this.restFeedIndex.map((i) => allFeeds[i]);
  }

  async run(feeds: TensorValue[]): Promise<TensorValue[]> {
    const inputs = await this.stageA.run(feeds);
    const byTensor = new Map(this.frontierInputs.map((t, i) => [t, inputs[i]]));
    const outputs = this.frontier.flatMap((n, k) => {
      const start = this.frontierMs ? performance.now() : 0;
      const values = evaluateNode(n, n.inputs.map((i) => byTensor.get(i)!));
      if (this.frontierMs) this.frontierMs[k] += performance.now() - start;
      return values;
    });
    if (this.frontierMs) this.frontierRuns++;
    const all = [...feeds, ...outputs];
    const restFeeds = this.restFeedIndex.map((i) => all[i]);
    const key = JSON.stringify(outputs.map((o) => o.shape));
    let rest = this.stageB.get(key);
    if (!rest) {
      const planB = buildPlan({
        graph: this.restGraph,
        fetchNames: this.restFetchNames,
        targetNames: this.plan.targets.map((t) => t.name),
        feedNames: this.restFeedNames,
        feedShapes: restFeeds.map((v) => v.shape),
        level: this.level,
        evaluate: this.evaluate,
      });
      rest = compilePlan(planB, this.backend, this.state, this.level, this.evaluate);
      if (this.frontierMs) rest.startProfiling!();
      this.stageB.set(key, rest);
      this.stats.stageCompiles++;
    }
    this.stats.stagedRuns++;
    return this.stageB.using(rest, (e) => e.run(restFeeds));
  }

  /** Profiling times both stages on the backend and the frontier's nodes on the host. */
  startProfiling(): void {
    if (this.frontierMs) return;
    if (!this.stageA.startProfiling) throw new GraphcError(`profile: the ${this.backend.name} backend cannot time its kernels (cpu and webgpu can)`);
    this.stageA.startProfiling();
    for (const e of this.stageB.values()) e.startProfiling!();
    this.frontierMs = new Float64Array(this.frontier.length);
  }

  timings(): NodeTiming[] {
    if (!this.frontierMs) return [];
    const frontier = this.frontier.map((n, k) => ({ node: n.name, op: n.op, calls: this.frontierRuns, ms: this.frontierMs![k] }));
    return [...this.stageA.timings!(), ...frontier, ...[...this.stageB.values()].flatMap((e) => e.timings!())];
  }

  clearTimings(): void {
    this.stageA.clearTimings?.();
    for (const e of this.stageB.values()) e.clearTimings?.();
    this.frontierMs?.fill(0);
    this.frontierRuns = 0;
  }

  dispose(): void {
    this.stageA.dispose?.();
    this.stageB.clear();
  }
}
