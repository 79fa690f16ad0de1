import * as fs from 'fs';
import { FormatError, Graph, LoadedModel, SymbolicTensor, TensorValue, copyNodes, saveModel } from '@graphc/graph';
import { train } from '@graphc/passes';
import { Prng, Session, initializeFromModel, readCheckpoint, restoreCheckpoint, saveCheckpoint } from '@graphc/runtime';
import { UsageError } from '../cli-error';
import { Dataset, gatherBatch } from '../data/dataset';
import { Progress } from './progress';
import { TrainingSpec } from './spec';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Overrides the model's learning rate. */
  learningRate?: number;
  /** Seed of the per-epoch shuffles. */
  seed: number;
  /** Checkpoint to resume from (weights, optimizer state, position in the data). */
  resume?: string;
  /** Where to write checkpoints (at every epoch end, and every `checkpointEvery` steps if set). */
  checkpoint?: string;
  checkpointEvery?: number;
  /** Where to save the trained model (graph without the training nodes, trained variable values). */
  out: string;
  backend: 'cpu' | 'webgpu' | 'gpujs';
  progress: Progress;
}

export interface TrainSummary {
  epochs: number;
  steps: number;
  examples: number;
  seconds: number;
  examplesPerSecond: number;
  finalLoss: number;
  testAccuracy?: number;
  epochLog: { epoch: number; loss: number; seconds: number; examplesPerSecond: number; testAccuracy?: number }[];
  out: string;
  checkpoint?: string;
}

/** Where a checkpoint stopped: `batch` batches of epoch `epoch` (0-based) were done. */
interface Position {
  epoch: number;
  batch: number;
}

/**
 * Trains a loaded model on `data` as its metadata declares (loss, optimizer, input bindings):
 * shuffled mini-batches each epoch, test accuracy after each epoch when the model names its logits
 * and `test` data is given, checkpoints, and the trained model saved at the end.
 */
export async function trainModel(model: LoadedModel, modelFile: string, spec: TrainingSpec, data: Dataset, test: Dataset | undefined, options: TrainOptions): Promise<TrainSummary> {
  const graph = model.graph;
  const modelNodes = graph.nodes.length;
  for (const { field } of spec.inputs) {
    if (!data.fields.has(field)) throw new UsageError(`the model trains on data field '${field}', which '${data.source}' lacks (it has ${[...data.fields.keys()].join(', ')})`);
  }
  const optimizer = train.optimizerFromSpec(spec.optimizer, options.learningRate, graph);
  const step = optimizer.minimize(spec.loss);
  const session = new Session(graph, { backend: options.backend });
  try {
    let position: Position = { epoch: 0, batch: 0 };
    if (options.resume) {
      const header = await restoreCheckpoint(session, options.resume);
      position = positionOf(header.metadata, options.resume);
      options.progress.message(`resumed from '${options.resume}' at epoch ${position.epoch + 1}, batch ${position.batch} (global step ${header.step ?? '?'})`);
    } else {
      await initializeFromModel(session, model);
    }
    const batches = Math.ceil(data.count / options.batchSize);
    const summary: TrainSummary = { epochs: options.epochs, steps: 0, examples: 0, seconds: 0, examplesPerSecond: 0, finalLoss: NaN, epochLog: [], out: options.out, checkpoint: options.checkpoint };
    const started = Date.now();
    for (let epoch = position.epoch; epoch < options.epochs; epoch++) {
      const order = shuffled(data.count, options.seed + epoch);
      const epochStart = Date.now();
      let lossSum = 0;
      let lossCount = 0;
      let seen = 0;
      const first = epoch === position.epoch ? position.batch : 0;
      for (let b = first; b < batches; b++) {
        const indices = order.subarray(b * options.batchSize, Math.min(data.count, (b + 1) * options.batchSize));
        const feeds = batchFeeds(spec, data, indices);
        const out = await session.run({ loss: spec.loss, step }, feeds);
        const loss = out.loss.data[0];
        if (!Number.isFinite(loss)) throw new Error(`training diverged: the loss is ${loss} at epoch ${epoch + 1}, batch ${b + 1}; lower the learning rate (--lr)`);
        lossSum += loss * indices.length;
        lossCount += indices.length;
        seen += indices.length;
        summary.steps++;
        summary.examples += indices.length;
        options.progress.step({ epoch: epoch + 1, epochs: options.epochs, step: b + 1, steps: batches, loss: lossSum / lossCount, examplesPerSecond: seen / Math.max(1e-3, (Date.now() - epochStart) / 1000) });
        if (options.checkpoint && options.checkpointEvery && (b + 1) % options.checkpointEvery === 0 && b + 1 < batches) {
          await saveCheckpoint(session, options.checkpoint, { metadata: { epoch, batch: b + 1, seed: options.seed } });
        }
      }
      const seconds = (Date.now() - epochStart) / 1000;
      const testAccuracy = test && spec.accuracy ? await accuracy(session, spec, test) : undefined;
      const entry = { epoch: epoch + 1, loss: lossSum / Math.max(1, lossCount), seconds, examplesPerSecond: seen / Math.max(1e-3, seconds), ...(testAccuracy === undefined ? {} : { testAccuracy }) };
      summary.epochLog.push(entry);
      summary.finalLoss = entry.loss;
      summary.testAccuracy = testAccuracy;
      options.progress.epoch({ ...entry, epochs: options.epochs });
      if (options.checkpoint) await saveCheckpoint(session, options.checkpoint, { metadata: { epoch: epoch + 1, batch: 0, seed: options.seed } });
    }
    summary.seconds = (Date.now() - started) / 1000;
    const trainSeconds = summary.epochLog.reduce((s, e) => s + e.seconds, 0);
    summary.examplesPerSecond = summary.examples / Math.max(1e-3, trainSeconds);
    await saveTrainedModel(graph, modelNodes, session, options.out, summary);
    return summary;
  } finally {
    session.close();
  }
}

