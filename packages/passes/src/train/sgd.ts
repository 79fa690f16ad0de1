import { SymbolicTensor, ops } from '@graphc/graph';
import { Hyperparameter, Optimizer } from './optimizer';

/** Plain gradient descent: `p -= lr * g` (tf.train.GradientDescentOptimizer). */
export class SGD extends Optimizer {
  constructor(learningRate: Hyperparameter, name = 'SGD') {
    super(name, learningRate);
  }
  protected createSlots(): void {}
  protected applyDense(grad: SymbolicTensor, variable: SymbolicTensor): SymbolicTensor {
    return ops.assignSub(variable, ops.mul(this.scalar(this.learningRate, variable), grad));
  }
}
