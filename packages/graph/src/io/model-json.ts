import * as fs from 'fs';
import * as path from 'path';
import { BYTES_PER_ELEMENT, DType, isDType } from '../dtype';
import { FormatError, GraphcError, UnsupportedOpError } from '../errors';
import { AttrValue, Graph, SymbolicTensor } from '../graph';
import type { Attrs } from '../opdef';
import { hasOp } from '../registry';
import { sizeOf } from '../shape';
import { TensorValue, isTensorValue } from '../tensor';
import { decodeTensorData, encodeTensorData } from './tensor-bytes';
import { readFileOrThrow, resolveInside, writeFileAtomic } from './safe-fs';
import { sha256Hex } from './sha256';

export const MODEL_FORMAT = 'graphc-model';
export const MODEL_VERSION = 1;

/** One tensor in the weights file (docs/model-format.md). */
export interface WeightEntry {
  name: string;
  kind: 'const' | 'variable';
  dtype: DType;
  shape: number[];
  offset: number;
  byteLength: number;
  sha256: string;
}

export interface ModelJson {
  format: typeof MODEL_FORMAT;
  version: number;
  producer: string;
  nodes: {
    name: string;
    op: string;
    inputs: string[];
    control?: string[];
    attrs: Record<string, unknown>;
    outputs: { dtype: DType; shape: number[] }[];
  }[];
  variables: { name: string; initializer: string }[];
  signature?: { inputs: string[]; outputs: string[] };
  metadata?: Record<string, unknown>;
  weights: { file: string; byteLength: number; entries: WeightEntry[] };
}

/** Reads the current values of a session's variables (structurally: graph never imports runtime). */
export interface VariableSource {
  variables: { names(): string[]; has(name: string): boolean; read(name: string): Promise<TensorValue> };
}

export interface LoadedModel {
  graph: Graph;
  /** Saved variable values (from `saveModel(..., { session })`), by variable name. */
  variables: Map<string, TensorValue>;
  /** Declared inputs and outputs (placeholders and fetches) when the model names them. */
  signature: { inputs: string[]; outputs: string[] };
}

const ALIGN = 8;
const TENSOR_REF = '$tensor';

/** Unknown dims are `null` in the API and -1 on disk. */
const shapeToDisk = (shape: (number | null)[]): number[] => shape.map((d) => (d === null ? -1 : d));
const shapeFromDisk = (shape: number[]): (number | null)[] => shape.map((d) => (d === -1 ? null : d));

class WeightsWriter {
  readonly entries: WeightEntry[] = [];
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  add(name: string, kind: WeightEntry['kind'], value: TensorValue): void {
    const bytes = encodeTensorData(value.dtype, value.data);
    const pad = (ALIGN - (this.size % ALIGN)) % ALIGN;
    if (pad) this.chunks.push(new Uint8Array(pad));
    this.size += pad;
    this.entries.push({
      name,
      kind,
      dtype: value.dtype,
      shape: [...value.shape],
      offset: this.size,
      byteLength: bytes.byteLength,
      sha256: sha256Hex(bytes),
    });
    this.chunks.push(bytes);
    this.size += bytes.byteLength;
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

function encodeAttrs(nodeName: string, op: string, attrs: Attrs, weights: WeightsWriter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (op === 'placeholder' && key === 'shape') out[key] = shapeToDisk(value as (number | null)[]);
    else out[key] = encodeValue(value, `${nodeName}/${key}`, weights);
  }
  return out;
}

/** Tensors anywhere in an attr (a function body's constants too) go to the weights file; the JSON keeps a reference. */
function encodeValue(value: unknown, entryName: string, weights: WeightsWriter): unknown {
  if (isTensorValue(value)) {
    weights.add(entryName, 'const', value);
    return { [TENSOR_REF]: entryName };
  }
  if (Array.isArray(value)) return value.map((v, i) => encodeValue(v, `${entryName}/${i}`, weights));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeValue(v, `${entryName}/${k}`, weights)]));
  }
  return value;
}

