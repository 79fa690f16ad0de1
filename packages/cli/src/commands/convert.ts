import type { Command } from 'commander';
import * as path from 'path';
import { exportOnnx, loadModel, saveModel, writeFileAtomic } from '@graphc/graph';
import { UsageError } from '../cli-error';

/**
 * `graphc convert IN OUT`: model.json <-> .onnx by extension. Variables are written with their saved
 * values (ONNX initializers); ONNX inputs and outputs keep their names. `--contrib-ops` writes
 * onnxruntime's com.microsoft forms where they keep what graphc holds (4-bit weights stay packed as
 * MatMulNBits, where standard ONNX needs them dequantized to float).
 */
export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('convert between model.json and .onnx (by file extension)')
    .argument('<in>', 'model.json or .onnx file')
    .argument('<out>', 'model.json or .onnx file to write')
    .option('--contrib-ops', "to .onnx: write onnxruntime's com.microsoft ops where they keep graphc's form (matmulNBits as MatMulNBits, its weights packed)")
    .action(async (input: string, output: string, opts: { contribOps?: boolean }) => {
      const ext = path.extname(output).toLowerCase();
      if (ext !== '.json' && ext !== '.onnx') throw new UsageError(`convert: output '${output}' must end in .json or .onnx`);
      const model = await loadModel(input);
      if (ext === '.json') {
        await saveModel(model.graph, output, { session: savedValues(model.variables) });
        return;
      }
      const outputs = model.signature.outputs.length ? model.signature.outputs : undefined;
      writeFileAtomic(output, exportOnnx(model.graph, { outputs, variables: model.variables, contribOps: opts.contribOps === true }));
    });
}

/** A model's saved variable values in the shape saveModel reads a session's through. */
function savedValues(values: Map<string, import('@graphc/graph').TensorValue>) {
  return { variables: { names: () => [...values.keys()], has: (n: string) => values.has(n), read: async (n: string) => values.get(n)! } };
}
