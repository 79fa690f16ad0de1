import * as path from 'path';
import { DType } from '../../dtype';
import { FormatError, GraphcError, UnsupportedOpError } from '../../errors';
import { FunctionGraph, TracedFunction, functionOf, mergeShapes } from '../../function';
import { AttrValue, Graph, Node, SymbolicTensor } from '../../graph';
import type { OutputInfo } from '../../opdef';
import { getOpDef } from '../../registry';
import { Shape, sizeOf } from '../../shape';
import { TensorValue, isTensorValue, tensor } from '../../tensor';
import { reachableNodes } from '../../transform';
import type { LoadedModel } from '../model-json';
import { readFileOrThrow } from '../safe-fs';
import { OnnxAttrs, OnnxNode, OnnxOutput, failAt, makeAttrs, unsupportedAt, valueOf } from './context';
import { MAX_TENSOR_ELEMENTS } from '../../ops/array/dynamic-attrs';
import { AttributeProto, GraphProto, NodeProto, ValueInfoProto, decodeModel, toNumber } from './proto';
import { SEQUENCE_OPS, SequenceHost, TRANSLATION_OPSET, importSequenceNode } from './sequences';
import { DTYPE_TO_ONNX, TensorSource, dtypeOfOnnx, tensorFromProto } from './tensor';

/** Translates one ONNX node; returns one entry per ONNX output. */
export type OnnxHandler = (node: OnnxNode) => OnnxOutput[];

const handlers = new Map<string, OnnxHandler>();

/** The domain of ONNX's training operators (Gradient, and the optimizers Adam, Adagrad, Momentum). */
export const TRAINING_DOMAIN = 'ai.onnx.preview.training';
const DEFAULT_DOMAINS = new Set(['', 'ai.onnx']);

/** Handlers are keyed by op type in the default domain, by `domain:type` in another. */
const handlerKey = (domain: string, type: string): string => (DEFAULT_DOMAINS.has(domain) ? type : `${domain}:${type}`);

/** Registers the translation of one or more ONNX op types (of the default domain, unless `domain` says). */
export function defineOnnxOp(types: string | string[], handler: OnnxHandler, domain = ''): void {
  for (const t of Array.isArray(types) ? types : [types]) handlers.set(handlerKey(domain, t), handler);
}

export function supportedOnnxOps(): string[] {
  return [...handlers.keys(), ...CONTROL_FLOW, ...SEQUENCE_OPS, `${TRAINING_DOMAIN}:Gradient`].sort();
}

/**
 * Symbolic differentiation for the training domain's Gradient op: the gradients of (the sum of) `y`
 * with respect to each x, zeros where y does not depend on it. Autodiff lives in the passes
 * package, which registers it here when it loads.
 */
export type OnnxGradientBuilder = (y: SymbolicTensor, xs: SymbolicTensor[]) => SymbolicTensor[];

let gradientBuilder: OnnxGradientBuilder | undefined;

export function setOnnxGradientBuilder(build: OnnxGradientBuilder | undefined): void {
  gradientBuilder = build;
}

/**
 * Control flow the importer resolves itself rather than through a handler: `If` whose condition is
 * known at import (a constant, or folded from known shapes, as PyTorch's exporter often leaves
 * them) becomes the nodes of the branch taken, and one whose condition is computed at run time a
 * `cond` node; `Loop` becomes a `whileLoop` node (their subgraphs imported as graph functions);
 * `Scan` over a sequence of known length is unrolled, its body imported once per step. A Scan of
 * unknown length is unsupported.
 */
const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan']);
/** Body nodes a Scan may unroll into at most (steps x body nodes): a bigger one is refused, not built. */
const MAX_SCAN_NODES = 100000;
/**
 * Body nodes the Loops and run-time Ifs of one model may import in all: a body is imported again
 * when it changes a carried shape, and so are the bodies inside it, so nesting multiplies the work.
 */
const MAX_BODY_NODES = 100000;
const MAX_SUBGRAPH_DEPTH = 64;

/** The subgraphs of a node's attributes (If's branches; Loop's and Scan's bodies). */
function subgraphsOf(n: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const a of n.attribute ?? []) {
    if (a.g) out.push(a.g);
    for (const g of a.graphs ?? []) out.push(g);
  }
  return out;
}

/** The outer-scope values a subgraph reads: used by its nodes (or returned) but defined nowhere inside it. */
function freeNames(g: GraphProto): Set<string> {
  const defined = new Set<string>([...(g.initializer ?? []).map((t) => t.name ?? ''), ...(g.input ?? []).map((v) => v.name ?? '')]);
  for (const n of g.node ?? []) for (const o of n.output ?? []) defined.add(o);
  const free = new Set<string>();
  const use = (name: string) => {
    if (name && !defined.has(name)) free.add(name);
  };
  for (const n of g.node ?? []) {
    for (const i of n.input ?? []) use(i);
    for (const sub of subgraphsOf(n)) for (const f of freeNames(sub)) use(f);
  }
  for (const o of g.output ?? []) use(o.name ?? '');
  return free;
}

/** A subgraph attribute (If's branches, Loop's body); a FormatError when it is missing. */
function graphAttr(n: NodeProto, name: string, where: string): GraphProto {
  return (n.attribute ?? []).find((a) => a.name === name)?.g ?? failAt(where, `attribute '${name}' (a graph) is missing`);
}

const asAttr = (traced: TracedFunction): AttrValue => traced.fn as unknown as AttrValue;

/** Evaluates one node on concrete inputs: the runtime's CPU kernels, handed in by whoever wires graph and runtime. */
export type ImportEvaluator = (node: Node, inputs: TensorValue[]) => TensorValue[];

let defaultEvaluator: ImportEvaluator | undefined;

/** Lets the importer fold constant subgraphs (Shape -> Gather -> Concat -> Reshape ...) with real kernels. */
export function setOnnxConstantEvaluator(evaluate: ImportEvaluator | undefined): void {
  defaultEvaluator = evaluate;
}

export interface OnnxImportOptions {
  /** Names the model in errors. */
  file?: string;
  /** Folder that external data files must lie in (defaults to the model file's). */
  folder?: string;
  /** Folds subgraphs whose inputs are all known; defaults to the one set by setOnnxConstantEvaluator. */
  evaluate?: ImportEvaluator;
}

/** The ONNX names of a model's inputs and outputs, beside the graph names they got. */
export interface OnnxSignatureNames {
  inputs: Record<string, string>;
  outputs: Record<string, string>;
}

