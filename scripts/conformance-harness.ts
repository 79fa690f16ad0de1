/**
 * Runs ONNX backend test cases (a folder with model.onnx and test_data_set_N/{input,output}_K.pb)
 * through graphc and compares with the expected outputs, as ONNX's own backend test runner does:
 * same dtype (after graphc's widening) and shape, values within rtol 1e-3 / atol 1e-7, NaN equal to
 * NaN. Shared by `npm run conformance` (every suite) and the jest subset.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BackendName, GraphcError, LoadedModel, Session, TensorValue, UnsupportedOpError, dtypeOfOnnx, importOnnx, onnx, readTensorProtoFile } from 'graphc';

export const DEFAULT_DATA = '/usr/share/libonnx-testdata/data';
export const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];

export type Outcome = 'pass' | 'fail' | 'unsupported' | 'error';

export interface CaseResult {
  suite: string;
  name: string;
  ops: string[];
  outcome: Outcome;
  reason?: string;
  ms: number;
}

const RTOL = 1e-3;
const ATOL = 1e-7;

/** A case's model file, read once and decoded once (null where it does not decode: the import then says why). */
interface ModelFile {
  file: string;
  bytes: Uint8Array;
  proto: onnx.ModelProto | null;
}

function readModelFile(file: string): ModelFile {
  const bytes = fs.readFileSync(file);
  let proto: onnx.ModelProto | null = null;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch {
    // an unreadable model fails in the import with its own error
  }
  return { file, bytes, proto };
}

/** The model, imported from the bytes already read. */
function importCase(m: ModelFile): LoadedModel {
  return importOnnx(m.bytes, { file: m.file, folder: path.dirname(m.file) });
}

/** The op types of a model (for the per-op table), default domain unprefixed. */
export function modelOps(model: string | onnx.IModelProto | null): string[] {
  const proto = typeof model === 'string' ? readModelFile(model).proto : model;
  return [...new Set((proto?.graph?.node ?? []).map((n) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : (n.opType ?? ''))))].sort();
}

const UINT16 = 4;
const BFLOAT16 = 16;

/** The declared element types of a model's graph inputs and outputs, by ONNX name. */
function declaredTypes(proto: onnx.IModelProto | null): Map<string, number> {
  const types = new Map<string, number>();
  const g = proto?.graph;
  for (const v of [...(g?.input ?? []), ...(g?.output ?? [])]) if (v.name) types.set(v.name, v.type?.tensorType?.elemType ?? 0);
  return types;
}

/**
 * numpy has no bfloat16, so ONNX's test data store a BFLOAT16 input or output as the UINT16 of its
 * bits; read under the model's declared type, that is the float32 graphc widens bfloat16 to.
 */
function asDeclared(value: TensorValue, elemType: number, declared: number | undefined): { value: TensorValue; elemType: number } {
  if (declared !== BFLOAT16 || elemType !== UINT16) return { value, elemType };
  const bits = new Uint32Array(value.data.length);
  for (let i = 0; i < bits.length; i++) bits[i] = Number(value.data[i]) << 16;
  return { value: { dtype: 'float32', shape: value.shape, data: new Float32Array(bits.buffer) }, elemType: BFLOAT16 };
}

/** One test_data_set_N folder: the feeds by graphc input name, and the expected outputs in order. */
export interface TestSet {
  feeds: Record<string, TensorValue>;
  expected: TensorValue[];
}

/**
 * Every test_data_set_N of the case in `dir` (model `model`, loaded from `modelFile`), in order:
 * inputs matched to the model's inputs by ONNX name (else by position), values read under the
 * model's declared types (see asDeclared, read from the model file once for all sets).
 */
export function readTestSets(dir: string, model: LoadedModel, modelFile: string | onnx.IModelProto | null): TestSet[] {
  const declared = declaredTypes(typeof modelFile === 'string' ? readModelFile(modelFile).proto : modelFile);
  const sets = fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
  return sets.map((set) => readTestSet(path.join(dir, set), model, declared));
}

