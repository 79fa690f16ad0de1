/** Small ONNX models written by hand for the import, CLI and fuzz tests (onnx-proto messages). */
import { TensorValue, encodeModel, onnx, tensorToProto } from 'graphc';

export type Dim = number | string | null;

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[] | string | string[] | TensorValue | { f: number } | { floats: number[] } | { graph: onnx.IGraphProto }>;
  domain?: string;
}

export interface ModelSpec {
  inputs: { name: string; elemType?: number; shape: Dim[] }[];
  outputs: { name: string; elemType?: number; shape?: Dim[] }[];
  nodes: NodeSpec[];
  initializers?: Record<string, TensorValue>;
  opset?: number;
}

function attr(name: string, v: NonNullable<NodeSpec['attrs']>[string]): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: Buffer.from(v) };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { name, type: T.STRINGS, strings: (v as string[]).map((s) => Buffer.from(s)) };
    return (v as number[]).every(Number.isInteger) ? { name, type: T.INTS, ints: v as number[] } : { name, type: T.FLOATS, floats: v as number[] };
  }
  if ('graph' in v) return { name, type: T.GRAPH, g: v.graph };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.TENSOR, t: tensorToProto(v as TensorValue, name) };
}

const dims = (shape: Dim[]) => ({ dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) });

/** A subgraph (an If branch): nodes, its own initializers and outputs; no inputs. */
export function subgraph(spec: Omit<ModelSpec, 'inputs' | 'opset'>, name = 'branch'): onnx.IGraphProto {
  return graphProto({ ...spec, inputs: [] }, name, `${name}/`);
}

export function modelProto(spec: ModelSpec): onnx.IModelProto {
  return {
    irVersion: 8,
    producerName: 'graphc-tests',
    opsetImport: [{ domain: '', version: spec.opset ?? 17 }],
    graph: graphProto(spec, 'test'),
  };
}

function graphProto(spec: ModelSpec, graphName: string, nodePrefix = ''): onnx.IGraphProto {
  return {
    name: graphName,
    node: spec.nodes.map((n, i) => ({
      opType: n.op,
      domain: n.domain ?? '',
      name: `${nodePrefix}n${i}`,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v)),
    })),
    initializer: Object.entries(spec.initializers ?? {}).map(([k, v]) => tensorToProto(v, k)),
    input: spec.inputs.map((i) => ({ name: i.name, type: { tensorType: { elemType: i.elemType ?? 1, shape: dims(i.shape) } } })),
    output: spec.outputs.map((o) => ({ name: o.name, type: { tensorType: { elemType: o.elemType ?? 1, ...(o.shape ? { shape: dims(o.shape) } : {}) } } })),
  };
}

export function buildModel(spec: ModelSpec): Uint8Array {
  return encodeModel(modelProto(spec));
}
