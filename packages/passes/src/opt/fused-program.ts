import { FusedRef, FusedStatement, Node, SymbolicTensor } from '@graphc/graph';
import type { Rebuild } from '../rebuild';

/** A group of the fusion pass: elementwise ops computing one value, and what they run inside. */
export interface Group {
  root: Node;
  /** In graph order; the root is last. */
  members: Node[];
  anchor?: Node;
  /** The update (assign, assignAdd, assignSub) the group's value feeds, when it runs inside it. */
  update?: Node;
}

const key = (t: SymbolicTensor): string => `${t.node.id}:${t.index}`;

/**
 * Builds a fused program (packages/graph/src/ops/fused/program.ts) from graph ops: one statement per
 * op, in the order added; an argument computed by an earlier statement reads that step, any other
 * becomes a program input, deduplicated.
 */
export class ProgramBuilder {
  readonly statements: FusedStatement[] = [];
  /** Tensors the program reads from outside, in input order (after `first`, when given). */
  readonly inputs: SymbolicTensor[] = [];
  private readonly stepOf = new Map<string, number>();
  private readonly inputIndex = new Map<string, number>();
  private readonly base: number;

  /** `first` (an anchor's result, an updated variable) is input 0 and not among `inputs`. */
  constructor(first?: SymbolicTensor) {
    if (first) this.inputIndex.set(key(first), 0);
    this.base = first ? 1 : 0;
  }

  /** The argument reading `t`: an earlier statement's result, else an input. */
  ref(t: SymbolicTensor): FusedRef {
    const s = this.stepOf.get(key(t));
    if (s !== undefined) return { step: s };
    let k = this.inputIndex.get(key(t));
    if (k === undefined) {
      k = this.base + this.inputs.length;
      this.inputIndex.set(key(t), k);
      this.inputs.push(t);
    }
    return { input: k };
  }

  /** Appends a statement; later reads of `result`, when given, read it. Returns its step. */
  push(statement: FusedStatement, result?: SymbolicTensor): number {
    this.statements.push(statement);
    const step = this.statements.length - 1;
    if (result) this.stepOf.set(key(result), step);
    return step;
  }

  /** Later reads of `t` read step `step` (a result with a second name: an update's new value). */
  name(t: SymbolicTensor, step: number): number {
    this.stepOf.set(key(t), step);
    return step;
  }

  /** Appends the ops of a group, in graph order; returns the root's step. */
  addGroup(g: Group): number {
    let step = -1;
    for (const m of g.members) step = this.push({ op: m.op, attrs: m.attrs, args: m.inputs.map((t) => this.ref(t)) }, m.output(0));
    return step;
  }
}

/** The controls a fused node keeps: every control input of the ops it absorbs, but none of those ops. */
export function absorbedControls(absorbed: Set<Node>, rb: Rebuild): Node[] {
  return rb.controls([...absorbed].flatMap((m) => m.controlInputs).filter((c) => !absorbed.has(c)));
}