/** Largest tensor folded at import (bigger ones are left to run time). */
const FOLD_LIMIT = 1 << 20;
const OPSET_MIN = 1;
/**
 * The newest opset read. What changed after 18, for the ops graphc imports: 19 AveragePool's
 * dilations, Pad's 'wrap' mode, Resize's half_pixel_symmetric; 20 DFT's axis as an input,
 * GridSample's mode names and ranks, Gelu; 21 GroupNormalization's per-channel scale and bias,
 * QuantizeLinear's output_dtype and block quantization (block_size); 22 bfloat16 (read as float32)
 * only; 23 Attention, RMSNormalization and RotaryEmbedding; 24 Swish, and Attention's
 * nonpad_kv_seqlen and TensorScatter (static caches, not read); 25 2-bit types only. The rest of those versions widened types graphc
 * reads as before (float8, float4, int4, int2 and string ones aside, which are refused by name).
 */
const OPSET_MAX = 25;

/** Node names may hold letters, digits, '_', '.', '-' and '/': anything else becomes '_'. */
export function sanitizeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.\-/]/g, '_');
  return s === '' ? 'unnamed' : s;
}

export interface Known {
  /** The tensor in the model's graph, once materialized. */
  tensor?: SymbolicTensor;
  /** The value, when known at import. */
  value?: TensorValue;
  /**
   * A sequence's elements (sequences.ts): held here, never a graph tensor; `info` and `elemType`
   * then give the elements' type.
   */
  sequence?: Known[];
  /** Static type. */
  info: OutputInfo;
  elemType: number;
}

/**
 * The ONNX values in scope by name: a subgraph's own, then those of the graphs around it (an ONNX
 * subgraph reads outer values by name). A body may shadow an outer name.
 */
class Scope {
  private readonly own = new Map<string, Known>();

  constructor(private readonly enclosing?: Scope) {}

  get(name: string): Known | undefined {
    return this.own.get(name) ?? this.enclosing?.get(name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Whether this scope itself (not an enclosing one) defines `name`. */
  owns(name: string): boolean {
    return this.own.has(name);
  }

  set(name: string, k: Known): void {
    this.own.set(name, k);
  }
}

/** A parameter of a subgraph imported as a function: its type, and the ONNX element type it stands for. */
interface BodyParam {
  info: OutputInfo;
  elemType: number;
}

/** A subgraph imported as a graph function, with the ONNX element types of its results. */
interface ImportedBody {
  traced: TracedFunction;
  elemTypes: number[];
}

/** Loads an .onnx file (external data is read from, and confined to, its folder). */
export async function loadOnnx(file: string, options: OnnxImportOptions = {}): Promise<LoadedModel> {
  const bytes = readFileOrThrow(file, 'model');
  return importOnnx(bytes, { file, folder: path.dirname(file), ...options });
}

/**
 * An ONNX model (ModelProto bytes) as a graph: inputs become placeholders, initializers and Constant
 * nodes constants, and each node the graphc ops its translation emits (NCHW kept). Subgraphs whose
 * inputs are all known are folded here, so Shape-driven shape arithmetic becomes constants when the
 * model's shapes are static; otherwise it runs at run time (`dynamicAttrs`).
 */
export function importOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): LoadedModel {
  const file = options.file ?? 'model.onnx';
  const model = decodeModel(bytes, `model '${file}'`);
  const where = `model '${file}'`;
  let opset = -1;
  for (const o of model.opsetImport ?? []) {
    if (DEFAULT_DOMAINS.has(o.domain ?? '')) opset = toNumber(o.version as never, `${where} opset version`);
  }
  if (opset === -1) {
    const domains = (model.opsetImport ?? []).map((o) => o.domain ?? '');
    // IR version 2 and earlier models may omit opset_import: ONNX reads that as opset 1
    if (domains.length === 0) opset = 1;
    // a model of training operators alone (an optimizer step) has no default-domain node to read one for
    else if (domains.every((d) => d === TRAINING_DOMAIN) && !usesDomain(model.graph?.node ?? [], DEFAULT_DOMAINS)) opset = OPSET_MAX;
    else throw new UnsupportedOpError(`${where} imports no opset of the default ONNX domain (only ${domains.join(', ')})`, []);
  }
  if (opset < OPSET_MIN || opset > OPSET_MAX) {
    throw new UnsupportedOpError(`${where} uses ONNX opset ${opset}; graphc reads opsets ${OPSET_MIN} to ${OPSET_MAX}`, []);
  }
  const importer = new Importer(model.graph!, opset, {
    file,
    folder: options.folder,
    evaluate: options.evaluate ?? defaultEvaluator,
  });
  return importer.run();
}

/** The value a Gradient node differentiates (named by attribute, not an input): it must be computed first. */
function gradientTarget(n: NodeProto): string[] {
  if (n.domain !== TRAINING_DOMAIN || n.opType !== 'Gradient') return [];
  const y = (n.attribute ?? []).find((a) => a.name === 'y');
  const name = y?.s ? new TextDecoder().decode(y.s as Uint8Array) : '';
  return name ? [name] : [];
}

/** Whether any node (in subgraphs too) belongs to one of `domains`. */
function usesDomain(nodes: NodeProto[], domains: ReadonlySet<string>, depth = 0): boolean {
  if (depth > MAX_SUBGRAPH_DEPTH) return true;
  return nodes.some((n) => domains.has(n.domain ?? '') || subgraphsOf(n).some((g) => usesDomain(g.node ?? [], domains, depth + 1)));
}

class Importer {
  private readonly known: Scope;
  /** Body nodes imported so far, shared by the importers of a model and its subgraphs. */
  private readonly work: { bodyNodes: number };
  private readonly source: TensorSource;
  private readonly where: string;

  /**
   * The importer of the model's graph; or, with `enclosing`, of a subgraph (a Loop body, an If
   * branch) into `graph`, a FunctionGraph of the enclosing importer's graph, reading the values in
   * the enclosing scope (their tensors are captured as they are used).
   */
  constructor(
    private readonly proto: GraphProto,
    private readonly opset: number,
    private readonly options: { file: string; folder?: string; evaluate?: ImportEvaluator },
    private readonly graph: Graph = new Graph(),
    enclosing?: { known: Scope; where: string; work: { bodyNodes: number } },
  ) {
    this.source = { file: options.file, folder: options.folder };
    this.where = enclosing?.where ?? `model '${options.file}'`;
    this.known = new Scope(enclosing?.known);
    this.work = enclosing?.work ?? { bodyNodes: 0 };
  }

