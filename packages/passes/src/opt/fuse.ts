import { FusedRef, FusedStatement, Node, Shape, SymbolicTensor, epilogueFusionOf, programAttr, shapesEqual } from '@graphc/graph';
import { GraphInfo, def, variableBehind } from '../analysis';
import { Rebuild } from '../rebuild';
import type { GraphPass } from './pass';

/** An op the fusion pass may put into a fused program: pointwise, pure, one output, at most 3 inputs (a, b, c). */
function fusable(n: Node): boolean {
  const d = def(n);
  return d.elementwise !== undefined && !d.stateful && typeof d.numInputs === 'number' && d.numInputs <= 3 && n.outputs.length === 1;
}

interface Group {
  root: Node;
  /** In graph order; the root is last. */
  members: Node[];
  anchor?: Node;
  /** The update (assign, assignAdd, assignSub) the group's value feeds, when it runs inside it. */
  update?: Node;
}

/**
 * Operation folding. Elementwise ops are grouped backwards from each group's last op (its root): an
 * op joins the group of its consumers when all of them are in one group, it is not kept, nothing
 * waits on it through a control edge, and it has the root's shape (so nothing is recomputed per
 * broadcast element). The fused node waits on the control inputs of every op it absorbs. A group
 * of two or more ops becomes one `fusedElementwise` node. When the group (even a single op) reads the
 * result of an op with a registered epilogue variant (matmul, conv2d, depthwiseConv2d) that nothing
 * else reads, that op joins as the anchor: `relu(matmul(x, W) + b)` becomes one `fusedMatmul`.
 * The fused node takes the root's name, so fetches and consumers see the same tensor. When the
 * group's value (even of a single op) only feeds an update of a variable that it reads, such as
 * Adam's `assign(m, b1 * m + (1 - b1) * g)` or `assignSub(v, lr * g)`, the update absorbs the group:
 * one `fusedAssign` computes the value and writes the variable in place, under the update's name.
 */
export const fusePass: GraphPass = {
  name: 'fuse',
  run(graph, ctx) {
    const info = new GraphInfo(graph);
    const pos = (n: Node): number => info.position.get(n)!;
    const rootOf = new Map<Node, Node>();
    for (let i = graph.nodes.length - 1; i >= 0; i--) {
      const n = graph.nodes[i];
      if (!fusable(n)) continue;
      let root = n;
      const consumers = info.dataConsumers.get(n)!;
      if (!ctx.keep.has(n.name) && info.onlyDataConsumers(n) && consumers.length > 0) {
        const roots = new Set(consumers.map((c) => rootOf.get(c)));
        const r = roots.size === 1 ? [...roots][0] : undefined;
        if (r && shapesEqual(n.outputs[0].shape, r.outputs[0].shape) && n.inputs.every((t) => info.readMayMove(t, pos(n), pos(r)))) root = r;
      }
      rootOf.set(n, root);
    }
    const groups = new Map<Node, Group>();
    for (const n of graph.nodes) {
      const r = rootOf.get(n);
      if (!r) continue;
      let g = groups.get(r);
      if (!g) groups.set(r, (g = { root: r, members: [] }));
      g.members.push(n);
    }
    const skip = new Set<Node>();
    const updated = new Map<Node, Group>();
    let anchors = 0;
    let fusedOps = 0;
    for (const g of groups.values()) {
      g.anchor = findAnchor(g, info, ctx.keep, rootOf);
      if (g.anchor) anchors++;
      else g.update = findUpdate(g, info, ctx.keep);
      if (g.update) {
        updated.set(g.update, g);
        for (const m of g.members) skip.add(m);
        fusedOps += g.members.length + 1;
        continue;
      }
      if (g.members.length < 2 && !g.anchor) continue;
      for (const m of g.members) if (m !== g.root) skip.add(m);
      if (g.anchor) skip.add(g.anchor);
      fusedOps += g.members.length + (g.anchor ? 1 : 0);
    }
    if (skip.size === 0 && anchors === 0) return { graph, stats: { groups: 0, fusedOps: 0, anchors: 0, updates: 0 } };
    const rb = new Rebuild(graph);
    let fusedGroups = 0;
    for (const n of graph.nodes) {
      if (skip.has(n)) continue;
      const u = updated.get(n);
      if (u) {
        rb.replace(n, [fusedUpdate(u, rb)]);
        fusedGroups++;
        continue;
      }
      const g = groups.get(n);
      if (!g || (g.members.length < 2 && !g.anchor)) {
        rb.copy(n);
        continue;
      }
      const { statements, inputs } = buildProgram(g);
      const mapped = inputs.map((t) => rb.tensor(t));
      // the fused node waits for everything any of its ops waited for
      const controls = absorbedControls(new Set<Node>([...g.members, ...(g.anchor ? [g.anchor] : [])]), rb);
      const fused = g.anchor
        ? rb.add(
            epilogueFusionOf(g.anchor.op)!,
            [...g.anchor.inputs.map((t) => rb.tensor(t)), ...mapped],
            { ...g.anchor.attrs, epilogue: programAttr(statements) },
            n.name,
            controls,
          )
        : rb.add('fusedElementwise', mapped, { program: programAttr(statements) }, n.name, controls);
      rb.replace(n, fused.outputTensors);
      fusedGroups++;
    }
    return { graph: rb.finish(), stats: { groups: fusedGroups, fusedOps, anchors, updates: updated.size } };
  },
};

