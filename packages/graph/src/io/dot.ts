import type { Graph, Node } from '../graph';
import { shapeToString } from '../shape';

/** Graphviz DOT of a graph: data edges solid and labelled with the tensor's type, control edges dashed. */
export function toDot(graph: Graph, options: { title?: string } = {}): string {
  const id = (n: Node): string => `n${n.id}`;
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
      case 'assign':
      case 'assignAdd':
      case 'assignSub':
        return 'shape=box, style=filled, fillcolor="#ffd0c8"';
      default:
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
  for (const n of graph.nodes) {
    const label = [n.name, n.op, ...n.outputs.map((o) => `${o.dtype} ${shapeToString(o.shape)}`)].join('\n');
    lines.push(`  ${id(n)} [label=${quote(label)}, ${style(n)}];`);
  }
  for (const n of graph.nodes) {
    for (const i of n.inputs) lines.push(`  ${id(i.node)} -> ${id(n)} [label=${quote(shapeToString(i.shape))}];`);
    for (const c of n.controlInputs) lines.push(`  ${id(c)} -> ${id(n)} [style=dashed, color="#999999"];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