function readTestSet(setDir: string, model: LoadedModel, declared: Map<string, number>): TestSet {
  const meta = model.graph.metadata.onnx as { inputs: Record<string, string>; outputs: Record<string, string> };
  const onnxNameOf = (map: Record<string, string>, graphcName: string): string => Object.keys(map).find((k) => map[k] === graphcName) ?? graphcName;
  const files = fs.readdirSync(setDir);
  const numbered = (prefix: string): string[] =>
    files
      .map((f) => new RegExp(`^${prefix}_(\\d+)\\.pb$`).exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => Number(a[1]) - Number(b[1]))
      .map((m) => path.join(setDir, m[0]));
  const feeds: Record<string, TensorValue> = {};
  numbered('input').forEach((f, i) => {
    const read = readTensorProtoFile(f);
    const target = meta.inputs[read.name] ?? model.signature.inputs[i];
    feeds[target] = asDeclared(read.value, read.elemType, declared.get(onnxNameOf(meta.inputs, target))).value;
  });
  const expected = numbered('output').map((f, k) => {
    const read = readTensorProtoFile(f);
    const graphcName = model.signature.outputs[k] ?? '';
    const { value, elemType } = asDeclared(read.value, read.elemType, declared.get(onnxNameOf(meta.outputs ?? {}, graphcName)));
    return { ...value, dtype: dtypeOfOnnx(elemType, f) };
  });
  return { feeds, expected };
}

/** First mismatch between an expected and an actual value, or undefined when they agree. */
export function compare(expected: TensorValue, actual: TensorValue): string | undefined {
  if (expected.dtype !== actual.dtype) return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  if (expected.shape.length !== actual.shape.length || expected.shape.some((d, i) => d !== actual.shape[i])) {
    return `shape [${actual.shape}], expected [${expected.shape}]`;
  }
  const exact = expected.dtype === 'bool' || expected.dtype === 'int32' || expected.dtype === 'int64';
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i];
    const a = actual.data[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (exact ? e !== a : !(Math.abs(a - e) <= ATOL + RTOL * Math.abs(e)) && !(e === a)) {
      return `value ${a} at flat index ${i}, expected ${e}`;
    }
  }
  return undefined;
}

/** Runs one test case folder (on the cpu backend unless `backend` names another); never throws. */
export async function runCase(dir: string, suite = path.basename(path.dirname(dir)), backend: BackendName = 'cpu'): Promise<CaseResult> {
  const start = Date.now();
  const name = path.basename(dir);
  const m = readModelFile(path.join(dir, 'model.onnx'));
  const ops = modelOps(m.proto);
  const done = (outcome: Outcome, reason?: string): CaseResult => ({ suite, name, ops, outcome, reason, ms: Date.now() - start });
  let session: Session | undefined;
  try {
    const model = importCase(m);
    const sets = readTestSets(dir, model, m.proto);
    if (!sets.length) return done('error', 'no test data sets');
    session = new Session(model.graph, { backend });
    for (const { feeds, expected } of sets) {
      const outputs = model.signature.outputs;
      if (expected.length !== outputs.length) return done('fail', `model has ${outputs.length} outputs, test data ${expected.length}`);
      const values = await session.run(outputs, feeds);
      for (let k = 0; k < outputs.length; k++) {
        const problem = compare(expected[k], values[k]);
        if (problem) return done('fail', `output ${k} ('${outputs[k]}'): ${problem}`);
      }
    }
    return done('pass');
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
    if (e instanceof UnsupportedOpError || (e instanceof GraphcError && /not supported|unsupported/i.test(message))) return done('unsupported', message);
    return done(e instanceof GraphcError ? 'fail' : 'error', `${e instanceof Error ? e.name : 'Error'}: ${message}`);
  } finally {
    session?.close();
  }
}

/** Every case of `suite` under `root`, in name order. */
export function listCases(root: string, suite: string): string[] {
  const dir = path.join(root, suite);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'model.onnx')))
    .sort()
    .map((d) => path.join(dir, d));
}

/** onnxruntime-node, loaded on first use (a devDependency: only the export checks need it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Ort = any;
let ortModule: Ort | undefined;
export function ort(): Ort {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ortModule ??= require('onnxruntime-node');
  return ortModule;
}

const ORT_TYPES: Record<string, string> = { float32: 'float32', float64: 'float64', int32: 'int32', int64: 'int64', bool: 'bool' };

export function toOrtTensor(v: TensorValue): unknown {
  const O = ort();
  // plain arrays: onnxruntime builds its typed array in its own realm (jest runs tests in another)
  let data: unknown[] = Array.from(v.data as ArrayLike<number>);
  if (v.dtype === 'int64') data = data.map((x) => BigInt(Math.trunc(x as number)));
  else if (v.dtype === 'bool') data = data.map((x) => x !== 0);
  return new O.Tensor(ORT_TYPES[v.dtype], data, v.shape);
}

export function fromOrtTensor(t: { type: string; data: ArrayLike<number | bigint>; dims: readonly number[] }): TensorValue {
  // narrow integers widen to int32, as graphc reads them
  const dtype = ({ float32: 'float32', float64: 'float64', int32: 'int32', int64: 'int64', bool: 'bool', int8: 'int32', uint8: 'int32', int16: 'int32', uint16: 'int32' } as Record<string, TensorValue['dtype']>)[t.type];
  if (!dtype) throw new Error(`onnxruntime returned a ${t.type} tensor`);
  const data = Array.from(t.data as ArrayLike<number | bigint>, (x) => Number(x));
  const Ctor = dtype === 'float32' ? Float32Array : dtype === 'int32' ? Int32Array : dtype === 'bool' ? Uint8Array : Float64Array;
  return { dtype, shape: [...t.dims], data: Ctor.from(data) };
}

/**
 * Runs exported ONNX bytes in onnxruntime on graphc-named feeds; values by output order. Under jest
 * it runs in a child process (scripts/ort-run.js): onnxruntime checks typed arrays against its own
 * realm, which jest's module sandbox is not.
 */
