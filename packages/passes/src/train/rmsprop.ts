import { SymbolicTensor, ops } from '@graphc/graph';
import { Hyperparameter, Optimizer, checkHyperparameter } from './optimizer';

/**
 * RMSProp as tf.train.RMSPropOptimizer (Hinton's lecture 6e):
 *
 *     ms = decay ms + (1 - decay) g^2
 *     mom = momentum mom + lr g / sqrt(ms + eps)
 *     p -= mom
 *
 * Slots 'rms' (and 'momentum' when momentum > 0). With momentum 0 this is `p -= lr g / sqrt(ms + eps)`.
 */
export class RMSProp extends Optimizer {
  constructor(
    learningRate: Hyperparameter = 0.001,
    readonly decay = 0.9,
    readonly momentum = 0,
    readonly epsilon = 1e-10,
    name = 'RMSProp',
  ) {
    super(name, learningRate);
    checkHyperparameter('decay', decay);
    checkHyperparameter('momentum', momentum);
    checkHyperparameter('epsilon', epsilon);
  }

  protected createSlots(variable: SymbolicTensor): void {
    this.slot(variable, 'rms');
    if (this.momentum > 0) this.slot(variable, 'momentum');
  }

  protected applyDense(grad: SymbolicTensor, variable: SymbolicTensor): SymbolicTensor {
    const c = (x: number) => this.scalar(x, variable);
    const rms = this.slot(variable, 'rms');
    const ms = ops.assign(rms, ops.add(ops.mul(rms, c(this.decay)), ops.mul(ops.square(grad), c(1 - this.decay))));
    const step = ops.div(ops.mul(grad, this.scalar(this.learningRate, variable)), ops.sqrt(ops.add(ms, c(this.epsilon))));
    if (this.momentum === 0) return ops.assignSub(variable, step);
    const mom = this.slot(variable, 'momentum');
    const next = ops.assign(mom, ops.add(ops.mul(mom, c(this.momentum)), step));
    return ops.assignSub(variable, next);
  }
}
