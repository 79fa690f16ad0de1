import { FormatError, Graph, SymbolicTensor } from '@graphc/graph';
import { UsageError } from '../cli-error';

/**
 * What a saved model declares about its training, in `metadata.training` (docs/model-format.md):
 *
 * ```json
 * "training": {
 *   "loss": "loss",
 *   "optimizer": { "type": "adam", "learningRate": 0.001 },
 *   "inputs": { "x": "images", "y": "labels" },
 *   "batchSize": 64,
 *   "epochs": 3,
 *   "accuracy": { "logits": "logits", "labels": "y" }
 * }
 * ```
 */
export interface TrainingSpec {
  loss: SymbolicTensor;
  optimizer: unknown;
  /** Placeholder -> data field. */
  inputs: { placeholder: SymbolicTensor; field: string }[];
  batchSize?: number;
  epochs?: number;
  accuracy?: { logits: SymbolicTensor; labels: SymbolicTensor };
}

export function readTrainingSpec(graph: Graph, modelFile: string): TrainingSpec {
  const raw = graph.metadata.training;
  const fail = (why: string): never => {
    throw new FormatError(`model '${modelFile}': metadata.training ${why} (see docs/model-format.md, "Training")`);
  };
  if (raw === undefined) {
    throw new UsageError(`model '${modelFile}' declares no training setup (metadata.training: loss, optimizer, inputs); see docs/model-format.md`);
  }
  if (!raw || typeof raw !== 'object') fail('must be an object');
  const t = raw as Record<string, unknown>;
  const tensorNamed = (name: unknown, what: string): SymbolicTensor => {
    if (typeof name !== 'string') return fail(`'${what}' must name a tensor`);
    try {
      return graph.tensor(name);
    } catch {
      return fail(`'${what}' names '${name}', which is not a tensor of the model`);
    }
  };
  const loss = tensorNamed(t.loss, 'loss');
  if (loss.rank !== 0) fail(`loss '${loss.name}' must be a scalar, it has shape [${loss.shape.join(', ')}]`);
  if (!t.optimizer || typeof t.optimizer !== 'object') fail("lacks 'optimizer' ({ \"type\": \"adam\", \"learningRate\": 0.001 })");
  if (!t.inputs || typeof t.inputs !== 'object' || Array.isArray(t.inputs)) fail("lacks 'inputs' (placeholder name -> data field)");
  const inputs = Object.entries(t.inputs as Record<string, unknown>).map(([name, field]) => {
    const placeholder = tensorNamed(name, `inputs.${name}`);
    if (placeholder.node.op !== 'placeholder') fail(`inputs.${name} is a '${placeholder.node.op}', not a placeholder`);
    if (typeof field !== 'string') fail(`inputs.${name} must name a data field`);
    return { placeholder, field: field as string };
  });
  const positive = (k: string): number | undefined => {
    const v = t[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`'${k}' must be a positive integer`);
    return v as number;
  };
  let accuracy: TrainingSpec['accuracy'];
  if (t.accuracy !== undefined) {
    const a = t.accuracy as Record<string, unknown>;
    accuracy = { logits: tensorNamed(a?.logits, 'accuracy.logits'), labels: tensorNamed(a?.labels, 'accuracy.labels') };
    if (!inputs.some((i) => i.placeholder === accuracy!.labels)) fail(`accuracy.labels '${accuracy.labels.name}' must be one of the inputs`);
  }
  return { loss, optimizer: t.optimizer, inputs, batchSize: positive('batchSize'), epochs: positive('epochs'), accuracy };
}
