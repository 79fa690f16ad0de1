import { functionAttrs } from '../function';
import type { Graph, Node } from '../graph';
import { getOpDef } from '../registry';
import { shapeToString } from '../shape';

/** Graphviz DOT of a graph: data edges solid and labelled with the tensor's type, control edges dashed. */
export function toDot(graph: Graph, options: { title?: string } = {}): string {
  // DOT escapes: backslash and quote, and a line break as DOT's own `\n` (centred line)
  const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  const style = (n: Node): string => {
    switch (n.op) {
      case 'placeholder':
        return 'shape=ellipse, style=filled, fillcolor="#cfe8ff"';
      case 'variable':
        return 'shape=box, style="filled,rounded", fillcolor="#ffe9b3"';
      case 'const':
        return 'shape=note, style=filled, fillcolor="#eeeeee"';
      default:
        if (getOpDef(n.op).assignment) return 'shape=box, style=filled, fillcolor="#ffd0c8"';
        return n.op.startsWith('fused') ? 'shape=box, style=filled, fillcolor="#d8f5d0"' : 'shape=box';
    }
  };
  const lines = [
    'digraph graphc {',
    '  rankdir=TB;',
    '  node [fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=8, color="#555555"];',
  ];
  if (options.title) lines.push(`  label=${quote(options.title)}; labelloc=t;`);
  /**
   * One graph's nodes and edges, ids prefixed so a function body's nodes stay apart; each body a
   * node calls (a whileLoop's, a cond's branches) is a cluster of its own beside the node, its
   * results joined to the node by dotted edges.
   */
  const emit = (g: Graph, prefix: string, indent: string): void => {
    const id = (n: Node): string => `${prefix}n${n.id}`;
    for (const n of g.nodes) {
      const label = [n.name, n.op, ...n.outputs.map((o) => `${o.dtype} ${shapeToString(o.shape)}`)].join('\n');
      lines.push(`${indent}${id(n)} [label=${quote(label)}, ${style(n)}];`);
    }
    for (const n of g.nodes) {
      for (const i of n.inputs) lines.push(`${indent}${id(i.node)} -> ${id(n)} [label=${quote(shapeToString(i.shape))}];`);
      for (const c of n.controlInputs) lines.push(`${indent}${id(c)} -> ${id(n)} [style=dashed, color="#999999"];`);
      for (const { attr, fn } of functionAttrs(n)) {
        const inner = `${id(n)}_${attr.replace(/\W/g, '_')}_`;
        lines.push(`${indent}subgraph cluster_${inner} {`, `${indent}  label=${quote(`${n.name}: ${attr}`)}; style=dashed; color="#888888";`);
        emit(fn.graph, inner, `${indent}  `);
        lines.push(`${indent}}`);
        for (const out of fn.outputs) lines.push(`${indent}${inner}n${out.node.id} -> ${id(n)} [style=dotted, color="#888888"];`);
      }
    }
  };
  emit(graph, '', '  ');
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