/** The model.json document and weights bytes of a graph (plus variable values, if given). */
export function serializeGraph(graph: Graph, variableValues = new Map<string, TensorValue>(), weightsFile = 'weights.bin'): { json: ModelJson; weights: Uint8Array } {
  const weights = new WeightsWriter();
  const nodes = graph.nodes.map((n) => ({
    name: n.name,
    op: n.op,
    inputs: n.inputs.map((i) => i.name),
    ...(n.controlInputs.length ? { control: n.controlInputs.map((c) => c.name) } : {}),
    attrs: encodeAttrs(n.name, n.op, n.attrs, weights),
    outputs: n.outputs.map((o) => ({ dtype: o.dtype, shape: shapeToDisk(o.shape) })),
  }));
  for (const [name, value] of variableValues) weights.add(name, 'variable', value);
  const bytes = weights.bytes();
  const signature = graph.metadata.signature as ModelJson['signature'] | undefined;
  const metadata = { ...graph.metadata };
  delete metadata.signature;
  const json: ModelJson = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    producer: 'graphc 0.1.0',
    nodes,
    variables: [...graph.variableInitializers].map(([name, init]) => ({ name, initializer: init.name })),
    ...(signature ? { signature } : {}),
    ...(Object.keys(metadata).length ? { metadata } : {}),
    weights: { file: weightsFile, byteLength: bytes.byteLength, entries: weights.entries },
  };
  return { json, weights: bytes };
}

/**
 * Saves `graph` as `file` (model.json) plus a weights file beside it. With `session`, the current
 * values of its variables are saved too, so the loaded model runs with trained weights.
 * Both files are written atomically.
 */
export async function saveModel(graph: Graph, file: string, options: { session?: VariableSource } = {}): Promise<void> {
  const values = new Map<string, TensorValue>();
  const session = options.session;
  if (session) {
    for (const v of graph.variables()) {
      if (session.variables.has(v.node.name)) values.set(v.node.name, await session.variables.read(v.node.name));
    }
  }
  const base = path.basename(file).replace(/\.json$/i, '');
  const weightsName = `${base}.weights.bin`;
  const { json, weights } = serializeGraph(graph, values, weightsName);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(path.join(path.dirname(file), weightsName), weights);
  writeFileAtomic(file, `${JSON.stringify(json, null, 1)}\n`);
}

type ModelLoader = (file: string) => Promise<LoadedModel>;
const loaders = new Map<string, ModelLoader>();

/** Lets another format (ONNX) plug into `loadModel` by file extension, e.g. '.onnx'. */
export function registerModelLoader(extension: string, loader: ModelLoader): void {
  loaders.set(extension.toLowerCase(), loader);
}

/** Loads a model.json (or a file of a registered format such as .onnx) into a new graph. */
export async function loadModel(file: string): Promise<LoadedModel> {
  const ext = path.extname(file).toLowerCase();
  const loader = loaders.get(ext);
  if (loader) return loader(file);
  if (ext !== '.json') {
    throw new FormatError(`model '${file}': unknown model file type '${ext}' (expected .json${[...loaders.keys()].map((e) => ` or ${e}`).join('')})`);
  }
  const text = readFileOrThrow(file, 'model').toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`model '${file}' is not valid JSON: ${(e as Error).message}`);
  }
  return parseModelJson(doc, path.dirname(file), file);
}

function fail(file: string, message: string): never {
  throw new FormatError(`model '${file}': ${message}`);
}

/** The weights file a model.json names, read from (and confined to) its folder; none when it has no entries. */
function readWeightsFile(json: ModelJson, folder: string, file: string): Uint8Array {
  const w = json.weights;
  if (!w || typeof w !== 'object' || !Array.isArray(w.entries)) fail(file, "missing 'weights' section");
  if (w.entries.length === 0) return new Uint8Array(0);
  return readFileOrThrow(resolveInside(folder, w.file, `model '${file}' weights`), 'weights file');
}

