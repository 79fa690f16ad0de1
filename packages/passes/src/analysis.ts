import { Graph, Node, OpDef, SymbolicTensor, TensorValue, getOpDef, isTensorValue, writtenInputs } from '@graphc/graph';

/** Facts about a graph that several passes ask: consumers, constants, and variable writes. */
export class GraphInfo {
  /** Distinct data consumers of each node. */
  readonly dataConsumers = new Map<Node, Node[]>();
  /** Nodes that name each node as a control input. */
  readonly controlConsumers = new Map<Node, Node[]>();
  readonly position = new Map<Node, number>();
  /** Variable name -> positions of the stateful nodes that may write it (assign, assignAdd, ...). */
  private readonly writes = new Map<string, number[]>();

  constructor(readonly graph: Graph) {
    graph.nodes.forEach((n, i) => {
      this.position.set(n, i);
      this.dataConsumers.set(n, []);
      this.controlConsumers.set(n, []);
    });
    for (const n of graph.nodes) {
      for (const i of n.inputs) {
        const list = this.dataConsumers.get(i.node)!;
        if (list[list.length - 1] !== n) list.push(n);
      }
      for (const c of n.controlInputs) this.controlConsumers.get(c)!.push(n);
      if (def(n).stateful) {
        for (const i of n.inputs) {
          const v = variableBehind(i);
          if (v) {
            const list = this.writes.get(v.name) ?? [];
            list.push(this.position.get(n)!);
            this.writes.set(v.name, list);
          }
        }
      }
    }
  }

  /**
   * Whether some stateful node may write the variable that `t` reads (directly or through aliases).
   * Variables are matched by name, so `t` may belong to a graph a pass is building from this one.
   */
  readsWrittenVariable(t: SymbolicTensor): boolean {
    const v = variableBehind(t);
    return v !== undefined && this.writes.has(v.name);
  }

  /**
   * Whether a read of `t` may move from position `from` to `to` without seeing a different value:
   * false when a write of its variable lies between them.
   */
  readMayMove(t: SymbolicTensor, from: number, to: number): boolean {
    const v = variableBehind(t);
    if (!v) return true;
    const lo = Math.min(from, to);
    const hi = Math.max(from, to);
    return !(this.writes.get(v.name) ?? []).some((p) => p > lo && p < hi);
  }

  /** Whether `node` may be absorbed into a consumer: it feeds nothing through control edges. */
  onlyDataConsumers(node: Node): boolean {
    return this.controlConsumers.get(node)!.length === 0;
  }
}

const defCache = new Map<string, OpDef>();
export function def(n: Node): OpDef {
  let d = defCache.get(n.op);
  if (!d) defCache.set(n.op, (d = getOpDef(n.op)));
  return d;
}

/**
 * The variable node whose storage `t` is, if any: through identity/reshape-like aliases, and through
 * updates (an assign's output is the variable's storage, which a later update overwrites).
 */
export function variableBehind(t: SymbolicTensor): Node | undefined {
  let node = t.node;
  let index = t.index;
  for (;;) {
    if (node.op === 'variable') return node;
    const d = def(node);
    if (!(d.aliasesInput || d.assignment) || node.inputs.length === 0) return undefined;
    // output k of an update is the storage of the k-th variable it writes
    const from = d.assignment ? writtenInputs(node.op, node.attrs)[index] : 0;
    if (from === undefined) return undefined;
    ({ node, index } = node.inputs[from]);
  }
}

/** The value of `t` when it is a `const` node's output. */
export function constValue(t: SymbolicTensor): TensorValue | undefined {
  if (t.node.op !== 'const') return undefined;
  const v = t.node.attrs.value;
  return isTensorValue(v) ? v : undefined;
}

/** Whether every element of the constant `t` equals `x` (false for non-constants and empty tensors). */
export function isConstFilled(t: SymbolicTensor, x: number): boolean {
  const v = constValue(t);
  if (!v || v.data.length === 0) return false;
  for (let i = 0; i < v.data.length; i++) if (v.data[i] !== x) return false;
  return true;
}

/** Whether a node's ops produce values from inputs alone (no state, no randomness). */
export function isPure(n: Node): boolean {
  return !def(n).stateful;
}