  run(): LoadedModel {
    const nodes = this.proto.node ?? [];
    this.checkSupported(nodes);
    const names: OnnxSignatureNames = { inputs: {}, outputs: {} };
    for (const init of this.proto.initializer ?? []) {
      const name = init.name ?? '';
      if (!name) failAt(this.where, 'an initializer has no name');
      const value = tensorFromProto(init, this.source, name);
      this.known.set(name, { value, info: { dtype: value.dtype, shape: value.shape }, elemType: init.dataType ?? 0 });
    }
    if ((this.proto.sparseInitializer ?? []).length) throw new UnsupportedOpError(`${this.where}: sparse initializers are not supported`, []);
    const inputs: string[] = [];
    for (const vi of this.proto.input ?? []) {
      const name = vi.name ?? '';
      if (this.known.has(name)) continue; // an initializer listed as an input (IR < 4): a constant here
      const { dtype, shape, elemType } = this.typeOf(vi, `input '${name}'`);
      const p = this.graph.addNode('placeholder', [], { dtype, shape }, { name: sanitizeName(name) });
      this.known.set(name, { tensor: p.output(), info: { dtype, shape }, elemType });
      names.inputs[name] = p.name;
      inputs.push(p.name);
    }
    for (const n of this.sorted(nodes)) this.importNode(n);
    const outputs: string[] = [];
    for (const vi of this.proto.output ?? []) {
      const name = vi.name ?? '';
      const k = this.known.get(name);
      if (!k) failAt(this.where, `graph output '${name}' is not produced by any node, input or initializer`);
      let t = this.materialize(name, k);
      const wanted = sanitizeName(name);
      if (t.name !== wanted) t = this.graph.addNode('identity', [t], {}, { name: wanted }).output();
      names.outputs[name] = t.name;
      outputs.push(t.name);
    }
    const signature = { inputs, outputs };
    this.graph.metadata.signature = signature;
    this.graph.metadata.onnx = { ...names, opset: this.opset } as unknown as Record<string, unknown>;
    return { graph: this.graph, variables: new Map(), signature };
  }

  /** Every op the model uses that graphc cannot translate, found before anything is built. */
  private checkSupported(nodes: NodeProto[]): void {
    const missing = new Set<string>();
    const visit = (list: NodeProto[], depth: number): void => {
      // every later walk over subgraphs recurses as deep: a hostile file must not overflow the stack
      if (depth > MAX_SUBGRAPH_DEPTH) failAt(this.where, `subgraphs are nested more than ${MAX_SUBGRAPH_DEPTH} deep`);
      for (const n of list) {
        const domain = n.domain ?? '';
        const type = n.opType ?? '';
        const key = handlerKey(domain, type);
        if (!DEFAULT_DOMAINS.has(domain)) {
          if (!handlers.has(key) && key !== `${TRAINING_DOMAIN}:Gradient`) missing.add(key);
        } else if (!handlers.has(type) && !CONTROL_FLOW.has(type) && !SEQUENCE_OPS.has(type)) missing.add(type);
        for (const g of subgraphsOf(n)) visit(g.node ?? [], depth + 1);
      }
    };
    visit(nodes, 0);
    if (missing.size) {
      const list = [...missing].sort();
      throw new UnsupportedOpError(`${this.where} uses ONNX ops graphc does not support: ${list.join(', ')}`, list);
    }
  }

  /** Nodes in dependency order (ONNX requires it, but not every writer obeys); cycles and undefined inputs are FormatErrors. */
  private sorted(nodes: NodeProto[]): NodeProto[] {
    const producer = new Map<string, number>();
    nodes.forEach((n, i) => {
      for (const o of n.output ?? []) {
        if (!o) continue;
        if (producer.has(o) || this.known.owns(o)) failAt(this.where, `value '${o}' is produced twice (node '${n.name ?? ''}')`);
        producer.set(o, i);
      }
    });
    const deps = nodes.map((n) =>
      [...(n.input ?? []), ...gradientTarget(n), ...subgraphsOf(n).flatMap((g) => [...freeNames(g)])]
        .filter((i) => i !== '')
        .map((i) => {
          const p = producer.get(i);
          if (p === undefined && !this.known.has(i)) {
            failAt(this.where, `input '${i}' of node '${n.name || n.output?.[0] || n.opType}' (${n.opType}) is not defined by any node, input or initializer`);
          }
          return p;
        })
        .filter((p): p is number => p !== undefined),
    );
    const order: NodeProto[] = [];
    const state = new Uint8Array(nodes.length); // 0 new, 1 on stack, 2 done
    for (let start = 0; start < nodes.length; start++) {
      if (state[start]) continue;
      // iterative DFS: hostile files must not overflow the stack
      const stack: [number, number][] = [[start, 0]];
      state[start] = 1;
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [i, k] = top;
        if (k < deps[i].length) {
          top[1]++;
          const d = deps[i][k];
          if (state[d] === 1) failAt(this.where, `nodes form a cycle through '${nodes[d].name || nodes[d].output?.[0]}' (${nodes[d].opType})`);
          if (state[d] === 0) {
            state[d] = 1;
            stack.push([d, 0]);
          }
        } else {
          state[i] = 2;
          order.push(nodes[i]);
          stack.pop();
        }
      }
    }
    return order;
  }

  private typeOf(vi: ValueInfoProto, what: string): { dtype: DType; shape: Shape; elemType: number } {
    const tt = vi.type?.tensorType;
    if (!tt) throw new UnsupportedOpError(`${this.where}: ${what} is not a tensor (sequences, maps and optionals are not supported)`, []);
    const elemType = tt.elemType ?? 0;
    const dtype = dtypeOfOnnx(elemType, `${this.where}: ${what}`);
    const dims = tt.shape?.dim ?? [];
    const shape: Shape = dims.map((d, i) => {
      if (d.dimValue === null || d.dimValue === undefined || d.dimParam) return null;
      const v = toNumber(d.dimValue as never, `${this.where}: ${what} dimension ${i}`);
      if (!Number.isSafeInteger(v) || v < 0) failAt(this.where, `${what} has dimension ${i} of ${v}`);
      return v;
    });
    if (!tt.shape) {
      throw new UnsupportedOpError(`${this.where}: ${what} has no declared rank (graphc needs the rank of every input)`, []);
    }
    const known = shape.filter((d): d is number => d !== null);
    if (known.length && sizeOf(known) > MAX_TENSOR_ELEMENTS) {
      failAt(this.where, `${what} declares ${sizeOf(known)} elements, more than graphc allows in one tensor (${MAX_TENSOR_ELEMENTS})`);
    }
    return { dtype, shape, elemType };
  }