/** The tensors of a weights file's bytes, each entry checked against the manifest (size, bounds, checksum). */
function decodeWeights(json: ModelJson, bytes: Uint8Array, file: string): Map<string, TensorValue> {
  const w = json.weights;
  if (!w || typeof w !== 'object' || !Array.isArray(w.entries)) fail(file, "missing 'weights' section");
  const out = new Map<string, TensorValue>();
  if (w.entries.length === 0) return out;
  if (bytes.byteLength !== w.byteLength) {
    fail(file, `weights file '${w.file}' has ${bytes.byteLength} bytes, the manifest says ${w.byteLength} (truncated or wrong file)`);
  }
  for (const e of w.entries) {
    if (!e || typeof e !== 'object' || typeof e.name !== 'string') fail(file, 'a weights entry is not an object with a name');
    if (!isDType(e.dtype) || !Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(file, `weights entry '${e.name}' has an invalid dtype or shape`);
    }
    const count = sizeOf(e.shape);
    const expected = count * BYTES_PER_ELEMENT[e.dtype];
    if (e.byteLength !== expected || !Number.isInteger(e.offset) || e.offset < 0 || e.offset + e.byteLength > bytes.byteLength) {
      fail(file, `weights entry '${e.name}' (offset ${e.offset}, ${e.byteLength} bytes) does not fit ${e.dtype} [${e.shape}] in '${w.file}'`);
    }
    const slice = bytes.subarray(e.offset, e.offset + e.byteLength);
    const digest = sha256Hex(slice);
    if (digest !== e.sha256) fail(file, `weights entry '${e.name}' fails its checksum: '${w.file}' is corrupt`);
    out.set(e.name, { dtype: e.dtype, shape: [...e.shape], data: decodeTensorData(e.dtype, slice, count) });
  }
  return out;
}

function decodeAttrs(file: string, node: ModelJson['nodes'][number], tensors: Map<string, TensorValue>): Attrs {
  const attrs: Attrs = {};
  for (const [key, value] of Object.entries(node.attrs ?? {})) {
    if (node.op === 'placeholder' && key === 'shape' && Array.isArray(value)) attrs[key] = shapeFromDisk(value as number[]);
    else attrs[key] = decodeValue(value, (message) => fail(file, `node '${node.name}' attr '${key}' ${message}`), tensors, 0);
  }
  return attrs;
}

/** Structured attrs nest this deep at most (a function body inside a function body inside ...). */
const MAX_ATTR_DEPTH = 64;

function decodeValue(value: unknown, fail: (message: string) => never, tensors: Map<string, TensorValue>, depth: number): AttrValue {
  if (depth > MAX_ATTR_DEPTH) fail(`nests more than ${MAX_ATTR_DEPTH} levels deep`);
  if (Array.isArray(value)) return value.map((v) => decodeValue(v, fail, tensors, depth + 1));
  if (value && typeof value === 'object') {
    if (TENSOR_REF in value) {
      const ref = (value as Record<string, string>)[TENSOR_REF];
      return tensors.get(ref) ?? fail(`refers to missing weights entry '${ref}'`);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeValue(v, fail, tensors, depth + 1)]));
  }
  return value as AttrValue;
}

/**
 * A model from a model.json document and its weights file's bytes, read by the caller: a web page
 * fetches both (`modelFromBytes(await res.json(), new Uint8Array(await w.arrayBuffer()))`).
 * The same checks as loadModel; `file` names the model in errors.
 */
export function modelFromBytes(doc: unknown, weights: Uint8Array, file = 'model.json'): LoadedModel {
  return parseModelJsonWith(doc, (json) => decodeWeights(json, weights, file), file);
}

/** Builds a graph from a parsed model.json document; every problem is a FormatError naming the node. */
export function parseModelJson(doc: unknown, folder: string, file = 'model.json'): LoadedModel {
  return parseModelJsonWith(doc, (json) => decodeWeights(json, readWeightsFile(json, folder, file), file), file);
}

