import { Graph, Node, SymbolicTensor, ops } from '@graphc/graph';
import { Hyperparameter, Optimizer, checkHyperparameter } from './optimizer';

/**
 * Adam, Algorithm 1 of Kingma & Ba (2015), with t counted from 1:
 *
 *     m = b1 m + (1 - b1) g
 *     v = b2 v + (1 - b2) g^2
 *     p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *
 * Epsilon is added to the square root of the bias-corrected second moment, exactly as the paper (not
 * TensorFlow's "epsilon hat" form). Slots 'm' and 'v' per variable; b1^t and b2^t are kept as two
 * scalar variables `<name>/beta1_power` and `<name>/beta2_power`, multiplied by b1 and b2 after
 * every step, so the state to checkpoint is all in variables.
 */
export class Adam extends Optimizer {
  private beta1Power?: SymbolicTensor;
  private beta2Power?: SymbolicTensor;

  constructor(
    learningRate: Hyperparameter = 0.001,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-8,
    name = 'Adam',
  ) {
    super(name, learningRate);
    for (const [what, v] of [['beta1', beta1], ['beta2', beta2]] as const) {
      checkHyperparameter(what, v);
      if (v >= 1) throw new RangeError(`Adam: ${what} must be in [0, 1), got ${v}`);
    }
    checkHyperparameter('epsilon', epsilon);
  }

  protected createSlots(variable: SymbolicTensor): void {
    this.slot(variable, 'm');
    this.slot(variable, 'v');
  }

  protected override createExtraState(graph: Graph, dtype: SymbolicTensor['dtype']): void {
    this.beta1Power ??= this.stateVariable(graph, 'beta1_power', this.beta1, dtype);
    this.beta2Power ??= this.stateVariable(graph, 'beta2_power', this.beta2, dtype);
  }

  protected applyDense(grad: SymbolicTensor, variable: SymbolicTensor): SymbolicTensor {
    const c = (x: number) => this.scalar(x, variable);
    const powerOf = (p: SymbolicTensor) => (p.dtype === variable.dtype ? p : ops.cast(p, variable.dtype));
    const m = ops.assign(this.slot(variable, 'm'), ops.add(ops.mul(this.slot(variable, 'm'), c(this.beta1)), ops.mul(grad, c(1 - this.beta1))));
    const v = ops.assign(this.slot(variable, 'v'), ops.add(ops.mul(this.slot(variable, 'v'), c(this.beta2)), ops.mul(ops.square(grad), c(1 - this.beta2))));
    const mHat = ops.div(m, ops.sub(c(1), powerOf(this.beta1Power!)));
    const vHat = ops.div(v, ops.sub(c(1), powerOf(this.beta2Power!)));
    const step = ops.div(mHat, ops.add(ops.sqrt(vHat), c(this.epsilon)));
    return ops.assignSub(variable, ops.mul(step, this.scalar(this.learningRate, variable)));
  }

  protected override finishStep(): Node[] {
    const b1 = this.beta1Power!;
    const b2 = this.beta2Power!;
    return [ops.assign(b1, ops.mul(b1, this.scalar(this.beta1, b1))).node, ops.assign(b2, ops.mul(b2, this.scalar(this.beta2, b2))).node];
  }
}