  /**
   * The tensor of an ONNX value, adding a const node for a known value on first use. In a body, an
   * outer value known at import becomes a const of the body (the outer graph keeps its own entry);
   * an outer tensor is returned as it is, and captured when a body node uses it.
   */
  private materialize(name: string, k: Known, where = this.where): SymbolicTensor {
    if (k.sequence) {
      throw new UnsupportedOpError(`${where}: '${name}' is a sequence; graphc holds sequences at import only, so one cannot be a graph output or pass into or out of a Loop, If or Scan`, []);
    }
    if (k.tensor) return k.tensor;
    const t = this.graph.addNode('const', [], { value: k.value! }, { name: sanitizeName(name) }).output();
    if (this.known.owns(name)) k.tensor = t;
    else this.known.set(name, { ...k, tensor: t });
    return t;
  }

  /**
   * Translates one node into the graph. `on behalf` of a sequence op (which rewrites to ordinary
   * ops on its elements), errors name that node and the translation reads TRANSLATION_OPSET.
   */
  private importNode(n: NodeProto, onBehalf?: { where: string }): void {
    const type = n.opType ?? '';
    const label = n.name || n.output?.find((o) => o) || type;
    const where = onBehalf?.where ?? `${this.where}: node '${label}' (${type})`;
    if (n.domain === TRAINING_DOMAIN && type === 'Gradient') return this.importGradient(n, where);
    if (type === 'If') return this.importIf(n, where);
    if (type === 'Loop') return this.importLoop(n, where);
    if (type === 'Scan') return this.importScan(n, where);
    if (SEQUENCE_OPS.has(type)) return importSequenceNode(this.sequenceHost(n, where), n);
    const inputNames = n.input ?? [];
    const outputNames = n.output ?? [];
    const ins: (Known | undefined)[] = inputNames.map((i) => (i === '' ? undefined : this.known.get(i)!));
    ins.forEach((k, i) => {
      if (k?.sequence) unsupportedAt(where, type, `input ${i} ('${inputNames[i]}') is a sequence; only the sequence ops take one`);
    });
    const scratch = new Graph({ makeDefault: false });
    const scratchInputs = new Map<Node, number>();
    const inputTensors: (SymbolicTensor | undefined)[] = ins.map((k, i) => {
      if (!k) return undefined;
      const node = k.value
        ? scratch.addNode('const', [], { value: k.value }, { name: `input${i}` })
        : scratch.addNode('placeholder', [], { dtype: k.info.dtype, shape: [...k.info.shape] }, { name: `input${i}` });
      scratchInputs.set(node, i);
      return node.output();
    });
    const elemTypes: (number | undefined)[] = [];
    const attrs: OnnxAttrs = makeAttrs(n.attribute ?? [], where, this.source);
    const ctx: OnnxNode = {
      type,
      name: label,
      opset: onBehalf ? TRANSLATION_OPSET : this.opset,
      inputCount: inputNames.length,
      outputCount: outputNames.length,
      graph: scratch,
      has: (i) => ins[i] !== undefined,
      input: (i) => inputTensors[i] ?? failAt(where, `input ${i} is required`),
      value: (i) => ins[i]?.value,
      numbers: (i) => {
        const v = ins[i]?.value;
        return v ? Array.from(v.data as ArrayLike<number>) : undefined;
      },
      info: (i) => ins[i]?.info ?? failAt(where, `input ${i} is required`),
      elemType: (i) => ins[i]?.elemType ?? failAt(where, `input ${i} is required`),
      setElemType: (o, t) => {
        elemTypes[o] = t;
      },
      attr: attrs,
      op: (op, inputs, a = {}) => ctx.node(op, inputs, a).output(0),
      node: (op, inputs, a = {}) => scratch.addNode(op, inputs, a as Record<string, AttrValue>, { name: op }),
      constant: (v, dtype) => scratch.addNode('const', [], { value: valueOf(v, dtype) }, { name: 'const' }).output(),
      fail: (message) => failAt(where, message),
      unsupported: (message) => unsupportedAt(where, type, message),
    };
    let outs: OnnxOutput[];
    try {
      outs = handlers.get(handlerKey(n.domain ?? '', type))!(ctx);
    } catch (e) {
      if (e instanceof FormatError && e.message.startsWith(where)) throw e;
      if (e instanceof UnsupportedOpError) throw e.message.startsWith(where) ? e : new UnsupportedOpError(`${where}: ${e.message}`, e.ops);
      if (e instanceof GraphcError) throw new FormatError(`${where}: ${e.message}`);
      throw e;
    }
    const folded = this.fold(scratch, outs, ins, where);
    const mapped = folded ?? this.copy(scratch, outs, outputNames, scratchInputs, inputNames, ins, where);
    outputNames.forEach((name, k) => {
      if (!name) return;
      const out = mapped[k];
      if (out === undefined) {
        if (k < outs.length && outs[k] === undefined) return; // an optional output graphc does not compute
        failAt(where, `output ${k} ('${name}') is not computed by graphc's translation`);
      }
      const elemType = elemTypes[k] ?? this.defaultElemType(out, ins[0]);
      if (isTensorValue(out)) this.known.set(name, { value: out, info: { dtype: out.dtype, shape: out.shape }, elemType });
      else this.known.set(name, { tensor: out, info: { dtype: out.dtype, shape: out.shape }, elemType });
    });
  }

