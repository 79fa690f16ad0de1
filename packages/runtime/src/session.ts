import {
  FeedError,
  Graph,
  GraphcError,
  Node,
  SymbolicTensor,
  TensorValue,
  isTensorValue,
  shapeMatches,
  shapeToString,
  sizeOf,
  tensor,
} from '@graphc/graph';
import { OptLevel, allocatedBytes } from '@graphc/passes';
import type { Backend, Executable, NodeTiming, VariableState } from './backend';
import { createBackend } from './backends/registry';
import { evaluateNode } from './backends/cpu';
import { OptimizedGraph, Plan, PlanRequest, specializePlan, specializeShapes, unspecializedPlan } from './plan';
import { rememberingEvaluator } from './fold-cache';
import { DEFAULT_MAX_PLANS, PlanCache } from './plan-cache';
import { compilePlan } from './staged';
import { SharedPasses } from './varying-dims';

export { DEFAULT_MAX_PLANS };

/** Signatures a session remembers having run unspecialized (Session.unspecialized). */
const REMEMBERED_SHAPES = 256;

/**
 * Bytes of kernel outputs per scheduled node past which a new shape specializes its plan at once
 * rather than run unspecialized. An unspecialized run allocates every output afresh (zeroed, then
 * collected) where a plan reuses its arena, so it saves a plan's bookkeeping (about the same per
 * node whatever the shapes) and pays for its bytes. One-off measurements on a 2-core AMD EPYC:
 * bench/onnx-llm.js's growing-cache decoder (222 nodes, 57 KB a step) ran its steps in 2.0-2.3 ms
 * unspecialized against 2.5-2.8 ms specializing each (medians of 61 steps); ResNet-20 at batch 30
 * (184 nodes, 34 MB) took 81-86 ms unspecialized, as long as specializing and running (80-86 ms),
 * so its new shape gained nothing and would pay both if it came back.
 */
const UNSPECIALIZED_BYTES_PER_NODE = 64 * 1024;

export type BackendName = 'cpu' | 'webgpu' | 'gpujs';

export interface SessionOptions {
  /** Where kernels run: a registered backend's name (default 'cpu') or a Backend instance. */
  backend?: BackendName | Backend;
  /** Optimization level for compiled plans (default 2; 0 runs the graph as built). */
  optimize?: OptLevel;
  /**
   * Times every kernel of every run (read them with `profile()`): what TensorFlow's FULL_TRACE
   * run option and onnxruntime's profiling give. The cpu backend reads the host clock around each
   * kernel; webgpu stamps each kernel's compute pass on the GPU (the adapter's 'timestamp-query').
   */
  profile?: boolean;
  /**
   * How many compiled plans the session keeps (default 16). Each signature (fetches, feed names,
   * feed shapes) compiles its own plan; past this many, the least recently run one is freed and
   * compiles again if it comes back. On the cpu every plan of a session runs in one arena, as
   * large as the largest plan's.
   */
  maxPlans?: number;
}

/** Anything `run` can fetch: one tensor or op, a name, or arrays and objects of them nested up to three deep. */
export type FetchItem = SymbolicTensor | Node | string;
type FetchLevel<Inner> = FetchItem | readonly Inner[] | { readonly [key: string]: Inner };
// a fixed depth rather than a recursive alias: FetchResult<F> over a recursive constraint is too deep for tsc
export type Fetches = FetchLevel<FetchLevel<FetchLevel<FetchItem>>>;

type FeedValue = TensorValue | number | number[] | ArrayLike<number>;
export type Feeds = Record<string, FeedValue> | Map<SymbolicTensor | string, FeedValue>;

/** Resolved result shape: a value for each fetched tensor, null for each fetched op. */
export type FetchResult<F> = F extends SymbolicTensor | string
  ? TensorValue
  : F extends Node
    ? null
    : F extends readonly unknown[]
      ? { [K in keyof F]: FetchResult<F[K]> }
      : F extends object
        ? { [K in keyof F]: FetchResult<F[K]> }
        : never;

interface CompiledEntry {
  plan: Plan;
  executable: Executable;
}

/**
 * Runs a graph. The first run of each signature (fetches, feed names, feed shapes) compiles a plan
 * (prune, optimize, specialize shapes, bind kernels); later runs reuse it. On the cpu, a shape seen
 * once that a graph optimized with the varying dimensions unknown serves runs on that graph's one
 * unspecialized plan instead (`unspecialized`). Variables live in the backend's storage for the
 * session's life.
 */
