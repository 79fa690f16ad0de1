import { GraphError } from './errors';
import { AttrValue, Graph, Node, SymbolicTensor, TensorLike, toSymbolic } from './graph';
import type { Attrs, OutputInfo } from './opdef';
import { getOpDef } from './registry';
import { Shape } from './shape';

/**
 * A graph function: the body of a whileLoop or a branch of a cond, held as a structured attr of the
 * node that calls it (so model.json saves it with the node, and passes copy it untouched). `inputs`
 * name its placeholders in call order; `outputs` name the tensors it returns.
 */
export interface GraphFunction {
  inputs: string[];
  outputs: string[];
  nodes: { name: string; op: string; inputs: string[]; attrs: Attrs }[];
}

/**
 * The graph a function body is traced into. Using a tensor of an enclosing graph (a closure, as in
 * tf.while_loop) captures it: the body gets a placeholder for it, and the caller passes the outer
 * tensor in as an extra input. Captures of captures chain through nested bodies.
 */
export class FunctionGraph extends Graph {
  /** Outer tensor (of `outer`) -> the placeholder standing for it here, in capture order. */
  readonly captures = new Map<SymbolicTensor, SymbolicTensor>();

  constructor(readonly outer: Graph) {
    super({ makeDefault: false });
  }

  protected override adopt(input: SymbolicTensor, where: string): SymbolicTensor {
    if (!this.encloses(input.graph)) return super.adopt(input, where);
    const viaOuter = input.graph === this.outer ? input : (this.outer as FunctionGraph).adopt(input, where);
    let p = this.captures.get(viaOuter);
    if (!p) {
      const name = `capture/${viaOuter.name.replace(/:/g, '_')}`;
      p = this.addNode('placeholder', [], { dtype: viaOuter.dtype, shape: [...viaOuter.shape] }, { name }).output();
      this.captures.set(viaOuter, p);
    }
    return p;
  }

  override encloses(g: Graph): boolean {
    for (let o: Graph | undefined = this.outer; o; o = o instanceof FunctionGraph ? o.outer : undefined) if (o === g) return true;
    return false;
  }
}

/** What tracing a function gives the op that calls it. */
export interface TracedFunction {
  fn: GraphFunction;
  /** Outer tensors the body reads, passed to the op after the declared parameters. */
  captures: SymbolicTensor[];
  outputs: OutputInfo[];
}

/** Ops that only read: all a function body may hold of the stateful ops (it may run any number of times). */
const PURE_STATEFUL = new Set(['placeholder']);

/**
 * Traces `build` into a function of `params` (placeholders named `arg0`, ... unless `names` says)
 * inside `outer`. The body must be pure (see instantiateFunction): it runs any number of times.
 */
export function traceFunction(
  outer: Graph,
  params: OutputInfo[],
  build: (...args: SymbolicTensor[]) => TensorLike[],
  what: string,
  names: string[] = [],
): TracedFunction {
  const g = new FunctionGraph(outer);
  const args = params.map((p, i) => g.addNode('placeholder', [], { dtype: p.dtype, shape: [...p.shape] }, { name: names[i] ?? `arg${i}` }).output());
  const results = g.asDefault(() => build(...args)).map((r) => toSymbolic(g, r));
  return functionOf(g, args, results);
}

/**
 * The function a finished body graph holds: `params` (placeholders of `g`) and then its captures
 * are the inputs, `results` the outputs. For bodies built node by node rather than traced (the
 * ONNX importer translates a Loop body or an If branch into a FunctionGraph this way).
 */
export function functionOf(g: FunctionGraph, params: SymbolicTensor[], results: SymbolicTensor[]): TracedFunction {
  // a result straight from an outer graph is captured through an identity (before captures are read)
  const own = results.map((r) => (r.graph === g ? r : g.addNode('identity', [r]).output()));
  const captured = [...g.captures.values()];
  const fn: GraphFunction = {
    inputs: [...params, ...captured].map((t) => t.node.name),
    outputs: own.map((r) => r.name),
    nodes: g.nodes.map((n) => ({ name: n.name, op: n.op, inputs: n.inputs.map((i) => i.name), attrs: n.attrs })),
  };
  return { fn, captures: [...g.captures.keys()], outputs: own.map((r) => ({ dtype: r.dtype, shape: [...r.shape] })) };
}