/** The controls a fused node keeps: every control input of the ops it absorbs, but none of those ops. */
function absorbedControls(absorbed: Set<Node>, rb: Rebuild): Node[] {
  return rb.controls([...absorbed].flatMap((m) => m.controlInputs).filter((c) => !absorbed.has(c)));
}

/**
 * The update a group may run inside: the one node reading the group's value is an assign, assignAdd
 * or assignSub of a variable the program reads (so the kernel reads each element before writing it),
 * no other view of that variable is read (it would change under the kernel's writes), and no write
 * of a variable the group reads lies between the group and the update.
 */
function findUpdate(g: Group, info: GraphInfo, keep: Set<string>): Node | undefined {
  const root = g.root;
  const consumers = info.dataConsumers.get(root)!;
  if (keep.has(root.name) || !info.onlyDataConsumers(root) || consumers.length !== 1) return undefined;
  const update = consumers[0];
  const kind = def(update).assignment;
  if ((kind !== 'replace' && kind !== 'add' && kind !== 'sub') || update.inputs[1].node !== root || update.inputs[0].node === root) return undefined;
  const variable = update.inputs[0];
  if (variableBehind(variable) !== variable.node) return undefined;
  const members = new Set(g.members);
  const reads = g.members.flatMap((m) => m.inputs.filter((t) => !members.has(t.node)));
  const isVariable = (t: SymbolicTensor): boolean => t.node === variable.node && t.index === variable.index;
  if (reads.some((t) => !isVariable(t) && variableBehind(t) === variable.node)) return undefined;
  if (kind === 'replace' && !reads.some(isVariable)) return undefined;
  const from = info.position.get(root)!;
  const to = info.position.get(update)!;
  return reads.every((t) => info.readMayMove(t, from, to)) ? update : undefined;
}

/** The fusedAssign of an update and its group: the program computes the value, then combines it with the old one. */
function fusedUpdate(g: Group, rb: Rebuild): SymbolicTensor {
  const update = g.update!;
  const variable = update.inputs[0];
  const { statements, inputs } = buildProgram(g, variable);
  const kind = def(update).assignment;
  if (kind === 'add' || kind === 'sub') statements.push({ op: kind, attrs: {}, args: [{ input: 0 }, { step: statements.length - 1 }] });
  const controls = absorbedControls(new Set([...g.members, update]), rb);
  const fused = rb.add('fusedAssign', [rb.tensor(variable), ...inputs.map((t) => rb.tensor(t))], { program: programAttr(statements) }, update.name, controls);
  return fused.output(0);
}

/** The anchor of a group: an op with an epilogue variant whose only readers are the group's ops. */
function findAnchor(g: Group, info: GraphInfo, keep: Set<string>, rootOf: Map<Node, Node>): Node | undefined {
  const out = g.root.outputs[0];
  for (const m of g.members) {
    for (const t of m.inputs) {
      const a = t.node;
      if (t.index !== 0 || a.outputs.length !== 1 || !epilogueFusionOf(a.op) || keep.has(a.name)) continue;
      if (!info.onlyDataConsumers(a) || !info.dataConsumers.get(a)!.every((c) => rootOf.get(c) === g.root)) continue;
      if (a.outputs[0].dtype !== out.dtype || !shapesEqual(a.outputs[0].shape, out.shape)) continue;
      // the epilogue runs in place on the anchor's output: no other input may broadcast it larger
      const extras = g.members.flatMap((m) => m.inputs.filter((i) => i.node !== a && rootOf.get(i.node) !== g.root));
      if (!extras.every((e) => cannotEnlarge(e.shape, a.outputs[0].shape))) continue;
      const from = info.position.get(a)!;
      const to = info.position.get(g.root)!;
      if (!a.inputs.every((i) => info.readMayMove(i, from, to))) continue;
      return a;
    }
  }
  return undefined;
}

/**
 * Whether broadcasting `extra` against `out` surely leaves `out`'s shape: every dim of `extra` is 1
 * or equals a known dim of `out` (two unknown dims may differ at run time).
 */
function cannotEnlarge(extra: Shape, out: Shape): boolean {
  if (extra.length > out.length) return false;
  const offset = out.length - extra.length;
  return extra.every((d, i) => d === 1 || (d !== null && d === out[offset + i]));
}

/**
 * The group as a program: one statement per member in graph order; arguments from outside the group
 * become program inputs, deduplicated. `first` (an anchor's result, an updated variable) is input 0
 * and not among the returned inputs.
 */
function buildProgram(g: Group, first = g.anchor?.output(0)): { statements: FusedStatement[]; inputs: SymbolicTensor[] } {
  const step = new Map<Node, number>();
  const inputs: SymbolicTensor[] = [];
  const inputIndex = new Map<string, number>();
  const key = (t: SymbolicTensor): string => `${t.node.id}:${t.index}`;
  if (first) inputIndex.set(key(first), 0);
  const base = first ? 1 : 0;
  const ref = (t: SymbolicTensor): FusedRef => {
    const s = step.get(t.node);
    if (s !== undefined) return { step: s };
    let k = inputIndex.get(key(t));
    if (k === undefined) {
      k = base + inputs.length;
      inputIndex.set(key(t), k);
      inputs.push(t);
    }
    return { input: k };
  };
  const statements = g.members.map((m, i) => {
    const s: FusedStatement = { op: m.op, attrs: m.attrs, args: m.inputs.map(ref) };
    step.set(m, i);
    return s;
  });
  return { statements, inputs };
}
