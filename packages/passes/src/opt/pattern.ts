import type { Attrs, Node, OutputInfo, SymbolicTensor } from '@graphc/graph';

/**
 * Patterns over the graph being built, in the manner of tinygrad's PatternMatcher: a rule is a
 * pattern and a replacement, and optimizations are a table of rules rather than code paths.
 *
 * - `{ op, args }` matches a node running `op` (or one of a list) whose inputs match `args`;
 *   `commutative` also tries the two inputs swapped; `when` adds a condition on the node.
 * - `{ bind }` matches any tensor and names it; `when` adds a condition on the tensor.
 * Names bound by `{ op, bind }` give the matched node in `m.n`, by `{ bind }` the tensor in `m.t`.
 */
export type Pattern = OpPattern | AnyPattern;

export interface OpPattern {
  op: string | readonly string[] | ((op: string) => boolean);
  args?: Pattern[];
  bind?: string;
  commutative?: boolean;
  when?: (node: NodeView) => boolean;
}

export interface AnyPattern {
  bind: string;
  when?: (t: SymbolicTensor) => boolean;
}

/** What a pattern sees of a node: a node of the new graph, or the source node being rewritten. */
export interface NodeView {
  op: string;
  attrs: Attrs;
  inputs: SymbolicTensor[];
  outputs: OutputInfo[];
  name: string;
}

export interface Match {
  t: Record<string, SymbolicTensor>;
  n: Record<string, NodeView>;
}

const opMatches = (p: OpPattern['op'], op: string): boolean =>
  typeof p === 'string' ? p === op : typeof p === 'function' ? p(op) : p.includes(op);

function matchTensor(p: Pattern, t: SymbolicTensor, m: Match): boolean {
  if (!('op' in p)) return bindTensor(p, t, m);
  if (t.index !== 0 || t.node.controlInputs.length > 0) return false;
  return matchNode(p, t.node, m);
}

function bindTensor(p: AnyPattern, t: SymbolicTensor, m: Match): boolean {
  if (p.when && !p.when(t)) return false;
  const prev = m.t[p.bind];
  if (prev) return prev === t; // a name bound twice must be the same tensor: `mul(x, x)`
  m.t[p.bind] = t;
  return true;
}

/** Matches `node` against `p`, filling `m`; on failure `m` may hold partial bindings (callers copy). */
export function matchNode(p: OpPattern, node: NodeView | Node, m: Match): boolean {
  if (!opMatches(p.op, node.op)) return false;
  if (p.when && !p.when(node)) return false;
  const args = p.args;
  if (args) {
    if (args.length !== node.inputs.length) return false;
    const tryOrder = (order: number[]): boolean => {
      const trial: Match = { t: { ...m.t }, n: { ...m.n } };
      if (!order.every((k, i) => matchTensor(args[i], node.inputs[k], trial))) return false;
      Object.assign(m.t, trial.t);
      Object.assign(m.n, trial.n);
      return true;
    };
    const ok = tryOrder(args.map((_, i) => i)) || (p.commutative === true && args.length === 2 && tryOrder([1, 0]));
    if (!ok) return false;
  }
  if (p.bind) m.n[p.bind] = node;
  return true;
}