  /**
   * The training domain's Gradient: the gradients of `y` (a tensor named by attribute, computed
   * elsewhere in the graph) with respect to the tensors named in `xs`, by graphc's autodiff. `zs`
   * are inputs the computation of y reads but that are not differentiated; they need nothing here.
   */
  private importGradient(n: NodeProto, where: string): void {
    const attrs = makeAttrs(n.attribute ?? [], where, this.source);
    const xNames = attrs.strings('xs');
    const yName = attrs.string('y');
    const outs = n.output ?? [];
    if (outs.length !== xNames.length) failAt(where, `${outs.length} outputs for ${xNames.length} names in xs: one gradient per x`);
    if (!gradientBuilder) unsupportedAt(where, 'Gradient', 'no autodiff is registered (load the graphc package, not @graphc/graph alone)');
    const lookup = (name: string, what: string): Known => {
      const k = this.known.get(name) ?? failAt(where, `${what} '${name}' is not defined by any node, input or initializer`);
      // a value known at import has been folded: the ops from the xs to it are no longer in the graph
      if (k.value) unsupportedAt(where, 'Gradient', `${what} '${name}' is known at import (an initializer, or computed from them), so no path of ops leads to it`);
      return k;
    };
    const xs = xNames.map((name) => this.materialize(name, lookup(name, 'x'), where));
    const y = this.materialize(yName, lookup(yName, 'y'), where);
    let grads: SymbolicTensor[];
    try {
      grads = gradientBuilder(y, xs);
    } catch (e) {
      if (e instanceof GraphcError) unsupportedAt(where, 'Gradient', e.message);
      throw e;
    }
    outs.forEach((name, i) => {
      if (name) this.known.set(name, { tensor: grads[i], info: { dtype: grads[i].dtype, shape: grads[i].shape }, elemType: this.known.get(xNames[i])!.elemType });
    });
  }

  /**
   * An If whose condition is known: the taken branch's nodes join the graph, its outputs become the
   * If's. One whose condition is computed at run time becomes a `cond` node (importCond).
   */
  private importIf(n: NodeProto, where: string): void {
    const cond = this.known.get(n.input?.[0] ?? '');
    if (!cond) failAt(where, 'the condition (input 0) is required');
    if (!cond.value) return this.importCond(n, this.materialize(n.input![0], cond), where);
    if (cond.value.data.length !== 1) failAt(where, `the condition has ${cond.value.data.length} elements, not 1`);
    const attr = (n.attribute ?? []).find((a) => a.name === (cond.value!.data[0] ? 'then_branch' : 'else_branch'));
    const branch = attr?.g ?? failAt(where, `attribute '${cond.value.data[0] ? 'then_branch' : 'else_branch'}' (a graph) is missing`);
    if ((branch.input ?? []).length) failAt(where, 'an If branch takes no inputs');
    if ((branch.sparseInitializer ?? []).length) throw new UnsupportedOpError(`${where}: sparse initializers are not supported`, []);
    for (const init of branch.initializer ?? []) {
      const name = init.name ?? '';
      if (!name) failAt(where, 'an initializer of its branch has no name');
      if (this.known.has(name)) failAt(where, `value '${name}' is defined twice (in its branch and outside)`);
      const value = tensorFromProto(init, this.source, name);
      this.known.set(name, { value, info: { dtype: value.dtype, shape: value.shape }, elemType: init.dataType ?? 0 });
    }
    for (const inner of this.sorted(branch.node ?? [])) this.importNode(inner);
    const results = branch.output ?? [];
    const outs = n.output ?? [];
    if (results.length !== outs.length) failAt(where, `the branch taken returns ${results.length} values, the node has ${outs.length} outputs`);
    outs.forEach((name, k) => {
      const result = this.known.get(results[k].name ?? '') ?? failAt(where, `branch output '${results[k].name}' is not computed`);
      if (name) this.known.set(name, { ...result });
    });
  }

  /** An If on a condition computed at run time: a `cond` node calling each branch, imported as a graph function. */
  private importCond(n: NodeProto, pred: SymbolicTensor, where: string): void {
    const branch = (attr: string): ImportedBody => {
      const g = graphAttr(n, attr, where);
      if ((g.input ?? []).length) failAt(where, `${attr} takes ${(g.input ?? []).length} inputs; an If branch takes none`);
      return this.importBody(g, [], `${where} ${attr}`);
    };
    const then = branch('then_branch');
    const other = branch('else_branch');
    const outs = n.output ?? [];
    const results = then.traced.outputs;
    if (results.length !== other.traced.outputs.length || outs.length > results.length) {
      failAt(where, `then_branch returns ${results.length} values and else_branch ${other.traced.outputs.length}, for ${outs.length} outputs`);
    }
    results.forEach((r, k) => {
      const e = other.traced.outputs[k];
      if (r.shape.length !== e.shape.length) {
        unsupportedAt(where, 'If', `output ${k} has rank ${r.shape.length} in then_branch and ${e.shape.length} in else_branch; graphc needs the branches to agree on ranks`);
      }
    });
    const node = this.addNodeAt(
      'cond',
      [pred, ...then.traced.captures, ...other.traced.captures],
      { thenBranch: asAttr(then.traced), elseBranch: asAttr(other.traced), thenInputs: then.traced.captures.length },
      n.name || outs.find((o) => o) || 'if',
      where,
    );
    outs.forEach((name, k) => {
      if (name) this.setTensor(name, node.output(k), then.elemTypes[k]);
    });
  }

