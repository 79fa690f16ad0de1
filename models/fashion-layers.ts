/** What the Fashion-MNIST example models share: a He-initialized dense layer and the classifier tail. */
import { Graph, SymbolicTensor, ops, tensor } from 'graphc';
import { seededNormal } from './seeded';

/** x W + b, W seeded He-normal, b zeros: variables `${name}/kernel` and `${name}/bias`. */
export function dense(g: Graph, x: SymbolicTensor, units: number, name: string, seed: number): SymbolicTensor {
  const inputs = x.shape[1] as number;
  const w = g.variable(tensor(seededNormal(inputs * units, seed, Math.sqrt(2 / inputs)), [inputs, units]), `${name}/kernel`);
  const b = g.variable(tensor(new Float32Array(units), [units]), `${name}/bias`);
  return ops.add(ops.matmul(x, w), b, `${name}/out`);
}

/**
 * The tail of a 10-class classifier on `logits`: `logits`, `probs`, the mean cross-entropy `loss`
 * against labels `y`, the signature (x in, probs out), and the training the model declares for
 * `graphc train` (docs/model-format.md, "Training").
 */
export function classifierHead(g: Graph, logits: SymbolicTensor, y: SymbolicTensor, epochs: number): void {
  const named = ops.identity(logits, 'logits');
  ops.softmax(named, -1, 'probs');
  ops.reduceMean(ops.sparseSoftmaxCrossEntropyWithLogits(y, named), undefined, false, 'loss');
  g.metadata.signature = { inputs: ['x'], outputs: ['probs'] };
  g.metadata.training = {
    loss: 'loss',
    optimizer: { type: 'adam', learningRate: 0.001 },
    inputs: { x: 'images', y: 'labels' },
    batchSize: 64,
    epochs,
    accuracy: { logits: 'logits', labels: 'y' },
  };
}
