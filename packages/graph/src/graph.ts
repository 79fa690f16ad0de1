import { DType, isDType } from './dtype';
import { GraphError, ShapeError } from './errors';
import type { Attrs, OutputInfo } from './opdef';
import { getOpDef } from './registry';
import { Shape, shapeToString } from './shape';
import { TensorValue, isTensorValue, tensor as makeTensor } from './tensor';

export type AttrValue =
  | number
  | string
  | boolean
  | null
  | (number | null)[]
  | string[]
  | TensorValue
  // structured JSON attrs (a fused op's program): saved in model.json as they are
  | AttrValue[]
  | { [key: string]: AttrValue };

/** A symbolic value: output `index` of `node`. Nothing is computed until a Session runs it. */
export class SymbolicTensor {
  constructor(
    readonly node: Node,
    readonly index: number,
  ) {}
  get graph(): Graph {
    return this.node.graph;
  }
  get dtype(): DType {
    return this.node.outputs[this.index].dtype;
  }
  get shape(): Shape {
    return this.node.outputs[this.index].shape;
  }
  get rank(): number {
    return this.shape.length;
  }
  /** `node` for output 0, `node:i` otherwise (TensorFlow's convention). */
  get name(): string {
    return this.index === 0 ? this.node.name : `${this.node.name}:${this.index}`;
  }
  toString(): string {
    return `SymbolicTensor(${this.name}, ${this.dtype}, ${shapeToString(this.shape)})`;
  }
}

export class Node {
  /** One SymbolicTensor per output, created once so tensors compare by identity. */
  readonly outputTensors: SymbolicTensor[];
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly name: string,
    readonly op: string,
    readonly attrs: Attrs,
    readonly inputs: SymbolicTensor[],
    readonly controlInputs: Node[],
    readonly outputs: OutputInfo[],
  ) {
    this.outputTensors = outputs.map((_, i) => new SymbolicTensor(this, i));
  }
  output(index = 0): SymbolicTensor {
    const t = this.outputTensors[index];
    if (!t) throw new GraphError(`node '${this.name}' (op '${this.op}') has no output ${index}`);
    return t;
  }
  toString(): string {
    return `Node(${this.name}: ${this.op})`;
  }
}

/** Anything an op accepts as an input: a symbolic tensor, or a constant (number, array, value). */
export type TensorLike = SymbolicTensor | number | boolean | number[] | TensorValue;

/** Either form of "something to run": a tensor (fetches its value) or a node (runs it for effect). */
export type Fetchable = SymbolicTensor | Node;

let defaultGraph: Graph | null = null;

/**
 * The graph that ops with no tensor inputs (zeros, range, randomNormal, ...) are added to: the one
 * inside the innermost `asDefault` scope, else the most recently created Graph.
 */
export function getDefaultGraph(): Graph {
  defaultGraph ??= new Graph();
  return defaultGraph;
}

export interface AddNodeOptions {
  name?: string;
  controlInputs?: Node[];
  /**
   * The outputs inference gives, known already: a pass copying a node whose op, attrs and input
   * types did not change (the passes' verifier checks them again under GRAPHC_VERIFY_PASSES=1).
   */
  inferred?: OutputInfo[];
}

/**
 * A symbolic computation graph. Nodes are added in topological order (an input must exist before
 * its consumer), shapes and dtypes are inferred as each node is added, and names are unique.
 */
export class Graph {
  readonly nodes: Node[] = [];
  private readonly byName = new Map<string, Node>();
  /** Per base name, the first numeric suffix `uniqueName` has not yet handed out. */
  private readonly nextSuffix = new Map<string, number>();
  private nextId = 0;
  private readonly scopeStack: string[] = [];
  private readonly controlStack: Node[][] = [];
  /** Variable node name -> the assign node that initializes it. */
  readonly variableInitializers = new Map<string, Node>();
  /** Free-form metadata saved with the model (signature, training setup, producer). */
  readonly metadata: Record<string, unknown> = {};

  /** A new graph becomes the default graph unless `makeDefault` is false (passes build such graphs). */
  constructor(options: { makeDefault?: boolean } = {}) {
    if (options.makeDefault !== false) defaultGraph = this;
  }

  /** Runs `fn` with this graph as the default graph, restoring the previous one after. */
  asDefault<T>(fn: () => T): T {
    const prev = defaultGraph;
    defaultGraph = this;
    try {
      return fn();
    } finally {
      defaultGraph = prev;
    }
  }

