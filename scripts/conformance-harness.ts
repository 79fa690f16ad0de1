/**
 * Runs ONNX backend test cases (a folder with model.onnx and test_data_set_N/{input,output}_K.pb)
 * through graphc and compares with the expected outputs, as ONNX's own backend test runner does:
 * same dtype (after graphc's widening) and shape, values within rtol 1e-3 / atol 1e-7, NaN equal to
 * NaN. Shared by `npm run conformance` (every suite) and the jest subset.
 */
import * as fs from 'fs';
import * as path from 'path';
import { GraphcError, Session, TensorValue, UnsupportedOpError, dtypeOfOnnx, loadModel, onnx, readTensorProtoFile } from 'graphc';

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

/** The op types of a model file (for the per-op table), default domain unprefixed. */
export function modelOps(file: string): string[] {
  try {
    const m = onnx.ModelProto.decode(fs.readFileSync(file));
    return [...new Set((m.graph?.node ?? []).map((n) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : (n.opType ?? ''))))].sort();
  } catch {
    return [];
  }
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

/** Runs one test case folder; never throws. */
export async function runCase(dir: string, suite = path.basename(path.dirname(dir))): Promise<CaseResult> {
  const start = Date.now();
  const name = path.basename(dir);
  const file = path.join(dir, 'model.onnx');
  const ops = modelOps(file);
  const done = (outcome: Outcome, reason?: string): CaseResult => ({ suite, name, ops, outcome, reason, ms: Date.now() - start });
  let session: Session | undefined;
  try {
    const model = await loadModel(file);
    const sets = fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
    if (!sets.length) return done('error', 'no test data sets');
    const onnxNames = (model.graph.metadata.onnx as { inputs: Record<string, string> }).inputs;
    session = new Session(model.graph);
    for (const set of sets) {
      const setDir = path.join(dir, set);
      const files = fs.readdirSync(setDir);
      const numbered = (prefix: string) =>
        files
          .map((f) => new RegExp(`^${prefix}_(\\d+)\\.pb$`).exec(f))
          .filter((m): m is RegExpExecArray => m !== null)
          .sort((a, b) => Number(a[1]) - Number(b[1]))
          .map((m) => path.join(setDir, m[0]));
      const feeds: Record<string, TensorValue> = {};
      numbered('input').forEach((f, i) => {
        const { name: inputName, value } = readTensorProtoFile(f);
        const target = onnxNames[inputName] ?? model.signature.inputs[i];
        feeds[target] = value;
      });
      const expectedFiles = numbered('output');
      const outputs = model.signature.outputs;
      if (expectedFiles.length !== outputs.length) return done('fail', `model has ${outputs.length} outputs, test data ${expectedFiles.length}`);
      const values = await session.run(outputs, feeds);
      for (let k = 0; k < outputs.length; k++) {
        const { value, elemType } = readTensorProtoFile(expectedFiles[k]);
        const expected = { ...value, dtype: dtypeOfOnnx(elemType, expectedFiles[k]) };
        const problem = compare(expected, values[k]);
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