/** A function rebuilt as a graph, with its parameter and result tensors. */
export interface FunctionInstance {
  graph: Graph;
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
}

const instances = new WeakMap<object, FunctionInstance>();

/**
 * The graph of a function attr, built once per attr object (inference, kernels and exporters all
 * ask). A malformed attr (a hand-edited model.json) is a GraphError naming `what`, and so is an
 * impure body: variables, assigns and random ops are refused, since a body runs any number of
 * times (a variable used from outside is read once, when the calling op runs: it is captured).
 */
export function instantiateFunction(attr: AttrValue | undefined, what: string): FunctionInstance {
  if (!attr || typeof attr !== 'object' || Array.isArray(attr)) throw new GraphError(`${what}: the function attr is missing or not an object`);
  const cached = instances.get(attr);
  if (cached) return cached;
  const fn = attr as unknown as GraphFunction;
  const names = (l: unknown): l is string[] => Array.isArray(l) && l.every((s) => typeof s === 'string');
  if (!names(fn.inputs) || !names(fn.outputs) || !Array.isArray(fn.nodes)) {
    throw new GraphError(`${what}: a function needs 'inputs' and 'outputs' lists of names and a 'nodes' list`);
  }
  const graph = new Graph({ makeDefault: false });
  try {
    for (const n of fn.nodes) {
      if (!n || typeof n.name !== 'string' || typeof n.op !== 'string' || !names(n.inputs)) throw new GraphError('a node lacks a name, op or inputs list');
      const attrs = n.attrs && typeof n.attrs === 'object' && !Array.isArray(n.attrs) ? n.attrs : {};
      const node = graph.addNode(n.op, n.inputs.map((i) => graph.tensor(i)), attrs, { name: n.name });
      if (node.name !== n.name) throw new GraphError(`node name '${n.name}' is used twice`);
    }
    const impure = graph.nodes.filter((n) => getOpDef(n.op).stateful && !PURE_STATEFUL.has(n.op));
    if (impure.length) {
      throw new GraphError(
        `a function body must be pure, but it holds ${impure.map((n) => `'${n.name}' (${n.op})`).join(', ')}; ` +
          'create variables and random values outside it and use them there (they are captured)',
      );
    }
    const inputs = fn.inputs.map((i) => graph.tensor(i));
    for (const i of inputs) if (i.node.op !== 'placeholder') throw new GraphError(`input '${i.name}' is not a placeholder`);
    const outputs = fn.outputs.map((o) => graph.tensor(o));
    const instance = { graph, inputs, outputs };
    instances.set(attr, instance);
    return instance;
  } catch (e) {
    throw new GraphError(`${what}: ${(e as Error).message}`);
  }
}

/** Whether an attr holds a graph function (inputs, outputs and nodes lists). */
export function isGraphFunction(v: AttrValue | undefined): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && ['inputs', 'outputs', 'nodes'].every((k) => Array.isArray((v as Record<string, unknown>)[k]));
}

/** The graph functions a node calls, by attr name (a whileLoop's body, a cond's two branches). */
export function functionAttrs(node: Node): { attr: string; fn: FunctionInstance }[] {
  return Object.entries(node.attrs)
    .filter(([, v]) => isGraphFunction(v))
    .map(([attr, v]) => ({ attr, fn: instantiateFunction(v, `node '${node.name}' attr '${attr}'`) }));
}

/** The most specific shape both agree on: a dim that differs (or a rank that differs) becomes unknown. */
export function mergeShapes(a: Shape, b: Shape): Shape | null {
  if (a.length !== b.length) return null;
  return a.map((d, i) => (d === b[i] ? d : null));
}