export class Session {
  readonly backend: Backend;
  readonly level: OptLevel;
  /** How many plans were compiled: a repeated signature must not add to it. */
  compileCount = 0;
  private readonly cache: PlanCache<CompiledEntry>;
  /** The plan compiled last (what `lastStats` reports), evicted or not. */
  private newest?: CompiledEntry;
  private readonly state: VariableState;
  private readonly profiling: boolean;
  /** Constant folding shared by the session's plans: they fold the same weights into the same arrays. */
  private readonly evaluate = rememberingEvaluator(evaluateNode);
  /** The plans' optimized graphs, shared where a feed list's dimensions vary between runs. */
  private readonly passes: SharedPasses;
  /** Signatures run once on a shared graph's unspecialized plan, oldest first: the next run of one specializes its own. */
  private readonly ranUnspecialized = new Set<string>();
  private closed = false;

  constructor(
    readonly graph: Graph,
    options: SessionOptions = {},
  ) {
    this.backend = typeof options.backend === 'object' ? options.backend : createBackend(options.backend ?? 'cpu');
    this.level = options.optimize ?? 2;
    this.profiling = options.profile === true;
    this.state = this.backend.createState();
    const maxPlans = options.maxPlans ?? DEFAULT_MAX_PLANS;
    if (!Number.isInteger(maxPlans) || maxPlans < 1) throw new GraphcError(`Session: maxPlans must be a whole number of at least 1 (got ${maxPlans})`);
    this.cache = new PlanCache(maxPlans, (entry) => entry.executable.dispose?.());
    this.passes = new SharedPasses(maxPlans);
  }

  /**
   * Kernel time per node (of the optimized plans: fused nodes stand for the ops they absorbed)
   * since the session started or `clearProfile()`, slowest first, over the plans it holds (see
   * `maxPlans`). Needs `profile: true`.
   */
  profile(): NodeTiming[] {
    if (!this.profiling) throw new GraphcError('profile(): create the session with { profile: true }');
    const byNode = new Map<string, NodeTiming>();
    for (const { executable } of this.cache.values()) {
      for (const t of executable.timings!()) {
        const seen = byNode.get(t.node);
        if (seen) {
          seen.calls += t.calls;
          seen.ms += t.ms;
        } else byNode.set(t.node, { ...t });
      }
    }
    return [...byNode.values()].filter((t) => t.calls > 0).sort((a, b) => b.ms - a.ms);
  }

  /** Starts the profile afresh (after warm-up runs, say). */
  clearProfile(): void {
    for (const { executable } of this.cache.values()) executable.clearTimings?.();
  }

  /** Variable storage (for checkpoints and saveModel). */
  get variables(): VariableState {
    return this.state;
  }

  async run<F extends Fetches>(fetches: F, feeds: Feeds = {}): Promise<FetchResult<F>> {
    if (this.closed) throw new GraphcError('session is closed');
    await this.backend.ready();
    const flat: (SymbolicTensor | Node)[] = [];
    const structure = this.flattenFetches(fetches as Fetches, flat);
    const feedList = this.normalizeFeeds(feeds);
    const tensors = flat.filter((f): f is SymbolicTensor => f instanceof SymbolicTensor);
    const targets = flat.filter((f): f is Node => f instanceof Node);
    const feedsKey = JSON.stringify([tensors.map((t) => t.name), targets.map((t) => t.name), feedList.map(([t, v]) => [t.name, v.dtype])]);
    // the signature: the feed list, then its shapes (its prefix keys the passes' history)
    const key = feedsKey + JSON.stringify(feedList.map(([, v]) => v.shape));
    const entry = this.cache.get(key) ?? this.compile(tensors, targets, feedList, feedsKey, key);
    const values = await this.cache.using(entry, (e) => e.executable.run(feedList.map(([, v]) => v)));
    const byFetch = new Map<SymbolicTensor, TensorValue>(tensors.map((t, i) => [t, values[i]]));
    return structure(byFetch) as FetchResult<F>;
  }

  /** The plans the session holds, least recently run first (for inspection and tests). */
  plans(): Plan[] {
    return [...this.cache.values()].map((e) => e.plan);
  }