  /** Prefixes names of nodes created inside `fn` with `scope/`. */
  nameScope<T>(scope: string, fn: () => T): T {
    this.scopeStack.push(scope);
    try {
      return fn();
    } finally {
      this.scopeStack.pop();
    }
  }

  /** Nodes created inside `fn` run only after every node in `deps` (TensorFlow's control_dependencies). */
  controlDependencies<T>(deps: Fetchable[], fn: () => T): T {
    this.controlStack.push(deps.map((d) => (d instanceof Node ? d : d.node)));
    try {
      return fn();
    } finally {
      this.controlStack.pop();
    }
  }

  /** A name not yet used in this graph: `base`, else `base_1`, `base_2`, ... */
  uniqueName(base: string): string {
    const scoped = this.scopeStack.length ? `${this.scopeStack.join('/')}/${base}` : base;
    if (!this.byName.has(scoped)) return scoped;
    // names are never removed, so suffixes below the last one handed out stay taken: start there
    // (scanning from 1 made building an n-node graph of one op quadratic)
    for (let i = this.nextSuffix.get(scoped) ?? 1; ; i++) {
      const candidate = `${scoped}_${i}`;
      if (!this.byName.has(candidate)) {
        this.nextSuffix.set(scoped, i + 1);
        return candidate;
      }
    }
  }

  /**
   * Adds one node: checks the op and its inputs, infers its outputs (a ShapeError or DTypeError here
   * names the node), and applies enclosing control-dependency scopes.
   */
  addNode(op: string, inputs: SymbolicTensor[], attrs: Attrs = {}, options: AddNodeOptions = {}): Node {
    const def = getOpDef(op);
    const name = options.name !== undefined ? this.claimName(options.name) : this.uniqueName(op);
    const where = `op '${op}' (node '${name}'): `;
    if (def.numInputs !== 'variadic' && inputs.length !== def.numInputs) {
      throw new GraphError(`${where}expects ${def.numInputs} inputs, got ${inputs.length}`);
    }
    for (const input of inputs) {
      if (!(input instanceof SymbolicTensor)) throw new GraphError(`${where}an input is not a tensor of a graph`);
    }
    inputs = inputs.map((input) => (input.graph === this ? input : this.adopt(input, where)));
    const outputs = options.inferred ?? def.infer({ inputs: inputs.map((t) => ({ dtype: t.dtype, shape: t.shape })), attrs, where });
    const control = new Set<Node>(options.controlInputs ?? []);
    for (const deps of this.controlStack) for (const d of deps) control.add(d);
    const node = new Node(this, this.nextId++, name, op, attrs, inputs, [...control], outputs);
    this.nodes.push(node);
    this.byName.set(name, node);
    return node;
  }

  /** Whether `g` is an enclosing graph whose tensors this one captures (only a FunctionGraph's outer graphs). */
  encloses(_g: Graph): boolean {
    return false;
  }

  /** A tensor of another graph used as an input here: an error, except in a FunctionGraph (which captures it). */
  protected adopt(input: SymbolicTensor, where: string): SymbolicTensor {
    throw new GraphError(`${where}input '${input.name}' belongs to another graph`);
  }

  /** Reserves an explicit name; a taken name gets a numeric suffix, as TensorFlow does. */
  private claimName(requested: string): string {
    if (!/^[A-Za-z0-9_.\-/]+$/.test(requested)) {
      throw new GraphError(`node name '${requested}' may hold only letters, digits, '_', '.', '-' and '/'`);
    }
    return this.uniqueName(requested);
  }

  /** The node called `name`; throws naming it if there is none. */
  node(name: string): Node {
    const n = this.byName.get(name);
    if (!n) throw new GraphError(`graph has no node '${name}'`);
    return n;
  }

  hasNode(name: string): boolean {
    return this.byName.has(name);
  }

  /** A tensor by TensorFlow-style name: `node` or `node:index`. */
  tensor(name: string): SymbolicTensor {
    const m = /^(.*?)(?::(\d+))?$/.exec(name)!;
    const node = this.byName.get(name) ?? this.node(m[1]);
    return node.output(node.name === name ? 0 : Number(m[2] ?? 0));
  }

  // ---- sources -----------------------------------------------------------------------------