export async function runInOrt(bytes: Uint8Array, feeds: Record<string, TensorValue>, outputs: string[]): Promise<TensorValue[]> {
  if (process.env.JEST_WORKER_ID !== undefined) return runInOrtProcess(bytes, feeds, outputs);
  const session = await ort().InferenceSession.create(bytes);
  const ortFeeds: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(feeds)) if (session.inputNames.includes(k)) ortFeeds[k] = toOrtTensor(v);
  const result = await session.run(ortFeeds);
  return outputs.map((o) => fromOrtTensor(result[o]));
}

/**
 * Import, export and run in onnxruntime: the round trip ONNX -> graphc -> ONNX must keep the case's
 * expected outputs.
 */
export async function runRoundTrip(dir: string, suite = path.basename(path.dirname(dir))): Promise<CaseResult> {
  const start = Date.now();
  const name = path.basename(dir);
  const m = readModelFile(path.join(dir, 'model.onnx'));
  const ops = modelOps(m.proto);
  const done = (outcome: Outcome, reason?: string): CaseResult => ({ suite, name, ops, outcome, reason, ms: Date.now() - start });
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { exportOnnx } = require('graphc') as typeof import('graphc');
    const model = importCase(m);
    const bytes = exportOnnx(model.graph, { outputs: model.signature.outputs });
    for (const { feeds, expected } of readTestSets(dir, model, m.proto)) {
      let values: TensorValue[];
      try {
        values = await runInOrt(bytes, feeds, model.signature.outputs);
      } catch (e) {
        return done('fail', `onnxruntime: ${(e as Error).message.split('\n')[0].slice(0, 300)}`);
      }
      for (let k = 0; k < expected.length; k++) {
        const problem = compare(expected[k], values[k]);
        if (problem) return done('fail', `output ${k}: ${problem}`);
      }
    }
    return done('pass');
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
    return done(e instanceof UnsupportedOpError ? 'unsupported' : 'error', message);
  }
}

export interface OrtRequest {
  bytes: Uint8Array;
  feeds: Record<string, TensorValue>;
  outputs: string[];
}

/** Runs several models in one onnxruntime child process; each reply is the outputs or an Error. */
export function runInOrtBatch(requests: OrtRequest[]): (TensorValue[] | Error)[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { execFileSync } = require('child_process') as typeof import('child_process');
  const b64 = (v: ArrayLike<number>) => Buffer.from(Float64Array.from(v as ArrayLike<number>).buffer).toString('base64');
  const request = JSON.stringify(
    requests.map((r) => ({
      model: Buffer.from(r.bytes).toString('base64'),
      feeds: Object.fromEntries(Object.entries(r.feeds).map(([k, v]) => [k, { dtype: v.dtype, shape: v.shape, data: b64(v.data) }])),
      outputs: r.outputs,
    })),
  );
  const stdout = execFileSync(process.execPath, [path.join(__dirname, 'ort-run.js')], { input: request, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] });
  const replies = JSON.parse(stdout.toString('utf8')) as { error?: string; outputs: { dtype: string; shape: number[]; data: string }[] }[];
  return replies.map((reply) => {
    if (reply.error) return new Error(`onnxruntime: ${reply.error}`);
    return reply.outputs.map((o) => {
      const raw = Buffer.from(o.data, 'base64');
      const v = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      return fromOrtTensor({ type: o.dtype, dims: o.shape, data: Array.from(v) });
    });
  });
}

async function runInOrtProcess(bytes: Uint8Array, feeds: Record<string, TensorValue>, outputs: string[]): Promise<TensorValue[]> {
  const [reply] = runInOrtBatch([{ bytes, feeds, outputs }]);
  if (reply instanceof Error) throw reply;
  return reply;
}