  /**
   * Loop as a `whileLoop` node (the same semantics): M and cond default to no limit and true; the
   * body takes (iteration, cond, ...carried) and returns (cond, ...carried, ...scan values). Body
   * inputs often declare no shape, so the carried values' outer shapes are used; while the body
   * changes a carried dimension, it is imported again with that dimension unknown (a shape folded
   * at import must not hold for the first iteration only).
   */
  private importLoop(n: NodeProto, where: string): void {
    const body = graphAttr(n, 'body', where);
    const inputs = n.input ?? [];
    const outs = n.output ?? [];
    const bodyIn = body.input ?? [];
    const bodyOut = body.output ?? [];
    const numCarried = inputs.length - 2;
    if (numCarried < 0 || bodyIn.length !== inputs.length || bodyOut.length < 1 + numCarried || outs.length > bodyOut.length - 1) {
      failAt(where, `${inputs.length} inputs (M, cond and carried values) and ${outs.length} outputs: the body takes ${bodyIn.length} and returns ${bodyOut.length}`);
    }
    const numScans = bodyOut.length - 1 - numCarried;
    const limit = inputs[0] ? this.tensorOf(inputs[0], where) : this.addNode('const', [], { value: tensor([Number.MAX_SAFE_INTEGER], [], 'int64') }, `${outs[0] || 'loop'}/M`, where);
    const first = inputs[1] ? this.tensorOf(inputs[1], where) : this.addNode('const', [], { value: tensor([1], [], 'bool') }, `${outs[0] || 'loop'}/cond`, where);
    const carried = inputs.slice(2).map((name, i) => {
      if (!name) failAt(where, `carried value ${i} (input ${i + 2}) is required`);
      return { name, k: this.known.get(name)!, tensor: this.tensorOf(name, where) };
    });
    let shapes = carried.map(({ k }, i) => this.carriedShape(bodyIn[i + 2], k, where));
    let imported: ImportedBody;
    for (;;) {
      const params: BodyParam[] = [
        { info: { dtype: 'int64', shape: [] }, elemType: DTYPE_TO_ONNX.int64 },
        { info: { dtype: 'bool', shape: [] }, elemType: DTYPE_TO_ONNX.bool },
        ...carried.map(({ k }, i) => ({ info: { dtype: k.info.dtype, shape: shapes[i] }, elemType: k.elemType })),
      ];
      imported = this.importBody(body, params, `${where} body`);
      const results = imported.traced.outputs;
      const relaxed = shapes.map((s, i) => mergeShapes(s, results[1 + i].shape) ?? failAt(where, `the body changes the rank of carried value ${i} ('${carried[i].name}')`));
      if (relaxed.every((s, i) => s.every((d, j) => d === shapes[i][j]))) break;
      shapes = relaxed;
    }
    const node = this.addNodeAt(
      'whileLoop',
      [limit, first, ...carried.map((c) => c.tensor), ...imported.traced.captures],
      { body: asAttr(imported.traced), carried: numCarried, scans: numScans },
      n.name || outs.find((o) => o) || 'loop',
      where,
    );
    outs.forEach((name, k) => {
      if (name) this.setTensor(name, node.output(k), k < numCarried ? carried[k].k.elemType : imported.elemTypes[1 + k]);
    });
  }

  /** The shape a Loop body's carried input starts with: the outer value's, less what the body leaves unknown. */
  private carriedShape(vi: ValueInfoProto, outer: Known, where: string): Shape {
    const tt = vi.type?.tensorType;
    if (tt?.elemType && dtypeOfOnnx(tt.elemType, `${where}: body input '${vi.name}'`) !== outer.info.dtype) {
      failAt(where, `body input '${vi.name}' is declared ${dtypeOfOnnx(tt.elemType, where)}, the value passed in is ${outer.info.dtype}`);
    }
    const dims = tt?.shape?.dim;
    if (!dims || dims.length !== outer.info.shape.length) return [...outer.info.shape];
    return outer.info.shape.map((d, i) => (dims[i].dimValue === null || dims[i].dimValue === undefined || dims[i].dimParam ? null : d));
  }

  /**
   * Imports a subgraph as a graph function of this importer's graph: its inputs bound to new
   * placeholders of `params`' types, its nodes translated as the model's are, its outputs returned.
   */
  private importBody(body: GraphProto, params: BodyParam[], where: string): ImportedBody {
    this.work.bodyNodes += Math.max((body.node ?? []).length, 1);
    if (this.work.bodyNodes > MAX_BODY_NODES) {
      unsupportedAt(where, 'Loop', `its subgraphs take more than ${MAX_BODY_NODES} node imports in all (bodies are imported again where they change a carried shape)`);
    }
    const g = new FunctionGraph(this.graph);
    const inner = new Importer(body, this.opset, this.options, g, { known: this.known, where, work: this.work });
    return inner.translateBody(params);
  }

  private translateBody(params: BodyParam[]): ImportedBody {
    const body = this.proto;
    if ((body.sparseInitializer ?? []).length) throw new UnsupportedOpError(`${this.where}: sparse initializers are not supported`, []);
    for (const init of body.initializer ?? []) {
      const name = init.name ?? '';
      if (!name) failAt(this.where, 'an initializer has no name');
      const value = tensorFromProto(init, this.source, name);
      this.known.set(name, { value, info: { dtype: value.dtype, shape: value.shape }, elemType: init.dataType ?? 0 });
    }
    const placeholders = (body.input ?? []).map((vi, i) => {
      const name = vi.name ?? '';
      if (!name) failAt(this.where, `input ${i} has no name`);
      const { info, elemType } = params[i];
      const p = this.addNode('placeholder', [], { dtype: info.dtype, shape: [...info.shape] }, name, this.where);
      this.known.set(name, { tensor: p, info, elemType });
      return p;
    });
    for (const n of this.sorted(body.node ?? [])) this.importNode(n);
    const results = (body.output ?? []).map((vi) => {
      const name = vi.name ?? '';
      const k = this.known.get(name) ?? failAt(this.where, `output '${name}' is not produced by any node, input or initializer`);
      return { tensor: this.materialize(name, k), elemType: k.elemType };
    });
    const traced = functionOf(this.graph as FunctionGraph, placeholders, results.map((r) => r.tensor));
    return { traced, elemTypes: results.map((r) => r.elemType) };
  }

  /** The tensor of an ONNX value in the model's graph (a known value becomes a const node). */
  private tensorOf(name: string, where: string): SymbolicTensor {
    const k = this.known.get(name) ?? failAt(where, `input '${name}' is not defined`);
    return this.materialize(name, k, where);
  }

  /**
   * What a sequence op reads and builds through: values in scope, ordinary ONNX ops translated as a
   * model's nodes are (on values put in scope under fresh names), and graph tensors.
   */
  private sequenceHost(n: NodeProto, where: string): SequenceHost {
    const label = n.output?.find((o) => o) || n.name || (n.opType ?? 'sequence');
    const fresh = (base: string): string => {
      let name = base;
      for (let i = 1; this.known.has(name); i++) name = `${base}_${i}`;
      return name;
    };
    const bind = (k: Known, tag: string): string => {
      const name = fresh(`${label}/${tag}`);
      this.known.set(name, { ...k });
      return name;
    };
    return {
      where,
      label,
      lookup: (name) => this.known.get(name),
      define: (name, k) => this.known.set(name, k),
      translate: (op: string, inputs: Known[], attrs: AttributeProto[], outputs: number, tag: string): Known[] => {
        const input = inputs.map((k, i) => bind(k, `${tag}/in${i}`));
        const output = Array.from({ length: outputs }, (_, i) => fresh(outputs === 1 ? `${label}/${tag}` : `${label}/${tag}${i}`));
        this.importNode({ opType: op, input, output, attribute: attrs }, { where });
        return output.map((o) => this.known.get(o)!);
      },
      tensorOf: (k, tag) => {
        const name = bind(k, tag);
        return this.materialize(name, this.known.get(name)!, where);
      },
    };
  }

