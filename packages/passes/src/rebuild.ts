import { Attrs, Graph, GraphError, Node, SymbolicTensor, shapesEqual } from '@graphc/graph';

const sameType = (a: SymbolicTensor, b: SymbolicTensor): boolean => a.dtype === b.dtype && shapesEqual(a.shape, b.shape);

/**
 * Builds a pass's output graph while walking the source graph in order: each source node is copied,
 * replaced by tensors of the new graph, or skipped (a fused-away interior node). Inputs are mapped
 * lazily, so a skipped node needs no stand-in unless something still reads it. Shapes and dtypes are
 * re-inferred by `addNode`, so a rewrite that breaks typing fails here, naming the node.
 */
export class Rebuild {
  readonly target = new Graph({ makeDefault: false });
  private readonly outputs = new Map<Node, SymbolicTensor[]>();
  /** The nodes that stand for a source node in control edges (none: edges to it vanish). */
  private readonly standIn = new Map<Node, Node[]>();

  constructor(readonly source: Graph) {}

  /** The new-graph tensor that stands for source tensor `t`. */
  tensor(t: SymbolicTensor): SymbolicTensor {
    const mapped = this.outputs.get(t.node)?.[t.index];
    if (!mapped) throw new GraphError(`pass: '${t.name}' is used after it was removed`);
    return mapped;
  }

  has(node: Node): boolean {
    return this.outputs.has(node);
  }

  /** New-graph control inputs standing for source nodes `nodes` (dropped ones vanish, duplicates merge). */
  controls(nodes: readonly Node[]): Node[] {
    const out = new Set<Node>();
    for (const c of nodes) for (const s of this.standIn.get(c) ?? []) out.add(s);
    return [...out];
  }

  /**
   * Copies `node` with its inputs mapped; parts may be overridden. Where the op, attrs and the inputs'
   * types are the source's, so are the outputs: they are not inferred again (most of a pass's copy).
   */
  copy(node: Node, override: { op?: string; inputs?: SymbolicTensor[]; attrs?: Attrs; controlInputs?: Node[] } = {}): Node {
    const inputs = override.inputs ?? node.inputs.map((i) => this.tensor(i));
    const unchanged = override.op === undefined && override.attrs === undefined && inputs.every((t, k) => sameType(t, node.inputs[k]));
    const copy = this.target.addNode(override.op ?? node.op, inputs, override.attrs ?? node.attrs, {
      name: node.name,
      controlInputs: override.controlInputs ?? this.controls(node.controlInputs),
      inferred: unchanged ? node.outputs : undefined,
    });
    this.outputs.set(node, copy.outputTensors);
    this.standIn.set(node, [copy]);
    return copy;
  }

  /**
   * Makes new-graph `tensors` stand for the outputs of source `node` (it is not copied); control
   * edges to it become edges to `standIn` (by default the producers of `tensors`).
   */
  replace(node: Node, tensors: SymbolicTensor[], standIn: Node[] = [...new Set(tensors.map((t) => t.node))]): void {
    this.outputs.set(node, tensors);
    this.standIn.set(node, standIn);
  }

  /** Adds a new node; its name is `name` when free, else a suffixed one. */
  add(op: string, inputs: SymbolicTensor[], attrs: Attrs, name: string, controlInputs: Node[] = []): Node {
    return this.target.addNode(op, inputs, attrs, { name: this.target.hasNode(name) ? this.target.uniqueName(name) : name, controlInputs });
  }

  /** The finished graph, with the variable initializers and metadata that survived. */
  finish(): Graph {
    for (const [v, assign] of this.source.variableInitializers) {
      const s = this.standIn.get(assign);
      if (s?.length === 1 && this.target.hasNode(v)) this.target.variableInitializers.set(v, s[0]);
    }
    Object.assign(this.target.metadata, this.source.metadata);
    return this.target;
  }
}
