import type { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { TensorValue, loadModel, saveModel, writeFileAtomic } from '@graphc/graph';
import { optimizeModel } from '@graphc/runtime';
import { UsageError } from '../cli-error';
import { parseShapes } from '../shape-spec';
import { defaultFetches } from './run';

export function registerOptimize(program: Command): void {
  program
    .command('optimize')
    .description('optimize a model (prune, fold, simplify, fuse) and report kernels and planned memory')
    .argument('<model>', 'model.json or .onnx file')
    .requiredOption('-o, --out <file>', 'where to write the optimized model.json')
    .option('--level <n>', 'optimization level 0-3', '2')
    .option('--report <file>', 'write the report (kernel counts, memory, passes) as JSON')
    .option('--shape <spec...>', 'placeholder shapes for the report, name=d0,d1,... (unknown dims default to 1)')
    .option('--fetch <names...>', 'outputs to keep (default: the model outputs)')
    .option('--freeze', 'turn variables with saved values into constants (inference-only model)')
    .action(async (modelFile: string, opts: { out: string; level: string; report?: string; shape?: string[]; fetch?: string[]; freeze?: boolean }) => {
      const level = Number(opts.level);
      if (![0, 1, 2, 3].includes(level)) throw new UsageError(`--level must be 0, 1, 2 or 3, got '${opts.level}'`);
      if (path.extname(opts.out).toLowerCase() !== '.json') throw new UsageError(`--out '${opts.out}' must be a .json file`);
      const model = await loadModel(modelFile);
      const outputs = opts.fetch ?? defaultFetches(model.graph, model.signature.outputs);
      if (!outputs.length) throw new UsageError(`model '${modelFile}' declares no outputs: name them with --fetch`);
      for (const o of outputs) {
        if (!model.graph.hasNode(o.split(':')[0])) throw new UsageError(`--fetch '${o}' names no tensor of '${modelFile}'`);
      }
      const { graph, report } = optimizeModel(model.graph, {
        level: level as 0,
        outputs,
        shapes: parseShapes(opts.shape),
        freeze: opts.freeze ? model.variables : undefined,
      });
      graph.metadata.signature = { inputs: graph.placeholders().map((p) => p.name), outputs };
      const kept = new Map<string, TensorValue>([...model.variables].filter(([name]) => graph.hasNode(name)));
      await saveModel(graph, opts.out, {
        session: {
          variables: {
            names: () => [...kept.keys()],
            has: (name) => kept.has(name),
            read: async (name) => kept.get(name)!,
          },
        },
      });
      const doc = { model: modelFile, out: opts.out, ...report };
      if (opts.report) {
        fs.mkdirSync(path.dirname(path.resolve(opts.report)), { recursive: true });
        writeFileAtomic(opts.report, `${JSON.stringify(doc, null, 2)}\n`);
      }
      const m = report.memory;
      process.stdout.write(
        `${modelFile} -> ${opts.out} (O${level}): nodes ${report.nodesBefore} -> ${report.nodesAfter}, kernels ${report.kernelsBefore} -> ${report.kernelsAfter}, ` +
          `memory naive ${m.naiveBytes} B, planned ${m.plannedBytes} B, lower bound ${m.lowerBoundBytes} B\n`,
      );
    });
}