  private addNode(op: string, inputs: SymbolicTensor[], attrs: Record<string, AttrValue>, name: string, where: string): SymbolicTensor {
    return this.addNodeAt(op, inputs, attrs, name, where).output();
  }

  /** Adds a node to this importer's graph; a graph error (a bad type, say) is a FormatError naming the ONNX node. */
  private addNodeAt(op: string, inputs: SymbolicTensor[], attrs: Record<string, AttrValue>, name: string, where: string): Node {
    try {
      return this.graph.addNode(op, inputs, attrs, { name: sanitizeName(name) });
    } catch (e) {
      if (e instanceof GraphcError) throw new FormatError(`${where}: ${e.message}`);
      throw e;
    }
  }

  private setTensor(name: string, t: SymbolicTensor, elemType = DTYPE_TO_ONNX[t.dtype]): void {
    this.known.set(name, { tensor: t, info: { dtype: t.dtype, shape: t.shape }, elemType });
  }

  /**
   * Scan unrolled: step t binds the body's state inputs to the current states and its scan inputs to
   * slice t of each scan input (along its axis, from the end when its direction is 1), imports the
   * body's nodes under names of their own (`<node>/step<t>/<value>`), and takes the new states and
   * this step's scan outputs from its results; the scan outputs are stacked along their axes. Opset
   * 8's batch dimension (sequence_lens absent) unrolls per batch entry too.
   */
  private importScan(n: NodeProto, where: string): void {
    const attr = (name: string) => (n.attribute ?? []).find((a) => a.name === name);
    const body = attr('body')?.g ?? failAt(where, "attribute 'body' (a graph) is missing");
    for (const inner of body.node ?? []) if (subgraphsOf(inner).length) unsupportedAt(where, 'Scan', 'a Scan body with nested subgraphs is not supported');
    const numScan = toNumber((attr('num_scan_inputs')?.i ?? 0) as never, `${where}: attribute 'num_scan_inputs'`);
    const ints = (name: string, count: number, fallback: number): number[] => {
      const list = (attr(name)?.ints ?? []).map((v, i) => toNumber(v as never, `${where}: attribute '${name}'[${i}]`));
      return Array.from({ length: count }, (_, i) => list[i] ?? fallback);
    };
    const batched = this.opset < 9;
    let inputs = n.input ?? [];
    if (batched) {
      if (inputs[0]) unsupportedAt(where, 'Scan', 'sequence_lens is not supported');
      inputs = inputs.slice(1);
    }
    const numState = inputs.length - numScan;
    const outs = n.output ?? [];
    const bodyIn = body.input ?? [];
    const bodyOut = body.output ?? [];
    if (numScan < 1 || numState < 0 || bodyIn.length !== inputs.length || bodyOut.length !== outs.length || bodyOut.length < numState) {
      failAt(where, `${inputs.length} inputs (${numScan} scanned), ${outs.length} outputs: the body takes ${bodyIn.length} and returns ${bodyOut.length}`);
    }
    const numOut = outs.length - numState;
    const inAxes = batched ? new Array<number>(numScan).fill(0) : ints('scan_input_axes', numScan, 0);
    const inDirs = ints(batched ? 'directions' : 'scan_input_directions', numScan, 0);
    const outAxes = batched ? new Array<number>(numOut).fill(0) : ints('scan_output_axes', numOut, 0);
    const outDirs = batched ? new Array<number>(numOut).fill(0) : ints('scan_output_directions', numOut, 0);
    const states0 = inputs.slice(0, numState).map((name) => this.tensorOf(name, where));
    const scans0 = inputs.slice(numState).map((name) => this.tensorOf(name, where));
    const label = sanitizeName(n.name || outs.find((o) => o) || 'scan');
    const axisOf = (axis: number, rank: number): number => {
      const a = axis < 0 ? axis + rank : axis;
      if (a < 0 || a >= rank) failAt(where, `axis ${axis} is outside rank ${rank}`);
      return a;
    };
    // the body's own constants, parsed once: every step binds the same values under its own names
    const bodyConstants = (body.initializer ?? []).map((init) => ({ name: init.name ?? '', value: tensorFromProto(init, this.source, init.name ?? ''), elemType: init.dataType ?? 0 }));
    const constant = (v: number, tag: string) => this.addNode('const', [], { value: { dtype: 'int32', shape: [], data: Int32Array.of(v) } }, `${label}/${tag}`, where);

    // one sequence: states and scan inputs without a batch dimension; returns final states and stacked outputs
    const unroll = (states: SymbolicTensor[], scans: SymbolicTensor[], tag: string): SymbolicTensor[] => {
      const axes = scans.map((x, i) => axisOf(inAxes[i], x.rank));
      const lengths = scans.map((x, i) => x.shape[axes[i]]);
      const steps = lengths[0];
      if (steps === null || lengths.some((l) => l !== steps)) unsupportedAt(where, 'Scan', 'the scanned length must be known at import and equal for every scan input');
      const bodyNodes = Math.max((body.node ?? []).length, 1);
      if (steps * bodyNodes > MAX_SCAN_NODES) unsupportedAt(where, 'Scan', `${steps} steps of ${bodyNodes} nodes: graphc unrolls at most ${MAX_SCAN_NODES} nodes`);
      const perStep: SymbolicTensor[][] = Array.from({ length: numOut }, () => []);
      for (let t = 0; t < steps; t++) {
        const prefix = `${label}${tag}/step${t}/`;
        const rename = new Map<string, string>();
        for (const v of bodyIn) rename.set(v.name ?? '', `${prefix}${v.name}`);
        for (const c of bodyConstants) rename.set(c.name, `${prefix}${c.name}`);
        for (const node of body.node ?? []) for (const o of node.output ?? []) if (o) rename.set(o, `${prefix}${o}`);
        const renamed = (name: string): string => rename.get(name) ?? name;
        states.forEach((st, i) => this.setTensor(renamed(bodyIn[i].name ?? ''), st));
        scans.forEach((x, i) => {
          const at = inDirs[i] === 1 ? steps - 1 - t : t;
          this.setTensor(renamed(bodyIn[numState + i].name ?? ''), this.addNode('gather', [x, constant(at, `${tag}index${i}_${t}`)], { axis: axes[i] }, `${prefix}in${i}`, where));
        });
        for (const c of bodyConstants) this.known.set(renamed(c.name), { value: c.value, info: { dtype: c.value.dtype, shape: c.value.shape }, elemType: c.elemType });
        const nodes = (body.node ?? []).map((node) => ({ ...node, input: (node.input ?? []).map((i) => (i ? renamed(i) : i)), output: (node.output ?? []).map((o) => (o ? renamed(o) : o)) }));
        for (const inner of this.sorted(nodes)) this.importNode(inner);
        const result = (k: number): SymbolicTensor => this.tensorOf(renamed(bodyOut[k].name ?? ''), where);
        states = states.map((_, k) => result(k));
        for (let k = 0; k < numOut; k++) perStep[k].push(result(numState + k));
      }
      const stacked = perStep.map((list, k) => {
        const ordered = outDirs[k] === 1 ? [...list].reverse() : list;
        const rank = (ordered[0]?.rank ?? 0) + 1;
        const axis = axisOf(outAxes[k], rank);
        const parts = ordered.map((v, t) => this.addNode('expandDims', [v], { axis }, `${label}${tag}/out${k}_${t}`, where));
        return this.addNode('concat', parts, { axis }, `${label}${tag}/out${k}`, where);
      });
      return [...states, ...stacked];
    };

    let results: SymbolicTensor[];
    if (!batched) results = unroll(states0, scans0, '');
    else {
      // opset 8: every input has a leading batch dimension, scanned per batch entry
      const batch = [...states0, ...scans0].map((x) => x.shape[0]);
      const b0 = batch[0];
      if (b0 === null || batch.some((b) => b !== b0)) unsupportedAt(where, 'Scan', 'the batch size must be known at import and equal for every input');
      const perBatch = Array.from({ length: b0 }, (_, b) => {
        const pick = (x: SymbolicTensor, i: number) => this.addNode('gather', [x, constant(b, `batch${i}_${b}`)], { axis: 0 }, `${label}/batch${b}/in${i}`, where);
        return unroll(states0.map(pick), scans0.map((x, i) => pick(x, numState + i)), `/batch${b}`);
      });
      results = outs.map((_, k) =>
        this.addNode('concat', perBatch.map((r, b) => this.addNode('expandDims', [r[k]], { axis: 0 }, `${label}/batch${b}/result${k}`, where)), { axis: 0 }, `${label}/result${k}`, where),
      );
    }
    outs.forEach((name, k) => {
      if (name) this.setTensor(name, results[k]);
    });
  }

