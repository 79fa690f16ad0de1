import type { Command } from 'commander';
import { DType, TensorValue, allocArray, isFloat, loadModel, reachableNodes, sizeOf } from '@graphc/graph';
import { Session, initializeFromModel } from '@graphc/runtime';
import { UsageError } from '../cli-error';
import { readFeedsFile } from '../io-files';
import { parseShapes } from '../shape-spec';
import { formatProfile, summarizeProfile } from './profile-table';
import { defaultFetches } from './run';

/** Deterministic inputs for a placeholder: floats uniform in [-1, 1), integers and bools zero. */
function syntheticInput(dtype: DType, shape: number[], seed: number): TensorValue {
  const data = allocArray(dtype, sizeOf(shape));
  if (isFloat(dtype)) {
    let s = seed >>> 0 || 1;
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[i] = (s / 4294967296) * 2 - 1;
    }
  }
  return { dtype, shape, data };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('time full runs of a model (feeds in, outputs out) after warm-up')
    .argument('<model>', 'model.json or .onnx file')
    .option('--backend <name>', 'cpu | webgpu | gpujs', 'cpu')
    .option('--runs <n>', 'timed runs', '20')
    .option('--warmup <n>', 'untimed runs first (the first one compiles the plan)', '3')
    .option('--feeds <file>', 'inputs as JSON (default: synthetic inputs of the declared shapes)')
    .option('--shape <spec...>', 'shapes for inputs with unknown dimensions, name=d0,d1,... (unknown dims default to 1)')
    .option('--fetch <names...>', 'tensors to fetch (default: the model outputs)')
    .option('--level <n>', 'optimization level 0-3', '2')
    .option('--json', 'print { backend, runs, medianMs, minMs, maxMs } as JSON')
    .option('--profile', 'also time every kernel of the timed runs and print the time by op and the slowest nodes (cpu, webgpu)')
    .option('--top <n>', 'nodes listed by --profile', '10')
    .action(async (modelFile: string, opts: { backend: string; runs: string; warmup: string; feeds?: string; shape?: string[]; fetch?: string[]; level: string; json?: boolean; profile?: boolean; top: string }) => {
      const runs = Number(opts.runs);
      const warmup = Number(opts.warmup);
      const level = Number(opts.level);
      if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`--runs must be a positive integer, got '${opts.runs}'`);
      if (!Number.isInteger(warmup) || warmup < 0) throw new UsageError(`--warmup must be a non-negative integer, got '${opts.warmup}'`);
      if (![0, 1, 2, 3].includes(level)) throw new UsageError(`--level must be 0, 1, 2 or 3, got '${opts.level}'`);
      const top = Number(opts.top);
      if (!Number.isInteger(top) || top < 0) throw new UsageError(`--top must be a non-negative integer, got '${opts.top}'`);
      if (opts.profile && opts.backend === 'gpujs') throw new UsageError("--profile times kernels on the cpu and webgpu backends, not 'gpujs'");
      const model = await loadModel(modelFile);
      const fetches = opts.fetch ?? defaultFetches(model.graph, model.signature.outputs);
      if (!fetches.length) throw new UsageError(`model '${modelFile}' declares no outputs: name them with --fetch`);
      const feeds = new Map<string, TensorValue>(opts.feeds ? readFeedsFile(opts.feeds) : []);
      const shapes = parseShapes(opts.shape);
      const needed = reachableNodes(model.graph, fetches.map((f) => model.graph.tensor(f).node)).filter((n) => n.op === 'placeholder');
      needed.forEach((p, i) => {
        if (feeds.has(p.name)) return;
        const declared = p.outputs[0].shape;
        const shape = shapes[p.name] ?? declared.map((d) => d ?? 1);
        feeds.set(p.name, syntheticInput(p.outputs[0].dtype, shape, i + 1));
      });
      const session = new Session(model.graph, { backend: opts.backend as 'cpu', optimize: level as 2, profile: opts.profile === true });
      try {
        await initializeFromModel(session, model);
        for (let i = 0; i < warmup; i++) await session.run(fetches, feeds);
        if (opts.profile) session.clearProfile();
        const times: number[] = [];
        for (let i = 0; i < runs; i++) {
          const t0 = process.hrtime.bigint();
          await session.run(fetches, feeds);
          times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        const result = { backend: session.backend.name, runs, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times) };
        const profile = opts.profile ? summarizeProfile(session.profile(), runs, top) : undefined;
        if (opts.json) process.stdout.write(`${JSON.stringify(profile ? { ...result, profile } : result)}\n`);
        else {
          process.stdout.write(
            `${modelFile} on ${result.backend}: median ${result.medianMs.toFixed(3)} ms, min ${result.minMs.toFixed(3)} ms, max ${result.maxMs.toFixed(3)} ms over ${runs} runs (${warmup} warm-up)\n`,
          );
          if (profile) process.stdout.write(formatProfile(profile, runs));
        }
      } finally {
        session.close();
      }
    });
}