  /** A value fed at run time. `null` in `shape` marks a dimension known only then. */
  placeholder(dtype: DType, shape: Shape, name?: string): SymbolicTensor {
    if (!isDType(dtype)) throw new GraphError(`placeholder: unknown dtype '${String(dtype)}'`);
    if (!Array.isArray(shape) || !shape.every((d) => d === null || (Number.isInteger(d) && d >= 0))) {
      throw new ShapeError(`placeholder '${name ?? ''}': shape must be an array of non-negative integers or null`);
    }
    return this.addNode('placeholder', [], { dtype, shape: [...shape] }, { name: name ?? 'placeholder' }).output();
  }

  /** A constant tensor stored in the graph (and in the model's weights file when saved). */
  constant(value: TensorValue | number | number[], name?: string, dtype?: DType): SymbolicTensor {
    const v = isTensorValue(value) ? value : makeTensor(value, undefined, dtype ?? 'float32');
    return this.addNode('const', [], { value: v }, { name: name ?? 'const' }).output();
  }

  /**
   * A variable: state that persists across session runs, initialized by running
   * `globalVariablesInitializer()` (or its own initializer). `init` is a value or a tensor to
   * evaluate once (e.g. a seeded random op).
   */
  variable(
    init: TensorValue | SymbolicTensor | number[] | number,
    name?: string,
    options: { trainable?: boolean; dtype?: DType } = {},
  ): SymbolicTensor {
    const initTensor =
      init instanceof SymbolicTensor ? init : this.constant(init as TensorValue, `${name ?? 'Variable'}/initial_value`, options.dtype);
    if (!initTensor.shape.every((d) => d !== null)) {
      throw new ShapeError(`variable '${name ?? ''}': initial value must have a fully known shape, got ${shapeToString(initTensor.shape)}`);
    }
    const v = this.addNode(
      'variable',
      [],
      { dtype: initTensor.dtype, shape: [...initTensor.shape], trainable: options.trainable ?? true },
      { name: name ?? 'Variable' },
    );
    const assign = this.addNode('assign', [v.output(), initTensor], {}, { name: `${v.name}/Assign` });
    this.variableInitializers.set(v.name, assign);
    return v.output();
  }

  /** All variable nodes, in creation order. */
  variables(): SymbolicTensor[] {
    return this.nodes.filter((n) => n.op === 'variable').map((n) => n.output());
  }

  trainableVariables(): SymbolicTensor[] {
    return this.nodes.filter((n) => n.op === 'variable' && n.attrs.trainable !== false).map((n) => n.output());
  }

  /** One op that initializes every variable created so far. */
  globalVariablesInitializer(): Node {
    const inits = [...this.variableInitializers.values()];
    return this.addNode('noOp', [], {}, { name: 'init', controlInputs: inits });
  }

  /** Placeholders, in creation order. */
  placeholders(): SymbolicTensor[] {
    return this.nodes.filter((n) => n.op === 'placeholder').map((n) => n.output());
  }

  /** Consumers of each node, computed on demand (the graph is append-only while building). */
  consumers(): Map<Node, Node[]> {
    const out = new Map<Node, Node[]>();
    for (const n of this.nodes) out.set(n, []);
    for (const n of this.nodes) {
      for (const i of n.inputs) out.get(i.node)!.push(n);
      for (const c of n.controlInputs) out.get(c)!.push(n);
    }
    return out;
  }
}

/**
 * The graph a list of op inputs belongs to (the first symbolic one), else the default graph. Inside
 * a function body being traced (the default graph then), ops on outer tensors join the body, which
 * captures those tensors, as tf.while_loop and tf.cond do.
 */
export function graphOf(inputs: readonly unknown[]): Graph {
  const current = getDefaultGraph();
  for (const i of inputs) if (i instanceof SymbolicTensor) return current.encloses(i.graph) ? current : i.graph;
  return current;
}

/** Turns a constant-like input into a `const` node of `graph`, matching `dtype` when given. */
export function toSymbolic(graph: Graph, value: TensorLike, dtype?: DType): SymbolicTensor {
  if (value instanceof SymbolicTensor) return value;
  if (isTensorValue(value)) return graph.constant(value);
  if (typeof value === 'boolean') return graph.constant(makeTensor([value ? 1 : 0], [], 'bool'));
  const v = typeof value === 'number' ? makeTensor([value], [], dtype ?? 'float32') : makeTensor(value, undefined, dtype ?? 'float32');
  return graph.constant(v);
}
