import { Attrs, FusedUpdate, Node, SymbolicTensor, programAttr, shapesEqual } from '@graphc/graph';
import { GraphInfo, def, variableBehind } from '../analysis';
import type { Rebuild } from '../rebuild';
import { Group, ProgramBuilder, absorbedControls } from './fused-program';

/**
 * Update fusion, the part of the fuse pass that makes `fusedAssign`s: a group whose value only an
 * update of a variable reads runs inside that update (one kernel computes the value and writes the
 * variable in place), and updates that only another fused update reads join its kernel (Adam's m and
 * v updates join the weight's: one kernel per variable instead of three).
 */

/**
 * The update a group may run inside: the one node reading the group's value is an assign, assignAdd
 * or assignSub of a variable the program reads (so the kernel reads each element before writing it),
 * no other view of that variable is read (it would change under the kernel's writes), and no write
 * of a variable the group reads lies between the group and the update.
 */
export function findUpdate(g: Group, info: GraphInfo, keep: Set<string>): Node | undefined {
  const root = g.root;
  const consumers = info.dataConsumers.get(root)!;
  if (keep.has(root.name) || !info.onlyDataConsumers(root) || consumers.length !== 1) return undefined;
  const update = consumers[0];
  const kind = def(update).assignment;
  if ((kind !== 'replace' && kind !== 'add' && kind !== 'sub') || update.inputs[1].node !== root || update.inputs[0].node === root) return undefined;
  const variable = update.inputs[0];
  if (variableBehind(variable) !== variable.node) return undefined;
  const reads = externalReads(g);
  const isVariable = (t: SymbolicTensor): boolean => t.node === variable.node && t.index === variable.index;
  if (reads.some((t) => !isVariable(t) && variableBehind(t) === variable.node)) return undefined;
  if (kind === 'replace' && !reads.some(isVariable)) return undefined;
  const from = info.position.get(root)!;
  const to = info.position.get(update)!;
  return reads.every((t) => info.readMayMove(t, from, to)) ? update : undefined;
}

/** The tensors a group's ops read from outside it. */
function externalReads(g: Group): SymbolicTensor[] {
  const members = new Set(g.members);
  return g.members.flatMap((m) => m.inputs.filter((t) => !members.has(t.node)));
}

/**
 * Chains of fused updates: for each update whose group reads other fused updates' results, the ones
 * that may run in its kernel (in graph order). An update joins when nothing but the reader's group
 * reads its result, its variable has the reader's variable's shape (one index space) and differs
 * from every other variable of the kernel, and moving its reads and its write to the reader's place
 * changes nothing: no write of what it reads, and no other read or write of its variable, lies
 * between. Chains are one level deep: an update that absorbs others is not absorbed.
 */
export function chainUpdates(updated: Map<Node, Group>, info: GraphInfo, keep: Set<string>): Map<Node, Node[]> {
  const chains = new Map<Node, Node[]>();
  const absorbed = new Set<Node>();
  for (const [reader, g] of updated) {
    if (absorbed.has(reader)) continue;
    const members = new Set(g.members);
    const variables = new Set<Node>([reader.inputs[0].node]);
    const inners: Node[] = [];
    for (const t of externalReads(g)) {
      const inner = t.node;
      const ig = updated.get(inner);
      if (!ig || inner === reader || absorbed.has(inner) || chains.has(inner) || inners.includes(inner)) continue;
      if (!mayChain(inner, ig, reader, members, variables, info, keep)) continue;
      // the kernel writes every chained variable: none may be read through another view
      const joined = [g, ...inners.map((i) => updated.get(i)!), ig];
      if (readsAView(joined.flatMap(externalReads), new Set([...variables, inner.inputs[0].node]), [reader, ...inners, inner])) continue;
      inners.push(inner);
      variables.add(inner.inputs[0].node);
    }
    if (inners.length === 0) continue;
    inners.sort((a, b) => info.position.get(a)! - info.position.get(b)!);
    for (const i of inners) absorbed.add(i);
    chains.set(reader, inners);
  }
  return chains;
}

/**
 * Whether one of `reads` sees a variable of `written` other than as the variable itself (read
 * element by element before the kernel writes it) or an update's result (a statement of the kernel):
 * through a view, which the kernel's writes would change under it.
 */
function readsAView(reads: SymbolicTensor[], written: Set<Node>, updates: Node[]): boolean {
  return reads.some((t) => {
    const v = variableBehind(t);
    return v !== undefined && written.has(v) && t.node !== v && !updates.includes(t.node);
  });
}

function mayChain(inner: Node, ig: Group, reader: Node, readerMembers: Set<Node>, variables: Set<Node>, info: GraphInfo, keep: Set<string>): boolean {
  const variable = inner.inputs[0].node;
  if (variables.has(variable) || keep.has(inner.name) || !info.onlyDataConsumers(inner)) return false;
  if (!info.dataConsumers.get(inner)!.every((c) => readerMembers.has(c))) return false;
  if (!shapesEqual(variable.outputs[0].shape, reader.inputs[0].shape)) return false;
  const from = info.position.get(inner)!;
  const to = info.position.get(reader)!;
  if (![...externalReads(ig), inner.inputs[0]].every((t) => info.readMayMove(t, from, to))) return false;
  for (let p = from + 1; p <= to; p++) {
    const n = info.graph.nodes[p];
    if (n.inputs.some((t) => variableBehind(t) === variable && !(t.node === inner && readerMembers.has(n)))) return false;
  }
  return true;
}

/**
 * The fusedAssign of an update, its group and the updates chained into it: each chained update's
 * program, then the update's own; each program computes its value, then combines it with the old one
 * (assignAdd, assignSub). Returns the new values: the update's variable's, then the chained ones'.
 */
export function fusedUpdate(update: Node, updated: Map<Node, Group>, chained: Node[], rb: Rebuild): SymbolicTensor[] {
  const variable = update.inputs[0];
  const program = new ProgramBuilder(variable);
  const valueOf = (u: Node): number => {
    const v = u.inputs[0];
    const step = program.addGroup(updated.get(u)!);
    const kind = def(u).assignment;
    if (kind === 'add' || kind === 'sub') return program.push({ op: kind, attrs: {}, args: [program.ref(v), { step }] }, u.output(0));
    return program.name(u.output(0), step);
  };
  const updates: FusedUpdate[] = chained.map((u) => ({ step: valueOf(u), input: (program.ref(u.inputs[0]) as { input: number }).input }));
  valueOf(update);
  const absorbed = new Set<Node>([update, ...chained].flatMap((u) => [u, ...updated.get(u)!.members]));
  const attrs: Attrs = { program: programAttr(program.statements) };
  if (updates.length) attrs.updates = updates.map((u) => ({ input: u.input, step: u.step }));
  const fused = rb.add('fusedAssign', [rb.tensor(variable), ...program.inputs.map((t) => rb.tensor(t))], attrs, update.name, absorbedControls(absorbed, rb));
  return fused.outputTensors;
}
