import type { DType } from '../../dtype';
import { UnsupportedOpError } from '../../errors';
import type { Node, SymbolicTensor } from '../../graph';
import { getOpDef } from '../../registry';
import { TensorValue, tensor } from '../../tensor';
import { AttrType, NodeProto, TensorProto, onnx } from './proto';
import { DTYPE_TO_ONNX, tensorToProto } from './tensor';

/** An ONNX attribute value, typed as ONNX wants it. */
export type OnnxAttr =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: number[] }
  | { floats: number[] }
  | { strings: string[] }
  | { t: TensorValue }
  /** A subgraph (Loop's body, If's branches). */
  | { g: onnx.IGraphProto };

export const int = (i: number): OnnxAttr => ({ i });
export const float = (f: number): OnnxAttr => ({ f });
export const str = (s: string): OnnxAttr => ({ s });
export const ints = (v: number[]): OnnxAttr => ({ ints: v });
export const floats = (v: number[]): OnnxAttr => ({ floats: v });

/** Writes one graphc node as ONNX nodes through `ctx`. */
export type OnnxExportRule = (ctx: ExportContext, node: Node) => void;

/** Attaches the ONNX export rule of an op (kept on its OpDef, as every other fact about the op). */
export function setOnnxExport(op: string | string[], rule: OnnxExportRule): void {
  for (const name of Array.isArray(op) ? op : [op]) getOpDef(name).onnx = rule;
}

function encodeAttr(name: string, a: OnnxAttr): onnx.IAttributeProto {
  if ('i' in a) return { name, type: AttrType.INT, i: a.i };
  if ('f' in a) return { name, type: AttrType.FLOAT, f: a.f };
  if ('s' in a) return { name, type: AttrType.STRING, s: Buffer.from(a.s, 'utf8') };
  if ('ints' in a) return { name, type: AttrType.INTS, ints: a.ints };
  if ('floats' in a) return { name, type: AttrType.FLOATS, floats: a.floats };
  if ('strings' in a) return { name, type: AttrType.STRINGS, strings: a.strings.map((s) => Buffer.from(s, 'utf8')) };
  if ('g' in a) return { name, type: AttrType.GRAPH, g: a.g };
  return { name, type: AttrType.TENSOR, t: tensorToProto(a.t, name) };
}

/**
 * What an export rule writes with: the ONNX names of the node's inputs and outputs, fresh names
 * for intermediates, constants as initializers, and `emit` for each ONNX node.
 */
export class ExportContext {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;
  /** ONNX value name of each graphc tensor. */
  readonly names = new Map<SymbolicTensor, string>();
  current!: Node;

  /**
   * `used`: the value names taken, shared with the contexts of enclosing graphs (see `subgraph`).
   * `contribOps`: rules may write onnxruntime's com.microsoft forms (OnnxExportOptions).
   * `domains`: the operator domains besides ONNX's own that emitted nodes use, each needing an
   * opset import (shared with subgraphs' contexts too).
   */
  constructor(
    reserved: Iterable<string>,
    private readonly used = new Set<string>(),
    readonly contribOps = false,
    readonly domains = new Set<string>(),
  ) {
    for (const r of reserved) this.used.add(r);
  }

  /**
   * A context for a subgraph (a Loop body, an If branch): nodes and initializers of its own, names
   * fresh across the whole model (a subgraph sees the values of the graphs around it by name, so
   * its own must not shadow them).
   */
  subgraph(): ExportContext {
    return new ExportContext([], this.used, this.contribOps, this.domains);
  }

  /** A value name not used yet, from `hint`. */
  fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  claim(name: string): string {
    this.used.add(name);
    return name;
  }

  input(i: number): string {
    const t = this.current.inputs[i];
    const name = this.names.get(t);
    if (name === undefined) throw new UnsupportedOpError(`ONNX export: '${t.name}' is used before it is written`, []);
    return name;
  }

  output(i = 0): string {
    return this.names.get(this.current.outputTensors[i])!;
  }

  /** Adds an initializer (a fresh name from `hint`) and returns its name. */
  constant(value: TensorValue, hint = 'const'): string {
    const name = this.fresh(`${this.current ? this.current.name : 'graph'}/${hint}`);
    this.initializers.push(tensorToProto(value, name));
    return name;
  }

  int64s(values: number[], hint = 'ints'): string {
    return this.constant(tensor(values, [values.length], 'int64'), hint);
  }

  scalar(value: number, dtype: DType, hint = 'scalar'): string {
    return this.constant(tensor([value], [], dtype), hint);
  }

  /** Emits an ONNX node (of `domain`, default ONNX's); `outputs` default to one fresh name; returns the output names. */
  emit(opType: string, inputs: string[], outputs?: string[] | number, attrs: Record<string, OnnxAttr | undefined> = {}, domain = ''): string[] {
    const outs =
      typeof outputs === 'number' || outputs === undefined
        ? Array.from({ length: typeof outputs === 'number' ? outputs : 1 }, () => this.fresh(`${this.current.name}/${opType}`))
        : outputs;
    if (domain) this.domains.add(domain);
    this.nodes.push({
      opType,
      ...(domain ? { domain } : {}),
      input: inputs,
      output: outs,
      name: this.fresh(`${this.current.name}/${opType}#node`),
      attribute: Object.entries(attrs)
        .filter((e): e is [string, OnnxAttr] => e[1] !== undefined)
        .map(([k, v]) => encodeAttr(k, v)),
    });
    return outs;
  }

  /** Emits a node computing output `o` of the current graphc node. */
  emitOut(opType: string, inputs: string[], attrs: Record<string, OnnxAttr | undefined> = {}, o = 0): void {
    this.emit(opType, inputs, [this.output(o)], attrs);
  }

  onnxType(dtype: DType): number {
    return DTYPE_TO_ONNX[dtype];
  }

  unsupported(message: string): never {
    throw new UnsupportedOpError(`ONNX export: op '${this.current.op}' (node '${this.current.name}'): ${message}`, [this.current.op]);
  }
}
