/**
 * ONNX -> graphc -> ONNX keeps outputs: conformance cases are imported, exported with exportOnnx and
 * run in onnxruntime-node, which must reproduce the cases' expected outputs. A spread sample of the
 * passing cases runs here (all of them: `npm run conformance -- --round-trip`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { TensorValue, dtypeOfOnnx, exportOnnx, loadModel, readTensorProtoFile } from 'graphc';
import { DEFAULT_DATA, OrtRequest, compare, runInOrtBatch } from '../../scripts/conformance-harness';

const data = process.env.ONNX_TESTDATA ?? DEFAULT_DATA;
const passing = fs
  .readFileSync(path.join(__dirname, 'conformance-passing.txt'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'));
// every 8th case, plus every pytorch case (the common-model ops)
const sample = passing.filter((c, i) => i % 8 === 0 || c.startsWith('pytorch'));

interface Prepared {
  name: string;
  request?: OrtRequest;
  expected: TensorValue[];
  error?: string;
}

async function prepare(entry: string): Promise<Prepared> {
  const dir = path.join(data, entry);
  try {
    const model = await loadModel(path.join(dir, 'model.onnx'));
    const onnxNames = (model.graph.metadata.onnx as { inputs: Record<string, string> }).inputs;
    const set = path.join(dir, 'test_data_set_0');
    const files = fs.readdirSync(set).sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
    const feeds: Record<string, TensorValue> = {};
    files.filter((f) => f.startsWith('input_')).forEach((f, i) => {
      const { name, value } = readTensorProtoFile(path.join(set, f));
      feeds[onnxNames[name] ?? model.signature.inputs[i]] = value;
    });
    const expected = files
      .filter((f) => f.startsWith('output_'))
      .map((f) => {
        const { value, elemType } = readTensorProtoFile(path.join(set, f));
        return { ...value, dtype: dtypeOfOnnx(elemType, f) };
      });
    const bytes = exportOnnx(model.graph, { outputs: model.signature.outputs });
    return { name: entry, request: { bytes, feeds, outputs: model.signature.outputs }, expected };
  } catch (e) {
    return { name: entry, expected: [], error: (e as Error).message };
  }
}

(fs.existsSync(data) ? test : test.skip)(`ONNX -> graphc -> ONNX keeps the expected outputs (${sample.length} cases in onnxruntime)`, async () => {
  const prepared = await Promise.all(sample.map(prepare));
  const ready = prepared.filter((p) => p.request);
  const replies = runInOrtBatch(ready.map((p) => p.request!));
  const failures = prepared.filter((p) => p.error).map((p) => `${p.name}: ${p.error}`);
  ready.forEach((p, i) => {
    const reply = replies[i];
    if (reply instanceof Error) return failures.push(`${p.name}: ${reply.message}`);
    p.expected.forEach((e, k) => {
      const problem = compare(e, reply[k]);
      if (problem) failures.push(`${p.name}: output ${k}: ${problem}`);
    });
  });
  expect(failures).toEqual([]);
}, 120000);
