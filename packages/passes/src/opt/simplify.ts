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

/** Whether any node could be rewritten: patterns matched on the unchanged graph, before paying for a copy. */
function anyCandidate(graph: Graph, ctx: PassContext, rules: Rule[]): boolean {
  const index = indexOf(rules);
  return graph.nodes.some((n) => {
    if (n.op === 'noOp' && n.outputs.length === 0 && !ctx.keep.has(n.name)) return true;
    if (!rewritable(n, ctx)) return false;
    return index.for(n.op).some((rule) => matchNode(rule.pattern, n, { t: {}, n: {} }));
  });
}

/** Pure nodes without control inputs: of one output, or of several (rules with rewriteOutputs) when not kept. */
function rewritable(n: Node, ctx: PassContext): boolean {
  if (def(n).stateful || n.controlInputs.length > 0 || n.outputs.length === 0) return false;
  return n.outputs.length === 1 || !ctx.keep.has(n.name);
}

function simplifyOnce(graph: Graph, ctx: PassContext, rules: Rule[], stats: Record<string, number>): { graph: Graph; rewrites: number } {
  if (!anyCandidate(graph, ctx, rules)) return { graph, rewrites: 0 };
  const info = new GraphInfo(graph);
  const rb = new Rebuild(graph);
  let rewrites = 0;
  for (const n of graph.nodes) {
    const d = def(n);
    if (n.op === 'noOp' && n.outputs.length === 0 && !ctx.keep.has(n.name)) {
      rb.replace(n, [], rb.controls(n.controlInputs));
      rewrites++;
      stats['noop-dissolve'] = (stats['noop-dissolve'] ?? 0) + 1;
      continue;
    }
    if (d.stateful || !rewritable(n, ctx)) {
      rb.copy(n);
      continue;
    }
    const inputs = n.inputs.map((i) => rb.tensor(i));
    const view: NodeView = { op: n.op, attrs: n.attrs, inputs, outputs: n.outputs, name: n.name };
    const results = n.outputs.length === 1 ? applyFirst(rules, view, rb, info, stats, ctx.keep.has(n.name)) : applyFirstOutputs(rules, view, rb, info, stats);
    if (results) {
      rb.replace(n, results);
      rewrites++;
    } else rb.copy(n, { inputs });
  }
  return { graph: rewrites ? rb.finish() : graph, rewrites };
}

/** The rules with a `kind` rewrite that match `view` and read no variable some op writes, each with its match and a fresh scratch builder. */
function* candidates(rules: Rule[], view: NodeView, info: GraphInfo, kind: 'rewrite' | 'rewriteOutputs'): Generator<{ rule: Rule; m: Match; scratch: ScratchBuilder }> {
  for (const rule of indexOf(rules).for(view.op)) {
    const m: Match = { t: {}, n: {} };
    if (!rule[kind] || !matchNode(rule.pattern, view, m)) continue;
    if (Object.values(m.t).some((t) => info.readsWrittenVariable(t))) continue;
    yield { rule, m, scratch: new ScratchBuilder() };
  }
}

/**
 * The first rule's result. A rule builds into a scratch graph first (the tensors it reads stand in
 * as placeholders there), so a rewrite that is then declined leaves nothing behind. An accepted one
 * is replayed into the pass's graph, only the nodes its result needs: the node computing the result
 * takes the rewritten node's name (fetches and kept names find it), the others `name/op`. (Named as
 * they were built, a declined rewrite's first node once took the name, and a fetch of the kept
 * node read a constant filter.) A kept node is only rewritten into such a new node: one that
 * would become an existing tensor becomes an identity of it.
 */
function applyFirst(rules: Rule[], view: NodeView, rb: Rebuild, info: GraphInfo, stats: Record<string, number>, kept: boolean): SymbolicTensor[] | undefined {
  const want = view.outputs[0];
  for (const { rule, m, scratch } of candidates(rules, view, info, 'rewrite')) {
    let out = rule.rewrite!(m, scratch, view);
    if (!out || out.dtype !== want.dtype || !refines(out.shape, want.shape)) continue;
    let built = out.graph === scratch.graph;
    if (kept && !built) {
      // a kept node must stay under its name: as an identity (an alias, no copy) of what it equals
      if (view.op === 'identity') continue;
      built = true;
      out = scratch.op('identity', [out]);
    }
    stats[rule.name] = (stats[rule.name] ?? 0) + 1;
    return [built ? scratch.replay([out], rb, view.name, out.node)[0] : out];
  }
  return undefined;
}

/**
 * The same for a node of several outputs (not kept): the first rule with `rewriteOutputs` whose
 * results (one per output) all have the outputs' dtypes and shapes. Its new nodes are named
 * `name/op`, the name itself left to no one: nothing fetches a node that is not kept.
 */
function applyFirstOutputs(rules: Rule[], view: NodeView, rb: Rebuild, info: GraphInfo, stats: Record<string, number>): SymbolicTensor[] | undefined {
  for (const { rule, m, scratch } of candidates(rules, view, info, 'rewriteOutputs')) {
    const outs = rule.rewriteOutputs!(m, scratch, view);
    if (!outs || outs.length !== view.outputs.length) continue;
    if (!outs.every((t, i) => t.dtype === view.outputs[i].dtype && refines(t.shape, view.outputs[i].shape))) continue;
    stats[rule.name] = (stats[rule.name] ?? 0) + 1;
    return scratch.replay(outs, rb, view.name);
  }
  return undefined;
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
