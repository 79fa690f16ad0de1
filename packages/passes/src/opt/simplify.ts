import { Graph, Node, Shape, SymbolicTensor } from '@graphc/graph';
import { GraphInfo, def } from '../analysis';
import { Rebuild } from '../rebuild';
import type { GraphPass, PassContext } from './pass';
import { Match, NodeView, matchNode } from './pattern';
import { Rule, SIMPLIFY_RULES } from './rules';

const MAX_ROUNDS = 8;

/**
 * Algebraic simplification: applies a rule table (rules.ts) to every node until nothing changes.
 * Only pure single-output nodes without control inputs are rewritten; a kept node only into a new
 * node, which takes its name. A rule
 * whose result would read a variable that some op writes is declined: the rewritten node's consumers
 * would read the variable at another point of the schedule. No-op nodes that only group control
 * edges are dissolved: their dependents wait on what they waited on.
 */
export function simplifyPass(rules: Rule[] = SIMPLIFY_RULES): GraphPass {
  return {
    name: 'simplify',
    run(graph, ctx) {
      const stats: Record<string, number> = { rewrites: 0 };
      let current = graph;
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const { graph: next, rewrites } = simplifyOnce(current, ctx, rules, stats);
        if (rewrites === 0) break;
        current = next;
        stats.rewrites += rewrites;
      }
      return { graph: current, stats };
    },
  };
}

/** Rules by the op their pattern's root names (a predicate root applies to any op). */
class RuleIndex {
  private readonly byOp = new Map<string, Rule[]>();
  private readonly anyOp: Rule[] = [];
  private readonly cache = new Map<string, Rule[]>();
  /** The table as it was indexed: SIMPLIFY_RULES is public, and a rule added to it later must count. */
  readonly rules: Rule[];
  constructor(rules: Rule[]) {
    this.rules = [...rules];
    for (const r of rules) {
      const op = r.pattern.op;
      if (typeof op === 'function') this.anyOp.push(r);
      else for (const o of typeof op === 'string' ? [op] : op) this.byOp.set(o, [...(this.byOp.get(o) ?? []), r]);
    }
  }
  /** The rules that may match a node running `op`, in table order. */
  for(op: string): Rule[] {
    let list = this.cache.get(op);
    if (!list) {
      const own = new Set([...(this.byOp.get(op) ?? []), ...this.anyOp.filter((r) => (r.pattern.op as (o: string) => boolean)(op))]);
      this.cache.set(op, (list = this.rules.filter((r) => own.has(r))));
    }
    return list;
  }
}

const indexes = new WeakMap<Rule[], RuleIndex>();
/** The table's index, built again where rules were added, removed or replaced since. */
function indexOf(rules: Rule[]): RuleIndex {
  let index = indexes.get(rules);
  const stale = index && (index.rules.length !== rules.length || index.rules.some((r, i) => r !== rules[i]));
  if (!index || stale) indexes.set(rules, (index = new RuleIndex(rules)));
  return index;
}

/** Pure nodes without control inputs: of one output, or of several (rules with rewriteOutputs) when not kept. */
function rewritable(n: Node, ctx: PassContext): boolean {
  if (def(n).stateful || n.controlInputs.length > 0 || n.outputs.length === 0) return false;
  return n.outputs.length === 1 || !ctx.keep.has(n.name);
}

const dissolvable = (n: Node, ctx: PassContext): boolean => n.op === 'noOp' && n.outputs.length === 0 && !ctx.keep.has(n.name);

/**
 * One walk over the graph. Until a rule accepts, the graph so far is unchanged, so rules are tried
 * on the source nodes themselves and nothing is copied; at the first accepted rewrite the nodes
 * before it are copied and the walk goes on building the new graph. A round that rewrites nothing
 * (the fixed point, or a rule that matches and declines every time, as a dynamicAttrs node whose
 * parameters stay unknown) so costs no copy.
 */
