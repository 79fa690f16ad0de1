import * as path from 'path';
import type { Command } from 'commander';
import { loadModel } from '@graphc/graph';
import { UsageError } from '../cli-error';
import { hasMnistSplit, limitDataset, loadDataset } from '../data/dataset';
import { Progress } from '../training/progress';
import { readTrainingSpec } from '../training/spec';
import { checkResumable, trainModel } from '../training/trainer';

interface TrainFlags {
  data: string[];
  test?: string[];
  epochs?: string;
  batch?: string;
  lr?: string;
  out?: string;
  seed: string;
  resume?: string;
  checkpoint?: string;
  checkpointEvery?: string;
  limit?: string;
  testLimit?: string;
  backend: string;
  progress?: string;
  json?: boolean;
}

const positiveInt = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${value}'`);
  return n;
};

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a saved model that declares its loss and optimizer (metadata.training) on data files')
    .argument('<model>', 'model.json with metadata.training (docs/model-format.md)')
    .requiredOption('--data <paths...>', 'training data: a folder of MNIST-layout IDX files, a .json tensors file, or FIELD=FILE')
    .option('--test <paths...>', 'test data for accuracy after each epoch (default: the t10k split of an MNIST-layout --data folder)')
    .option('--epochs <n>', 'epochs (default: the model\'s, else 1)')
    .option('--batch <n>', 'batch size (default: the model\'s, else 32)')
    .option('--lr <x>', 'learning rate, overriding the model\'s')
    .option('-o, --out <file>', 'where to save the trained model (default: MODEL-trained.json beside the model)')
    .option('--seed <n>', 'seed of the data shuffles', '1')
    .option('--resume <checkpoint>', 'continue from a checkpoint written by --checkpoint')
    .option('--checkpoint <file>', 'save a checkpoint (weights and optimizer state) after every epoch')
    .option('--checkpoint-every <steps>', 'also checkpoint every N steps within an epoch')
    .option('--limit <n>', 'use only the first N training examples')
    .option('--test-limit <n>', 'use only the first N test examples')
    .option('--backend <name>', 'cpu | webgpu | gpujs', 'cpu')
    .option('--progress <mode>', 'bar | lines | none (default: bar on a terminal, else lines)')
    .option('--json', 'print a JSON summary (epochs, time, examples/s, loss, test accuracy) at the end')
    .action(async (modelFile: string, flags: TrainFlags) => {
      const lr = flags.lr === undefined ? undefined : Number(flags.lr);
      if (lr !== undefined && !(Number.isFinite(lr) && lr > 0)) throw new UsageError(`--lr must be a positive number, got '${flags.lr}'`);
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${flags.seed}'`);
      const mode = flags.progress ?? (process.stderr.isTTY ? 'bar' : 'lines');
      if (!['bar', 'lines', 'none'].includes(mode)) throw new UsageError(`--progress must be bar, lines or none, got '${mode}'`);
      if (flags.resume) checkResumable(flags.resume);
      const model = await loadModel(modelFile);
      const spec = readTrainingSpec(model.graph, modelFile);
      const data = limitDataset(loadDataset(flags.data, 'train'), positiveInt('--limit', flags.limit));
      const testSpecs = flags.test ?? (flags.data.length === 1 && hasMnistSplit(flags.data[0], 'test') ? flags.data : undefined);
      const test = testSpecs ? limitDataset(loadDataset(testSpecs, 'test'), positiveInt('--test-limit', flags.testLimit)) : undefined;
      const out = flags.out ?? path.join(path.dirname(modelFile), `${path.basename(modelFile).replace(/\.json$/i, '')}-trained.json`);
      // bars redraw stderr; lines go to stdout, or to stderr when stdout carries the JSON summary
      const stream = mode === 'bar' || flags.json ? process.stderr : process.stdout;
      const summary = await trainModel(model, modelFile, spec, data, test, {
        epochs: positiveInt('--epochs', flags.epochs) ?? spec.epochs ?? 1,
        batchSize: positiveInt('--batch', flags.batch) ?? spec.batchSize ?? 32,
        learningRate: lr,
        seed,
        resume: flags.resume,
        checkpoint: flags.checkpoint,
        checkpointEvery: positiveInt('--checkpoint-every', flags.checkpointEvery),
        out,
        backend: flags.backend as 'cpu',
        progress: new Progress(stream, mode as 'bar'),
      });
      if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else process.stdout.write(`saved the trained model to ${out}\n`);
    });
}
