import type { DType } from '../../dtype';
import { FormatError, UnsupportedOpError } from '../../errors';
import { AttrValue, Graph, Node, SymbolicTensor } from '../../graph';
import type { OutputInfo } from '../../opdef';
import { TensorValue, tensor } from '../../tensor';
import { AttrType, AttributeProto, toNumber } from './proto';
import { TensorSource, tensorFromProto } from './tensor';

/** One output of a translated ONNX node: a graph tensor, a value known at import, or absent. */
export type OnnxOutput = SymbolicTensor | TensorValue | undefined;

/**
 * What an ONNX op's translation sees of one node. Inputs are tensors of a scratch graph (the
 * importer copies what the translation adds into the model's graph, or evaluates it on the spot
 * when every input is known), plus their values where the importer knows them.
 */
export interface OnnxNode {
  readonly type: string;
  /** The node's name for messages (its own, else its first output's). */
  readonly name: string;
  /** Version of the default-domain opset the model imports. */
  readonly opset: number;
  /** Length of the node's input list (omitted optional inputs count, as ''). */
  readonly inputCount: number;
  readonly outputCount: number;
  /** The graph new nodes go into (scratch; use `op`/`node`/`constant`). */
  readonly graph: Graph;
  has(index: number): boolean;
  /** Input `index` as a tensor; a FormatError when the model omits a required input. */
  input(index: number): SymbolicTensor;
  /** The input's value when known at import (initializer, Constant, folded), else undefined. */
  value(index: number): TensorValue | undefined;
  /** The input's value as plain numbers when known, else undefined. */
  numbers(index: number): number[] | undefined;
  info(index: number): OutputInfo;
  /** The input's declared ONNX element type (before widening to a graphc dtype). */
  elemType(index: number): number;
  /** Sets the ONNX element type an output stands for (default: that of its graphc dtype or input 0's). */
  setElemType(output: number, elemType: number): void;
  attr: OnnxAttrs;
  /** Adds a node and returns output 0. */
  op(op: string, inputs: SymbolicTensor[], attrs?: Record<string, AttrValue>): SymbolicTensor;
  node(op: string, inputs: SymbolicTensor[], attrs?: Record<string, AttrValue>): Node;
  constant(value: TensorValue | number | number[], dtype?: DType): SymbolicTensor;
  /** A FormatError naming the node. */
  fail(message: string): never;
  /** An UnsupportedOpError naming the node and op. */
  unsupported(message: string): never;
}

export interface OnnxAttrs {
  has(name: string): boolean;
  int(name: string, fallback?: number): number;
  float(name: string, fallback?: number): number;
  string(name: string, fallback?: string): string;
  ints(name: string, fallback?: number[]): number[];
  floats(name: string, fallback?: number[]): number[];
  strings(name: string, fallback?: string[]): string[];
  tensor(name: string): TensorValue | undefined;
  names(): string[];
}

/** Attribute access over a node's AttributeProtos with type checks; every problem is a FormatError. */
export function makeAttrs(list: AttributeProto[], where: string, source: TensorSource): OnnxAttrs {
  const byName = new Map<string, AttributeProto>();
  for (const a of list) byName.set(a.name ?? '', a);
  const get = (name: string, types: number[]): AttributeProto | undefined => {
    const a = byName.get(name);
    if (a === undefined) return undefined;
    // writers before IR v3 leave `type` unset; infer it from the field present then
    const t = a.type ?? 0;
    if (t !== 0 && !types.includes(t)) throw new FormatError(`${where}: attribute '${name}' has the wrong type (${t})`);
    return a;
  };
  const missing = (name: string): never => {
    throw new FormatError(`${where}: required attribute '${name}' is missing`);
  };
  return {
    has: (name) => byName.has(name),
    names: () => [...byName.keys()],
    int(name, fallback) {
      const a = get(name, [AttrType.INT]);
      if (!a) return fallback ?? missing(name);
      return toNumber(a.i as never, `${where}: attribute '${name}'`);
    },
    float(name, fallback) {
      const a = get(name, [AttrType.FLOAT]);
      if (!a) return fallback ?? missing(name);
      return a.f ?? 0;
    },
    string(name, fallback) {
      const a = get(name, [AttrType.STRING]);
      if (!a) return fallback ?? missing(name);
      return Buffer.from(a.s ?? new Uint8Array()).toString('utf8');
    },
    ints(name, fallback) {
      const a = get(name, [AttrType.INTS]);
      if (!a) return fallback ?? missing(name);
      return (a.ints ?? []).map((v, i) => toNumber(v as never, `${where}: attribute '${name}'[${i}]`));
    },
    floats(name, fallback) {
      const a = get(name, [AttrType.FLOATS]);
      if (!a) return fallback ?? missing(name);
      return [...(a.floats ?? [])];
    },
    strings(name, fallback) {
      const a = get(name, [AttrType.STRINGS]);
      if (!a) return fallback ?? missing(name);
      return (a.strings ?? []).map((b) => Buffer.from(b).toString('utf8'));
    },
    tensor(name) {
      const a = get(name, [AttrType.TENSOR]);
      if (!a) return undefined;
      if (!a.t) throw new FormatError(`${where}: attribute '${name}' holds no tensor`);
      return tensorFromProto(a.t, source, `${name}`);
    },
  };
}

export function failAt(where: string, message: string): never {
  throw new FormatError(`${where}: ${message}`);
}

export function unsupportedAt(where: string, type: string, message: string): never {
  throw new UnsupportedOpError(`${where}: ${message}`, [type]);
}

/** A numeric value (or list) as a graphc tensor value of `dtype`. */
export function valueOf(v: TensorValue | number | number[], dtype: DType = 'float32'): TensorValue {
  if (typeof v === 'number') return tensor([v], [], dtype);
  if (Array.isArray(v)) return tensor(v, [v.length], dtype);
  return v;
}