function simplifyOnce(graph: Graph, ctx: PassContext, rules: Rule[], stats: Record<string, number>): { graph: Graph; rewrites: number } {
  // built when a match needs it (whether a matched tensor reads a written variable)
  let facts: GraphInfo | undefined;
  const info = (): GraphInfo => (facts ??= new GraphInfo(graph));
  let rb: Rebuild | undefined;
  const copiedBefore = (i: number): Rebuild => {
    const started = new Rebuild(graph);
    for (const earlier of graph.nodes.slice(0, i)) started.copy(earlier);
    return started;
  };
  let rewrites = 0;
  graph.nodes.forEach((n, i) => {
    if (dissolvable(n, ctx)) {
      rb ??= copiedBefore(i);
      rb.replace(n, [], rb.controls(n.controlInputs));
      rewrites++;
      stats['noop-dissolve'] = (stats['noop-dissolve'] ?? 0) + 1;
      return;
    }
    if (!rewritable(n, ctx)) {
      rb?.copy(n);
      return;
    }
    const kind: RewriteKind = n.outputs.length === 1 ? 'rewrite' : 'rewriteOutputs';
    if (!rb) {
      // the source node stands for itself: the graph before it is unchanged
      if (!firstRewrite(rules, n, info, kind, ctx.keep.has(n.name))) return;
      rb = copiedBefore(i);
    }
    const inputs = n.inputs.map((t) => rb!.tensor(t));
    const view: NodeView = { op: n.op, attrs: n.attrs, inputs, outputs: n.outputs, name: n.name };
    const results = applyFirst(rules, view, rb, info, stats, kind, ctx.keep.has(n.name));
    if (results) {
      rb.replace(n, results);
      rewrites++;
    } else rb.copy(n, { inputs });
  });
  return { graph: rb ? rb.finish() : graph, rewrites };
}

/** Which of a rule's rewrites applies: `rewrite` to a node of one output, `rewriteOutputs` to one of several. */
type RewriteKind = 'rewrite' | 'rewriteOutputs';

/** The rules with a `kind` rewrite that match `view` and read no variable some op writes, each with its match and a fresh scratch builder. */
function* candidates(rules: Rule[], view: NodeView, info: () => GraphInfo, kind: RewriteKind): Generator<{ rule: Rule; m: Match; scratch: ScratchBuilder }> {
  for (const rule of indexOf(rules).for(view.op)) {
    const m: Match = { t: {}, n: {} };
    if (!rule[kind] || !matchNode(rule.pattern, view, m)) continue;
    if (Object.values(m.t).some((t) => info().readsWrittenVariable(t))) continue;
    yield { rule, m, scratch: new ScratchBuilder() };
  }
}

/** A rule's accepted result, built in its scratch graph and not yet replayed into the pass's graph. */
interface Accepted {
  rule: Rule;
  scratch: ScratchBuilder;
  results: SymbolicTensor[];
  /** The scratch node that computes a one-output result and takes the rewritten node's name (none: the result is an existing tensor). */
  named?: Node;
}

/**
 * The first rule that rewrites `view` into tensors of its outputs' dtypes and shapes: a `rewrite`
 * (one output) or a `rewriteOutputs` (one result per output, the node not kept). A rule builds into
 * a scratch graph (the tensors it reads stand in as placeholders there), so a rewrite that is then
 * declined leaves nothing behind. A kept node is only rewritten into a new node: one that would
 * become an existing tensor becomes an identity of it (an alias, no copy).
 */
function firstRewrite(rules: Rule[], view: NodeView, info: () => GraphInfo, kind: RewriteKind, kept: boolean): Accepted | undefined {
  const fits = (t: SymbolicTensor, i: number): boolean => t.dtype === view.outputs[i].dtype && refines(t.shape, view.outputs[i].shape);
  for (const { rule, m, scratch } of candidates(rules, view, info, kind)) {
    if (kind === 'rewriteOutputs') {
      const results = rule.rewriteOutputs!(m, scratch, view);
      if (results && results.length === view.outputs.length && results.every(fits)) return { rule, scratch, results };
      continue;
    }
    let out = rule.rewrite!(m, scratch, view);
    if (!out || !fits(out, 0)) continue;
    let built = out.graph === scratch.graph;
    if (kept && !built) {
      if (view.op === 'identity') continue;
      built = true;
      out = scratch.op('identity', [out]);
    }
    return { rule, scratch, results: [out], named: built ? out.node : undefined };
  }
  return undefined;
}