  /**
   * How many times the optimization passes ran. From the third shape of a feed list, the passes leave
   * the dimensions that vary unknown and their graph serves every later shape (VaryingDims): a plan
   * compiles for each, but the passes do not run again.
   */
  get optimizeCount(): number {
    return this.passes.optimizeCount;
  }

  /** Stats of the executable compiled for the most recent new signature. */
  lastStats(): Record<string, number> | undefined {
    return this.newest?.executable.stats;
  }

  close(): void {
    this.cache.clear();
    this.backend.dispose();
    this.closed = true;
  }

  /** The entry that runs the signature `key` (cached under the key it serves), compiled now. */
  private compile(tensors: SymbolicTensor[], targets: Node[], feeds: [SymbolicTensor, TensorValue][], feedsKey: string, key: string): CompiledEntry {
    const request: PlanRequest = {
      graph: this.graph,
      fetchNames: tensors.map((t) => t.name),
      targetNames: targets.map((t) => t.name),
      feedNames: feeds.map(([t]) => t.name),
      feedShapes: feeds.map(([, v]) => v.shape),
      level: this.level,
      evaluate: this.evaluate,
    };
    // on a backend that compiles static shapes only, a graph with unknown dimensions would be staged at every shape
    const optimized = this.passes.optimizedGraph(request, feedsKey, this.backend.staticShapesOnly ? 'static' : undefined);
    if (this.backend.runsAnyShape && optimized.passShapes.some((s) => s.includes(null)) && !this.ranUnspecialized.delete(key)) {
      const shared = this.unspecialized(optimized, request, feedsKey, key);
      if (shared) return shared;
    }
    const entry = this.newEntry(specializePlan(optimized, request));
    this.cache.set(key, entry);
    return entry;
  }

  /**
   * A shape the passes' shared graph serves, seen for the first time, whose tensors are small: it runs
   * on that graph's one plan with nothing specialized (no shapes, no memory plan), so a shape seen
   * once (a decoder's cache a token longer each step) costs no compile. Its signature is remembered,
   * and specializes a plan of its own if it comes back (a server's batch sizes). Undefined where the
   * tensors are large (see UNSPECIALIZED_BYTES_PER_NODE): then the shape specializes at once.
   */
  private unspecialized(optimized: OptimizedGraph, request: PlanRequest, feedsKey: string, key: string): CompiledEntry | undefined {
    const sharedKey = feedsKey + JSON.stringify(optimized.passShapes);
    let entry = this.cache.get(sharedKey);
    // (a cached entry of an older graph for the same pattern: SharedPasses evicted it and optimized again)
    const plan = entry?.plan.graph === optimized.graph ? entry.plan : unspecializedPlan(optimized, request);
    // the shapes are checked as a specialized plan's are (a clear error naming the node, not a kernel's)
    const shapes = specializeShapes(plan.schedule, plan.feeds, request.feedShapes);
    if (allocatedBytes(plan.schedule, shapes, plan.feeds) > plan.schedule.length * UNSPECIALIZED_BYTES_PER_NODE) return undefined;
    if (entry?.plan !== plan) {
      entry = this.newEntry(plan);
      this.cache.set(sharedKey, entry);
    }
    this.ranUnspecialized.add(key);
    for (const oldest of this.ranUnspecialized) {
      if (this.ranUnspecialized.size <= REMEMBERED_SHAPES) break;
      this.ranUnspecialized.delete(oldest);
    }
    return entry;
  }

  /** Compiles `plan` on the backend (profiling it if the session profiles): the session's newest entry. */
  private newEntry(plan: Plan): CompiledEntry {
    const fed = new Set(plan.feeds.map((f) => f.node));
    const unfed = plan.schedule.filter((n) => n.op === 'placeholder' && !fed.has(n));
    if (unfed.length) {
      const names = unfed.map((n) => `'${n.name}' (${n.outputs[0].dtype} ${shapeToString(n.outputs[0].shape)})`);
      throw new FeedError(`placeholder ${names.join(', ')} must be fed: the fetches depend on it`);
    }
    this.compileCount++;
    const executable = compilePlan(plan, this.backend, this.state, this.level, this.evaluate);
    if (this.profiling) {
      try {
        if (!executable.startProfiling || !executable.timings) throw new GraphcError(`profile: the ${this.backend.name} backend cannot time its kernels (cpu and webgpu can)`);
        executable.startProfiling();
      } catch (e) {
        executable.dispose?.();
        throw e;
      }
    }
    return (this.newest = { plan, executable });
  }

