import type { Shape } from '@graphc/graph';
import { OptimizedGraph, PlanRequest, optimizePlanGraph } from './plan';
import { PlanCache } from './plan-cache';

/** Patterns kept per feed list; past this many the least recently used one goes. */
const PATTERNS_PER_FEEDS = 4;

interface FeedHistory {
  /** Plans compiled for this feed list so far. */
  compiles: number;
  /** The feed shapes of its latest compile. */
  latest: number[][];
  /** Feed shapes with null where a dimension varied, least recently used first. */
  patterns: Shape[][];
}

/** Whether concrete `shapes` fit `pattern`: the same ranks, and equal wherever the pattern has a number. */
function fits(shapes: number[][], pattern: Shape[]): boolean {
  return shapes.every((s, i) => s.length === pattern[i].length && s.every((d, j) => pattern[i][j] === null || pattern[i][j] === d));
}

/**
 * Which feed dimensions a session's passes leave unknown. A plan serves one signature, its feed shapes
 * included, and the passes are most of what compiling one costs: a model fed a new shape at every run
 * (a decoder whose key/value cache grows a token a step, sentences of every length) would run them at
 * every run. So, as torch.compile's automatic dynamic shapes: a feed list's first plans are optimized
 * at their static shapes; from its `staticCompiles + 1`-th, the dimensions that differ from the
 * previous compile's are left unknown (null) to the passes, and that optimized graph serves every
 * later shape that agrees with it elsewhere. Each shape still gets its own plan (shapes, memory,
 * kernels); only the passes are shared.
 */
export class VaryingDims {
  private readonly byFeeds = new Map<string, FeedHistory>();

  constructor(private readonly staticCompiles = 2) {}

  /**
   * The feed shapes the passes should see for a plan about to compile for `shapes` (the feed list
   * `feedsKey`'s): `shapes` itself, or a pattern with null dimensions (the same array each time it
   * serves; SharedPasses keys the optimized graph by it). One entry per feed list (fetch and feed
   * names): a session uses few.
   */
  passShapes(feedsKey: string, shapes: number[][]): number[][] | Shape[] {
    const history = this.byFeeds.get(feedsKey);
    if (!history) {
      this.byFeeds.set(feedsKey, { compiles: 1, latest: shapes, patterns: [] });
      return shapes;
    }
    const previous = history.latest;
    history.compiles++;
    history.latest = shapes;
    const known = history.patterns.findIndex((p) => fits(shapes, p));
    if (known >= 0) {
      const [pattern] = history.patterns.splice(known, 1);
      history.patterns.push(pattern);
      return pattern;
    }
    if (history.compiles <= this.staticCompiles || shapes.some((s, i) => s.length !== previous[i].length)) return shapes;
    const pattern = shapes.map((s, i) => s.map((d, j) => (previous[i][j] === d ? d : null)));
    if (pattern.every((s) => s.every((d) => d !== null))) return shapes;
    history.patterns.push(pattern);
    if (history.patterns.length > PATTERNS_PER_FEEDS) history.patterns.shift();
    return pattern;
  }
}

/**
 * The optimized graphs of a session's (or a function's) plans: each optimized at its own feed shapes,
 * or, where `VaryingDims` finds dimensions that vary, optimized once with them unknown and shared by
 * the plans of every shape that fits.
 */
export class SharedPasses {
  /** How many times the passes ran. */
  optimizeCount = 0;
  private readonly varying = new VaryingDims();
  private readonly graphs: PlanCache<OptimizedGraph>;

  /** Keeps the `capacity` shared graphs used last. */
  constructor(capacity: number) {
    this.graphs = new PlanCache(capacity, () => {});
  }

  /**
   * The optimized graph for a plan about to compile for `request` (its feed list is `feedsKey`).
   * `always: 'static'` optimizes at the feed shapes whatever varies (for a backend that compiles
   * static shapes only, which would stage a graph of unknown dimensions at every shape).
   */
  optimizedGraph(request: PlanRequest, feedsKey: string, always?: 'static'): OptimizedGraph {
    const passShapes = always === 'static' || request.level === 0 ? request.feedShapes : this.varying.passShapes(feedsKey, request.feedShapes);
    if (passShapes === request.feedShapes) {
      this.optimizeCount++;
      return optimizePlanGraph(request);
    }
    const key = JSON.stringify([feedsKey, passShapes]);
    let optimized = this.graphs.get(key);
    if (!optimized) {
      this.optimizeCount++;
      optimized = optimizePlanGraph(request, passShapes);
      this.graphs.set(key, optimized);
    }
    return optimized;
  }
}
