import { Node, Shape, epilogueFusionOf, programAttr, shapesEqual } from '@graphc/graph';
import { GraphInfo, def } from '../analysis';
import { Rebuild } from '../rebuild';
import { chainUpdates, findUpdate, fusedUpdate } from './fuse-updates';
import { Group, ProgramBuilder, absorbedControls } from './fused-program';
import type { GraphPass } from './pass';

/** An op the fusion pass may put into a fused program: pointwise, pure, one output, at most 3 inputs (a, b, c). */
function fusable(n: Node): boolean {
  const d = def(n);
  return d.elementwise !== undefined && !d.stateful && typeof d.numInputs === 'number' && d.numInputs <= 3 && n.outputs.length === 1;
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
 * one `fusedAssign` computes the value and writes the variable in place, under the update's name;
 * updates only such a group reads join it (fuse-updates.ts).
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
    if (skip.size === 0 && anchors === 0) return { graph, stats: { groups: 0, fusedOps: 0, anchors: 0, updates: 0, chained: 0 } };
    const chains = chainUpdates(updated, info, ctx.keep);
    const chained = [...chains.values()].flat();
    for (const u of chained) skip.add(u);
    const rb = new Rebuild(graph);
    let fusedGroups = 0;
    for (const n of graph.nodes) {
      if (skip.has(n)) continue;
      if (updated.has(n)) {
        const inners = chains.get(n) ?? [];
        const values = fusedUpdate(n, updated, inners, rb);
        [n, ...inners].forEach((u, k) => rb.replace(u, [values[k]]));
        fusedGroups++;
        continue;
      }
      const g = groups.get(n);
      if (!g || (g.members.length < 2 && !g.anchor)) {
        rb.copy(n);
        continue;
      }
      const program = new ProgramBuilder(g.anchor?.output(0));
      program.addGroup(g);
      const { statements, inputs } = program;
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
    return { graph: rb.finish(), stats: { groups: fusedGroups, fusedOps, anchors, updates: updated.size - chained.length, chained: chained.length } };
  },
};

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
