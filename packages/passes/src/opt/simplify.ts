import { Graph, Node, SymbolicTensor, shapesEqual } from '@graphc/graph';
import { GraphInfo, def } from '../analysis';
import { Rebuild } from '../rebuild';
import type { GraphPass, PassContext } from './pass';
import { Match, NodeView, matchNode } from './pattern';
import { Rule, SIMPLIFY_RULES } from './rules';

const MAX_ROUNDS = 8;

/**
 * Algebraic simplification: applies a rule table (rules.ts) to every node until nothing changes.
 * Only pure single-output nodes without control inputs are rewritten; a kept node only into a new
 * node that takes its name. A rule
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
  constructor(readonly rules: Rule[]) {
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
function indexOf(rules: Rule[]): RuleIndex {
  let index = indexes.get(rules);
  if (!index) indexes.set(rules, (index = new RuleIndex(rules)));
  return index;
}

/** Whether any node could be rewritten: patterns matched on the unchanged graph, before paying for a copy. */
function anyCandidate(graph: Graph, ctx: PassContext, rules: Rule[]): boolean {
  const index = indexOf(rules);
  return graph.nodes.some((n) => {
    if (n.op === 'noOp' && n.outputs.length === 0 && !ctx.keep.has(n.name)) return true;
    if (def(n).stateful || n.controlInputs.length > 0 || n.outputs.length !== 1) return false;
    return index.for(n.op).some((rule) => matchNode(rule.pattern, n, { t: {}, n: {} }));
  });
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
    if (d.stateful || n.controlInputs.length > 0 || n.outputs.length !== 1) {
      rb.copy(n);
      continue;
    }
    const inputs = n.inputs.map((i) => rb.tensor(i));
    const view: NodeView = { op: n.op, attrs: n.attrs, inputs, outputs: n.outputs, name: n.name };
    const result = applyFirst(rules, view, rb, info, stats, ctx.keep.has(n.name));
    if (result) {
      rb.replace(n, [result]);
      rewrites++;
    } else rb.copy(n, { inputs });
  }
  return { graph: rewrites ? rb.finish() : graph, rewrites };
}

/** The first rule's result; for a kept node only a new node that takes its name qualifies. */
function applyFirst(rules: Rule[], view: NodeView, rb: Rebuild, info: GraphInfo, stats: Record<string, number>, kept: boolean): SymbolicTensor | undefined {
  const want = view.outputs[0];
  for (const rule of indexOf(rules).for(view.op)) {
    const m: Match = { t: {}, n: {} };
    if (!matchNode(rule.pattern, view, m)) continue;
    if (Object.values(m.t).some((t) => info.readsWrittenVariable(t))) continue;
    let first = true;
    const builder = {
      op: (op: string, inputs: SymbolicTensor[], attrs = {}): SymbolicTensor => {
        const node: Node = rb.add(op, inputs, attrs, first ? view.name : `${view.name}/${op}`);
        first = false;
        return node.output(0);
      },
    };
    const out = rule.rewrite(m, builder, view);
    if (!out || out.dtype !== want.dtype || !shapesEqual(out.shape, want.shape)) continue;
    if (kept && (out.node.name !== view.name || out.index !== 0)) continue;
    stats[rule.name] = (stats[rule.name] ?? 0) + 1;
    return out;
  }
  return undefined;
}