  private flattenFetches(fetches: Fetches | FetchItem, out: (SymbolicTensor | Node)[]): (values: Map<SymbolicTensor, TensorValue>) => unknown {
    if (typeof fetches === 'string') {
      const node = this.graph.hasNode(fetches) ? this.graph.node(fetches) : this.graph.tensor(fetches).node;
      const item = node.name === fetches && node.outputs.length === 0 ? node : this.graph.tensor(fetches);
      return this.flattenFetches(item, out);
    }
    if (fetches instanceof SymbolicTensor || fetches instanceof Node) {
      if (fetches.graph !== this.graph) throw new GraphcError(`fetch '${fetches.name}' belongs to another graph than the session's`);
      out.push(fetches);
      return fetches instanceof Node ? () => null : (values) => values.get(fetches);
    }
    if (Array.isArray(fetches)) {
      const parts = fetches.map((f) => this.flattenFetches(f, out));
      return (values) => parts.map((p) => p(values));
    }
    if (typeof fetches === 'object' && fetches !== null) {
      const parts = Object.entries(fetches).map(([k, f]) => [k, this.flattenFetches(f, out)] as const);
      return (values) => Object.fromEntries(parts.map(([k, p]) => [k, p(values)]));
    }
    throw new GraphcError(`cannot fetch ${String(fetches)}: pass a tensor, an op, a name, or an array/object of them`);
  }

  private normalizeFeeds(feeds: Feeds): [SymbolicTensor, TensorValue][] {
    const entries: [SymbolicTensor | string, FeedValue][] = feeds instanceof Map ? [...feeds.entries()] : Object.entries(feeds);
    const result: [SymbolicTensor, TensorValue][] = entries.map(([key, raw]) => {
      const name = typeof key === 'string' ? key : key.name;
      let t: SymbolicTensor;
      if (key instanceof SymbolicTensor) {
        if (key.graph !== this.graph) throw new FeedError(`feed '${name}' belongs to another graph than the session's`);
        t = key;
      } else {
        try {
          t = this.graph.tensor(name);
        } catch {
          const known = this.graph.placeholders().map((p) => p.name);
          throw new FeedError(`feed '${name}' does not name a tensor of the graph (placeholders: ${known.join(', ') || 'none'})`);
        }
      }
      return [t, this.checkFeed(t, raw)];
    });
    return result.sort((a, b) => (a[0].name < b[0].name ? -1 : a[0].name > b[0].name ? 1 : 0));
  }

  private checkFeed(t: SymbolicTensor, raw: FeedValue): TensorValue {
    let value: TensorValue;
    if (isTensorValue(raw)) value = raw;
    else if (typeof raw === 'number' || Array.isArray(raw) || ArrayBuffer.isView(raw)) {
      const shape = t.shape.every((d) => d !== null) ? (t.shape as number[]) : undefined;
      try {
        value = tensor(raw as number[], shape && (typeof raw === 'number' || sizeOf(shape) === (raw as ArrayLike<number>).length) ? shape : undefined, t.dtype);
      } catch (e) {
        throw new FeedError(`feed '${t.name}': ${(e as Error).message}`);
      }
    } else throw new FeedError(`feed '${t.name}' must be a tensor value { dtype, shape, data } or numbers`);
    if (value.dtype !== t.dtype) throw new FeedError(`feed '${t.name}' has dtype ${value.dtype}, expected ${t.dtype}`);
    if (!Array.isArray(value.shape) || !value.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new FeedError(`feed '${t.name}' has an invalid shape`);
    }
    if (!shapeMatches(value.shape, t.shape)) {
      throw new FeedError(`feed '${t.name}' has shape ${shapeToString(value.shape)}, expected ${shapeToString(t.shape)}`);
    }
    if (value.data.length !== sizeOf(value.shape)) {
      throw new FeedError(`feed '${t.name}' has ${value.data.length} values, but shape ${shapeToString(value.shape)} needs ${sizeOf(value.shape)}`);
    }
    return value;
  }
}
