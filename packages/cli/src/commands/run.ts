import type { Command } from 'commander';
import { FeedError, TensorValue, getOpDef, loadModel } from '@graphc/graph';
import { Session, initializeFromModel } from '@graphc/runtime';
import { readFeedsFile, writeOutputs } from '../io-files';
import { UsageError } from '../cli-error';
import { inputFeedsHook } from './run-inputs';

/** Names of the tensors to fetch: --fetch, else the model's declared outputs, else its sinks. */
export function defaultFetches(graph: import('@graphc/graph').Graph, declared: string[]): string[] {
  if (declared.length) return declared;
  const consumers = graph.consumers();
  return graph.nodes
    .filter((n) => n.outputs.length > 0 && consumers.get(n)!.length === 0 && !['const', 'variable', 'placeholder'].includes(n.op) && !getOpDef(n.op).assignment)
    .map((n) => n.name);
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a saved model (model.json or .onnx) and print its outputs as JSON')
    .argument('<model>', 'model.json or .onnx file')
    .option('--feeds <file>', 'JSON file of input tensors keyed by name')
    .option('--inputs <dir>', 'folder of ONNX TensorProto files input_0.pb, input_1.pb, ...')
    .option('--out <file>', 'write outputs to this JSON file instead of stdout')
    .option('--backend <name>', 'cpu | webgpu | gpujs', 'cpu')
    .option('--fetch <names...>', 'tensors to fetch (default: the model outputs)')
    .option('-O, --level <n>', 'optimization level 0-3', '2')
    .action(async (modelFile: string, opts: { feeds?: string; inputs?: string; out?: string; backend: string; fetch?: string[]; level: string }) => {
      const level = Number(opts.level);
      if (![0, 1, 2, 3].includes(level)) throw new UsageError(`--level must be 0, 1, 2 or 3, got '${opts.level}'`);
      const model = await loadModel(modelFile);
      const feeds = new Map<string, TensorValue>();
      if (opts.feeds) for (const [k, v] of readFeedsFile(opts.feeds)) feeds.set(k, v);
      if (opts.inputs) for (const [k, v] of await inputFeedsHook.read(opts.inputs, model)) feeds.set(k, v);
      for (const name of feeds.keys()) {
        if (!model.graph.hasNode(name.split(':')[0])) {
          throw new FeedError(`feed '${name}' does not name an input of '${modelFile}' (inputs: ${model.signature.inputs.join(', ') || 'none'})`);
        }
      }
      const fetches = opts.fetch ?? defaultFetches(model.graph, model.signature.outputs);
      if (!fetches.length) throw new UsageError(`model '${modelFile}' declares no outputs: name them with --fetch`);
      for (const f of fetches) {
        try {
          model.graph.tensor(f);
        } catch {
          throw new UsageError(`--fetch '${f}' names no tensor of '${modelFile}'`);
        }
      }
      const session = new Session(model.graph, { backend: opts.backend as 'cpu', optimize: level as 0 });
      try {
        await initializeFromModel(session, model);
        const values = await session.run(fetches, feeds);
        writeOutputs(new Map(fetches.map((f, i) => [f, values[i]])), opts.out);
      } finally {
        session.close();
      }
    });
}