  private defaultElemType(out: SymbolicTensor | TensorValue, first: Known | undefined): number {
    return first && first.info.dtype === out.dtype ? first.elemType : DTYPE_TO_ONNX[out.dtype];
  }

  /** Evaluates the translation when every input is known and the result is small; undefined when it cannot. */
  private fold(scratch: Graph, outs: OnnxOutput[], ins: (Known | undefined)[], where: string): (TensorValue | undefined)[] | undefined {
    if (outs.every((o) => o === undefined || isTensorValue(o))) return outs as (TensorValue | undefined)[];
    const evaluate = this.options.evaluate;
    if (!evaluate || ins.some((k) => k !== undefined && !k.value)) return undefined;
    const roots = outs.filter((o): o is SymbolicTensor => o instanceof SymbolicTensor).map((o) => o.node);
    const needed = reachableNodes(scratch, roots);
    for (const node of needed) {
      const def = getOpDef(node.op);
      if (def.stateful || node.op === 'placeholder') return undefined;
      for (const o of node.outputs) {
        if (o.shape.some((d) => d === null) ? node.op !== 'dynamicAttrs' : sizeOf(o.shape as number[]) > FOLD_LIMIT) return undefined;
      }
    }
    const values = new Map<Node, TensorValue[]>();
    try {
      for (const node of needed) {
        const inputs = node.inputs.map((i) => values.get(i.node)![i.index]);
        const result = node.op === 'const' ? [node.attrs.value as TensorValue] : evaluate(node, inputs);
        for (const r of result) if (r.data.length > FOLD_LIMIT) return undefined;
        values.set(node, result);
      }
    } catch (e) {
      if (e instanceof GraphcError) throw new FormatError(`${where}: ${e.message}`);
      throw e;
    }
    return outs.map((o) => (o instanceof SymbolicTensor ? values.get(o.node)![o.index] : o));
  }

  /** Copies the translation into the model's graph; nodes that produce an ONNX output are named after it. */
  private copy(
    scratch: Graph,
    outs: OnnxOutput[],
    outputNames: string[],
    scratchInputs: Map<Node, number>,
    inputNames: string[],
    ins: (Known | undefined)[],
    where: string,
  ): OnnxOutput[] {
    const roots = outs.filter((o): o is SymbolicTensor => o instanceof SymbolicTensor).map((o) => o.node);
    const needed = reachableNodes(scratch, roots);
    const nodeName = new Map<Node, string>();
    outs.forEach((o, k) => {
      if (o instanceof SymbolicTensor && !nodeName.has(o.node) && !scratchInputs.has(o.node) && outputNames[k]) {
        nodeName.set(o.node, sanitizeName(outputNames[k]));
      }
    });
    const base = sanitizeName(outputNames.find((o) => o) ?? 'node');
    const map = new Map<Node, SymbolicTensor[]>();
    for (const node of needed) {
      const inputIndex = scratchInputs.get(node);
      if (inputIndex !== undefined) {
        map.set(node, [this.materialize(inputNames[inputIndex], ins[inputIndex]!)]);
        continue;
      }
      const inputs = node.inputs.map((i) => map.get(i.node)![i.index]);
      const name = nodeName.get(node) ?? `${base}/${node.op}`;
      let copied: Node;
      try {
        copied = this.graph.addNode(node.op, inputs, node.attrs, { name });
      } catch (e) {
        if (e instanceof GraphcError) throw new FormatError(`${where}: ${e.message}`);
        throw e;
      }
      for (const o of copied.outputs) {
        const known = o.shape.filter((d): d is number => d !== null);
        if (known.length && sizeOf(known) > MAX_TENSOR_ELEMENTS) {
          failAt(where, `computes a tensor of ${sizeOf(known)} elements, more than graphc allows in one tensor (${MAX_TENSOR_ELEMENTS})`);
        }
      }
      map.set(node, copied.outputTensors);
    }
    return outs.map((o) => (o instanceof SymbolicTensor ? map.get(o.node)![o.index] : o));
  }
}