function positionOf(metadata: Record<string, unknown> | undefined, file: string): Position {
  const epoch = metadata?.epoch;
  const batch = metadata?.batch ?? 0;
  if (typeof epoch !== 'number' || typeof batch !== 'number' || !Number.isInteger(epoch) || !Number.isInteger(batch) || epoch < 0 || batch < 0) {
    throw new FormatError(`checkpoint '${file}' does not say where training stopped (metadata.epoch/batch): it was not written by graphc train`);
  }
  return { epoch, batch };
}

/** A permutation of 0..n-1 (Fisher-Yates with a seeded generator: the same seed gives the same order). */
function shuffled(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rng = new Prng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

function exampleShape(placeholder: SymbolicTensor, stored: number[]): number[] {
  const rest = placeholder.shape.slice(1);
  return rest.every((d) => d !== null) ? (rest as number[]) : stored;
}

function batchFeeds(spec: TrainingSpec, data: Dataset, indices: ArrayLike<number>, skip?: SymbolicTensor): Map<SymbolicTensor, TensorValue> {
  const feeds = new Map<SymbolicTensor, TensorValue>();
  for (const { placeholder, field } of spec.inputs) {
    if (placeholder === skip) continue;
    const array = data.fields.get(field)!;
    feeds.set(placeholder, gatherBatch(array, indices, placeholder.dtype, exampleShape(placeholder, array.shape.slice(1)), `data field '${field}' for input '${placeholder.name}'`));
  }
  return feeds;
}

/** Classification accuracy: argmax of the logits against the labels, over the whole test set. */
async function accuracy(session: Session, spec: TrainingSpec, test: Dataset): Promise<number> {
  const { logits, labels } = spec.accuracy!;
  const labelField = spec.inputs.find((i) => i.placeholder === labels)!.field;
  for (const { field } of spec.inputs) {
    if (!test.fields.has(field)) throw new UsageError(`the test data '${test.source}' lacks field '${field}'`);
  }
  const truth = test.fields.get(labelField)!.data;
  const batch = 1000;
  let correct = 0;
  const all = Int32Array.from({ length: test.count }, (_, i) => i);
  for (let start = 0; start < test.count; start += batch) {
    const indices = all.subarray(start, Math.min(test.count, start + batch));
    const out = await session.run(logits, batchFeeds(spec, test, indices, labels));
    const classes = out.data.length / indices.length;
    for (let i = 0; i < indices.length; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (out.data[i * classes + c] > out.data[i * classes + best]) best = c;
      if (best === truth[indices[i]]) correct++;
    }
  }
  return correct / test.count;
}

/** The model's own nodes (not the optimizer's) with the trained values, and what training did. */
async function saveTrainedModel(graph: Graph, modelNodes: number, session: Session, out: string, summary: TrainSummary): Promise<void> {
  const trained = copyNodes(graph, graph.nodes.slice(0, modelNodes));
  const previous = (graph.metadata.trainingHistory as unknown[] | undefined) ?? [];
  trained.metadata.trainingHistory = [
    ...previous,
    { epochs: summary.epochLog.map((e) => e.epoch), steps: summary.steps, finalLoss: summary.finalLoss, ...(summary.testAccuracy === undefined ? {} : { testAccuracy: summary.testAccuracy }) },
  ];
  await saveModel(trained, out, { session });
}

/** Whether a resume file is there to read (for a clear message before any work). */
export function checkResumable(file: string): void {
  if (!fs.existsSync(file)) throw new UsageError(`--resume: checkpoint '${file}' does not exist`);
  readCheckpoint(file);
}