/**
 * The first rule's result, replayed into the pass's graph: only the nodes it needs, the node
 * computing a one-output result under the rewritten node's name (fetches and kept names find it),
 * the others `name/op`. (Named as they were built, a declined rewrite's first node once took the
 * name, and a fetch of the kept node read a constant filter.) A node of several outputs is not kept,
 * so nothing fetches its name and every new node is `name/op`.
 */
function applyFirst(rules: Rule[], view: NodeView, rb: Rebuild, info: () => GraphInfo, stats: Record<string, number>, kind: RewriteKind, kept: boolean): SymbolicTensor[] | undefined {
  const accepted = firstRewrite(rules, view, info, kind, kept);
  if (!accepted) return undefined;
  const { rule, scratch, results, named } = accepted;
  stats[rule.name] = (stats[rule.name] ?? 0) + 1;
  if (kind === 'rewriteOutputs') return scratch.replay(results, rb, view.name);
  return named ? scratch.replay(results, rb, view.name, named) : results;
}

/** Whether `shape` is `declared` or more specific: a dimension unknown there may be known here (dynamic-attrs-known). */
function refines(shape: Shape, declared: Shape): boolean {
  return shape.length === declared.length && shape.every((d, i) => declared[i] === null || d === declared[i]);
}

/** A rule's nodes, built apart from the pass's graph until the rewrite is accepted (applyFirst). */
class ScratchBuilder {
  readonly graph = new Graph({ makeDefault: false });
  /** Scratch placeholder -> the pass-graph tensor it stands for. */
  private readonly outside = new Map<SymbolicTensor, SymbolicTensor>();
  private readonly standIns = new Map<SymbolicTensor, SymbolicTensor>();

  op(op: string, inputs: SymbolicTensor[], attrs = {}): SymbolicTensor {
    return this.graph.addNode(op, inputs.map((t) => this.here(t)), attrs).output(0);
  }

  outputs(op: string, inputs: SymbolicTensor[], attrs = {}): SymbolicTensor[] {
    const n = this.graph.addNode(op, inputs.map((t) => this.here(t)), attrs);
    return n.outputs.map((_, i) => n.output(i));
  }

  private here(t: SymbolicTensor): SymbolicTensor {
    if (t.graph === this.graph) return t;
    let p = this.standIns.get(t);
    if (!p) {
      p = this.graph.placeholder(t.dtype, t.shape);
      this.standIns.set(t, p);
      this.outside.set(p, t);
    }
    return p;
  }

  /**
   * Adds the scratch nodes `results` need to `rb`, in order; returns the tensors standing for them.
   * Node `named` takes `name`, the others `name/op`.
   */
  replay(results: SymbolicTensor[], rb: Rebuild, name: string, named?: Node): SymbolicTensor[] {
    const needed = new Set<Node>();
    const visit = (n: Node): void => {
      if (needed.has(n) || n.op === 'placeholder') return;
      needed.add(n);
      n.inputs.forEach((t) => visit(t.node));
    };
    results.forEach((r) => visit(r.node));
    const mapped = new Map<Node, Node>();
    const tensor = (t: SymbolicTensor): SymbolicTensor => this.outside.get(t) ?? mapped.get(t.node)!.output(t.index);
    for (const n of this.graph.nodes) {
      if (!needed.has(n)) continue;
      mapped.set(n, rb.add(n.op, n.inputs.map(tensor), n.attrs, n === named ? name : `${name}/${n.op}`));
    }
    return results.map(tensor);
  }
}
