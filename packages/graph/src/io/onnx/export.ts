import * as fs from 'fs';
import * as path from 'path';
import { GraphcError, UnsupportedOpError } from '../../errors';
import { Graph, Node, SymbolicTensor } from '../../graph';
import { getOpDef } from '../../registry';
import type { Shape } from '../../shape';
import { TensorValue } from '../../tensor';
import { reachableNodes } from '../../transform';
import type { VariableSource } from '../model-json';
import { writeFileAtomic } from '../safe-fs';
import { ExportContext } from './export-context';
import './export-rules';
import './export-linalg';
import { NodeProto, ValueInfoProto, encodeModel, onnx } from './proto';
import { DTYPE_TO_ONNX, tensorToProto } from './tensor';

export const EXPORT_OPSET = 18;

export interface OnnxExportOptions {
  /** Tensors to make the model's outputs (default: the graph's signature, else its sinks). */
  outputs?: string[];
  /** Variable values (by variable name); variables without one use their constant initializer. */
  variables?: Map<string, TensorValue>;
  /** Graph name written into the model. */
  name?: string;
  /**
   * Write onnxruntime's com.microsoft forms where they keep what graphc holds (default false:
   * standard ONNX only, which any runtime reads): matmulNBits as MatMulNBits, its weights still
   * packed, instead of a MatMul of the dequantized float weights.
   */
  contribOps?: boolean;
}

/** Every value name the nodes read, in their subgraphs too (a Loop body, an If branch, their outputs included). */
function namesRead(nodes: NodeProto[], into = new Set<string>()): Set<string> {
  for (const n of nodes) {
    for (const i of n.input ?? []) into.add(i);
    for (const attr of n.attribute ?? []) {
      for (const g of [attr.g, ...(attr.graphs ?? [])]) {
        if (!g) continue;
        namesRead(g.node ?? [], into);
        for (const o of g.output ?? []) into.add(o.name ?? '');
      }
    }
  }
  return into;
}

/** Outputs when none are named: the signature's, else every tensor no other node reads (as `graphc run`). */
function defaultOutputs(graph: Graph): string[] {
  const sig = graph.metadata.signature as { outputs?: string[] } | undefined;
  if (sig?.outputs?.length) return sig.outputs;
  const consumers = graph.consumers();
  const skip = new Set(['const', 'variable', 'placeholder', 'assign', 'assignAdd', 'assignSub', 'noOp']);
  return graph.nodes.filter((n) => n.outputs.length > 0 && consumers.get(n)!.length === 0 && !skip.has(n.op)).map((n) => n.outputTensors[0].name);
}

function valueInfo(name: string, t: { dtype: SymbolicTensor['dtype']; shape: Shape }, unknown: () => string): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DTYPE_TO_ONNX[t.dtype],
        shape: { dim: t.shape.map((d) => (d === null ? { dimParam: unknown() } : { dimValue: d })) },
      },
    },
  };
}

/** The value a variable is exported with: the given one, else its initializer when that is a constant. */
function variableValue(node: Node, graph: Graph, values: Map<string, TensorValue> | undefined): TensorValue {
  const given = values?.get(node.name);
  if (given) return given;
  const init = graph.variableInitializers.get(node.name);
  const source = init?.inputs[1]?.node;
  if (source?.op === 'const') return source.attrs.value as TensorValue;
  throw new GraphcError(`ONNX export: variable '${node.name}' has no value to write (its initializer is not a constant): export with { session }`);
}

/**
 * The graph as an ONNX model (ModelProto bytes, opset 18): placeholders become inputs, constants and
 * variables initializers, and every node on the way to the outputs the ONNX nodes of its op's export
 * rule (NHWC ops are wrapped in transposes; the NCHW ops map one to one). An op without an ONNX
 * equivalent is an UnsupportedOpError listing every such op.
 */
export function exportOnnx(graph: Graph, options: OnnxExportOptions = {}): Uint8Array {
  const outputs = options.outputs ?? defaultOutputs(graph);
  if (!outputs.length) throw new GraphcError('ONNX export: the graph has no outputs to export (name them)');
  const outTensors = outputs.map((o) => graph.tensor(o));
  const nodes = reachableNodes(graph, outTensors.map((t) => t.node)).filter((n) => n.outputs.length > 0 || n.op !== 'noOp');
  const missing = [...new Set(nodes.filter((n) => !['placeholder', 'const', 'variable'].includes(n.op) && !getOpDef(n.op).onnx).map((n) => n.op))];
  if (missing.length) throw new UnsupportedOpError(`ONNX export: no ONNX equivalent for ops: ${missing.sort().join(', ')}`, missing);
  const ctx = new ExportContext(nodes.flatMap((n) => n.outputTensors.map((t) => t.name)), undefined, options.contribOps === true);
  for (const n of nodes) for (const t of n.outputTensors) ctx.names.set(t, t.name);
  let unknownDims = 0;
  const unknown = () => `d${unknownDims++}`;
  const inputs: ValueInfoProto[] = [];
  for (const n of nodes) {
    ctx.current = n;
    if (n.op === 'placeholder') inputs.push(valueInfo(n.name, n.outputs[0], unknown));
    else if (n.op === 'const') ctx.initializers.push(tensorToProto(n.attrs.value as TensorValue, n.name));
    else if (n.op === 'variable') ctx.initializers.push(tensorToProto(variableValue(n, graph, options.variables), n.name));
    else getOpDef(n.op).onnx!(ctx, n);
  }
  // a constant its readers' rules took by value (a filter transposed in the file, quantized weights
  // dequantized or repacked) and no node reads by name is not written
  const read = namesRead(ctx.nodes);
  for (const t of outTensors) read.add(t.name);
  const constants = new Set(nodes.filter((n) => n.op === 'const').map((n) => n.name));
  const initializers = ctx.initializers.filter((t) => !constants.has(t.name ?? '') || read.has(t.name ?? ''));
  // an output that is an input or initializer still needs a node producing a graph output
  const graphOutputs: ValueInfoProto[] = outTensors.map((t) => valueInfo(t.name, t, unknown));
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: 'graphc',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: EXPORT_OPSET }, ...[...ctx.domains].map((domain) => ({ domain, version: 1 }))],
    graph: {
      name: options.name ?? 'graphc',
      node: ctx.nodes,
      initializer: initializers,
      input: inputs,
      output: graphOutputs,
    },
  };
  return encodeModel(model);
}

/**
 * Writes the graph as an .onnx file (atomically). With `session`, variables are written with the
 * session's current values (trained weights), as saveModel does.
 */
export async function saveOnnx(graph: Graph, file: string, options: Omit<OnnxExportOptions, 'variables'> & { session?: VariableSource } = {}): Promise<void> {
  const values = new Map<string, TensorValue>();
  if (options.session) {
    for (const v of graph.variables()) {
      if (options.session.variables.has(v.node.name)) values.set(v.node.name, await options.session.variables.read(v.node.name));
    }
  }
  const bytes = exportOnnx(graph, { ...options, variables: values });
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, bytes);
}
