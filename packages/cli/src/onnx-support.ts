import * as fs from 'fs';
import * as path from 'path';
import { FeedError, FormatError, LoadedModel, TensorValue, readTensorProtoFile, sanitizeName, setOnnxConstantEvaluator } from '@graphc/graph';
import { evaluateNode } from '@graphc/runtime';
import { inputFeedsHook } from './commands/run-inputs';

/**
 * Wires ONNX support across packages: the importer folds constant subgraphs with the runtime's CPU
 * kernels, and `graphc run --inputs DIR` reads ONNX test-data TensorProto files.
 */
setOnnxConstantEvaluator(evaluateNode);

/**
 * The feeds in an ONNX test-data folder: `input_0.pb`, `input_1.pb`, ... in numeric order, each bound
 * to the model input its TensorProto names, else to the model input at its position.
 */
export function readOnnxInputs(dir: string, model: Pick<LoadedModel, 'graph' | 'signature'>): Map<string, TensorValue> {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (e) {
    throw new FormatError(`--inputs folder '${dir}' cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const files = entries
    .map((f) => /^input_(\d+)\.pb$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  if (files.length === 0) throw new FeedError(`--inputs folder '${dir}' holds no input_0.pb, input_1.pb, ... files`);
  const inputs = model.signature.inputs;
  const onnxNames = ((model.graph.metadata.onnx as { inputs?: Record<string, string> } | undefined)?.inputs ?? {}) as Record<string, string>;
  const feeds = new Map<string, TensorValue>();
  files.forEach((m, position) => {
    const file = path.join(dir, m[0]);
    const { name, value } = readTensorProtoFile(file);
    let target = name ? (onnxNames[name] ?? (inputs.includes(sanitizeName(name)) ? sanitizeName(name) : undefined)) : undefined;
    if (target === undefined || feeds.has(target)) {
      target = inputs[position];
      if (target === undefined) throw new FeedError(`'${file}' is input ${position}, but the model has ${inputs.length} inputs`);
    }
    feeds.set(target, value);
  });
  return feeds;
}

inputFeedsHook.read = async (dir, model) => readOnnxInputs(dir, model);
