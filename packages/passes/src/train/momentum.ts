import { SymbolicTensor, ops } from '@graphc/graph';
import { Hyperparameter, Optimizer, checkHyperparameter } from './optimizer';

/**
 * Momentum (tf.train.MomentumOptimizer): `v = m * v + g; p -= lr * v`, or with Nesterov
 * `p -= lr * (g + m * v)` using the new v. One slot, 'momentum', per variable.
 */
export class Momentum extends Optimizer {
  constructor(
    learningRate: Hyperparameter,
    readonly momentum: Hyperparameter = 0.9,
    readonly options: { useNesterov?: boolean; name?: string } = {},
  ) {
    super(options.name ?? 'Momentum', learningRate);
    checkHyperparameter('momentum', momentum);
  }
  protected createSlots(variable: SymbolicTensor): void {
    this.slot(variable, 'momentum');
  }
  protected applyDense(grad: SymbolicTensor, variable: SymbolicTensor): SymbolicTensor {
    const accum = this.slot(variable, 'momentum');
    const m = this.scalar(this.momentum, variable);
    const lr = this.scalar(this.learningRate, variable);
    const v = ops.assign(accum, ops.add(ops.mul(accum, m), grad));
    const step = this.options.useNesterov ? ops.add(grad, ops.mul(v, m)) : v;
    return ops.assignSub(variable, ops.mul(step, lr));
  }
}