function parseModelJsonWith(doc: unknown, weightsOf: (json: ModelJson) => Map<string, TensorValue>, file: string): LoadedModel {
  const json = doc as ModelJson;
  if (!json || typeof json !== 'object' || json.format !== MODEL_FORMAT) fail(file, `not a graphc model (format must be '${MODEL_FORMAT}')`);
  if (json.version !== MODEL_VERSION) fail(file, `version ${json.version} is not supported (this graphc reads version ${MODEL_VERSION})`);
  if (!Array.isArray(json.nodes)) fail(file, "missing 'nodes' list");
  const unknown = [...new Set(json.nodes.map((n) => n?.op).filter((op) => typeof op !== 'string' || !hasOp(op)))];
  if (unknown.length) throw new UnsupportedOpError(`model '${file}' uses unsupported ops: ${unknown.join(', ')}`, unknown.map(String));
  const tensors = weightsOf(json);
  const graph = new Graph();
  for (const n of json.nodes) {
    if (typeof n.name !== 'string' || !Array.isArray(n.inputs ?? []) || !Array.isArray(n.control ?? [])) fail(file, 'a node lacks a name or inputs list');
    if (n.attrs !== undefined && (n.attrs === null || typeof n.attrs !== 'object' || Array.isArray(n.attrs))) fail(file, `node '${n.name}' attrs must be an object`);
    let inputs: SymbolicTensor[];
    let control;
    try {
      inputs = (n.inputs ?? []).map((i) => graph.tensor(i));
      control = (n.control ?? []).map((c) => graph.node(c));
    } catch {
      fail(file, `node '${n.name}' refers to an input that is not defined before it (missing node or cycle)`);
    }
    try {
      const node = graph.addNode(n.op, inputs, decodeAttrs(file, n, tensors), { name: n.name, controlInputs: control });
      if (node.name !== n.name) fail(file, `node name '${n.name}' is used twice`);
    } catch (e) {
      if (e instanceof FormatError) throw e;
      // an op's inference meets attrs of the wrong type only in a hand-edited or broken file
      fail(file, `node '${n.name}' (op '${n.op}'): ${e instanceof GraphcError ? e.message : `invalid attrs or inputs (${(e as Error).message})`}`);
    }
  }
  if (json.variables !== undefined && !Array.isArray(json.variables)) fail(file, "'variables' must be a list");
  for (const v of json.variables ?? []) {
    if (!v || typeof v.name !== 'string' || typeof v.initializer !== 'string') fail(file, "a 'variables' entry needs a name and an initializer");
    if (!graph.hasNode(v.name) || !graph.hasNode(v.initializer)) fail(file, `variable '${v.name}' or its initializer is missing`);
    graph.variableInitializers.set(v.name, graph.node(v.initializer));
  }
  if (json.metadata && typeof json.metadata === 'object') Object.assign(graph.metadata, json.metadata);
  const variables = new Map<string, TensorValue>();
  for (const e of json.weights.entries) {
    if (e.kind !== 'variable') continue;
    if (!graph.hasNode(e.name) || graph.node(e.name).op !== 'variable') fail(file, `saved value '${e.name}' names no variable`);
    variables.set(e.name, tensors.get(e.name)!);
  }
  const signature = json.signature ?? {
    inputs: graph.placeholders().map((p) => p.name),
    outputs: [],
  };
  if (json.signature !== undefined) {
    const sig = json.signature as { inputs?: unknown; outputs?: unknown } | null;
    const names = (list: unknown): list is string[] => Array.isArray(list) && list.every((s) => typeof s === 'string');
    if (!sig || !names(sig.inputs) || !names(sig.outputs)) fail(file, "'signature' must have 'inputs' and 'outputs' lists of tensor names");
    for (const t of [...sig.inputs, ...sig.outputs]) {
      try {
        graph.tensor(t);
      } catch {
        fail(file, `signature names '${t}', which is not a tensor of the graph`);
      }
    }
    graph.metadata.signature = json.signature;
  }
  return { graph, variables, signature };
}
