import {
  GradientError,
  Graph,
  Node,
  SymbolicTensor,
  isFloat,
  ops,
  reachableNodes,
  tensor,
  zerosValue,
} from '@graphc/graph';
import { gradients } from '../autodiff';
import { getOrCreateGlobalStep } from './global-step';

/** A learning rate (or other hyperparameter): a number, or a scalar tensor for schedules. */
export type Hyperparameter = number | SymbolicTensor;

export interface MinimizeOptions {
  /** Variables to train (default: the trainable variables the loss depends on). */
  varList?: SymbolicTensor[];
  /** Step counter to increment once per update (default: the graph's `global_step`, created if missing); null for none. */
  globalStep?: SymbolicTensor | null;
  /** Name of the returned op (default: the optimizer's name). */
  name?: string;
}

export type GradAndVar = [SymbolicTensor, SymbolicTensor];

/**
 * Base of the optimizers (TensorFlow 1.x's tf.train.Optimizer): `minimize` = `computeGradients`
 * (the autodiff pass) + `applyGradients` (assign nodes). Everything is graph: the returned op, when
 * run, computes every gradient first, then applies every update, then increments the global step.
 * Slot variables (moments, accumulators) are ordinary non-trainable variables named
 * `<variable>/<optimizer>/<slot>`, so they live on the device, are initialized by
 * `globalVariablesInitializer()` and are saved by checkpoints.
 */
export abstract class Optimizer {
  private readonly slotVars = new Map<string, Map<string, SymbolicTensor>>();
  private readonly extraVars: SymbolicTensor[] = [];

  constructor(
    readonly name: string,
    protected readonly learningRate: Hyperparameter,
  ) {
    checkHyperparameter('learning rate', learningRate);
  }

  /** `[gradient, variable]` pairs of `loss` for `varList` (default: the trainable variables it depends on). */
  computeGradients(loss: SymbolicTensor, varList?: SymbolicTensor[]): GradAndVar[] {
    if (!(loss instanceof SymbolicTensor)) throw new GradientError(`${this.name}.minimize: the loss must be a tensor`);
    if (!isFloat(loss.dtype)) throw new GradientError(`${this.name}.minimize: the loss '${loss.name}' is ${loss.dtype}, not a float`);
    const vars = varList ?? dependentTrainables(loss);
    if (vars.length === 0) {
      throw new GradientError(`${this.name}.minimize: the loss '${loss.name}' depends on no trainable variable: nothing to train`);
    }
    for (const v of vars) {
      if (!(v instanceof SymbolicTensor) || v.node.op !== 'variable') {
        throw new GradientError(`${this.name}.minimize: varList holds '${String(v)}', which is not a variable`);
      }
      if (!isFloat(v.dtype)) throw new GradientError(`${this.name}.minimize: variable '${v.name}' is ${v.dtype}: only float variables can be trained`);
    }
    const grads = gradients(loss, vars);
    return vars.map((v, i) => [grads[i], v]);
  }

  /** One op that applies the updates once every gradient is computed, then increments `globalStep`. */
  applyGradients(gradsAndVars: GradAndVar[], options: { globalStep?: SymbolicTensor | null; name?: string } = {}): Node {
    if (gradsAndVars.length === 0) throw new GradientError(`${this.name}.applyGradients: no gradients to apply`);
    const graph = gradsAndVars[0][1].graph;
    const globalStep = options.globalStep === undefined ? getOrCreateGlobalStep(graph) : options.globalStep;
    // state first, outside the step's name scope: variables are named from the root
    for (const [, v] of gradsAndVars) this.createSlots(v);
    this.createExtraState(graph, gradsAndVars[0][1].dtype);
    return graph.nameScope(options.name ?? this.name, () => {
      // no update may start before every gradient is computed: a gradient reads the old values
      const updates = graph.controlDependencies(
        gradsAndVars.map(([g]) => g),
        () => gradsAndVars.map(([g, v]) => this.applyDense(g, v).node),
      );
      const finished = graph.controlDependencies(updates, () => this.finishStep(graph));
      const after = [...updates, ...finished];
      const step = globalStep ? [graph.controlDependencies(after, () => ops.assignAdd(globalStep, graph.constant(tensor([1], [], globalStep.dtype))).node)] : [];
      return ops.group([...after, ...step], 'update');
    });
  }

  /** `applyGradients(computeGradients(loss))`: the one op a training step runs. */
  minimize(loss: SymbolicTensor, options: MinimizeOptions = {}): Node {
    const pairs = this.computeGradients(loss, options.varList);
    return this.applyGradients(pairs, { globalStep: options.globalStep, name: options.name });
  }

  /** The slot variable `slot` of `variable` (e.g. Adam's 'm'), if this optimizer made one. */
  getSlot(variable: SymbolicTensor, slot: string): SymbolicTensor | undefined {
    return this.slotVars.get(variable.node.name)?.get(slot);
  }

  /** Every variable this optimizer added: slots and its own state (Adam's beta powers). */
  variables(): SymbolicTensor[] {
    return [...[...this.slotVars.values()].flatMap((m) => [...m.values()]), ...this.extraVars];
  }

  /** Creates the slots `variable` needs (each optimizer knows which). */
  protected abstract createSlots(variable: SymbolicTensor): void;

  /** Adds the update of one variable; returns the last assign. */
  protected abstract applyDense(grad: SymbolicTensor, variable: SymbolicTensor): SymbolicTensor;

  /** Optimizer-wide state (none by default). */
  protected createExtraState(_graph: Graph, _dtype: SymbolicTensor['dtype']): void {}

  /** Updates run after every variable's update (Adam's beta powers); none by default. */
  protected finishStep(_graph: Graph): Node[] {
    return [];
  }

  /** A zero-initialized, non-trainable variable shaped as `variable`, named `<variable>/<optimizer>/<slot>`. */
  protected slot(variable: SymbolicTensor, slot: string): SymbolicTensor {
    let slots = this.slotVars.get(variable.node.name);
    if (!slots) this.slotVars.set(variable.node.name, (slots = new Map()));
    const existing = slots.get(slot);
    if (existing) return existing;
    const name = `${variable.node.name}/${this.name}/${slot}`;
    const v = variable.graph.variable(zerosValue(variable.shape as number[], variable.dtype), name, { trainable: false });
    slots.set(slot, v);
    return v;
  }

  /** A non-slot variable of this optimizer, named `<optimizer>/<name>`. */
  protected stateVariable(graph: Graph, name: string, initial: number, dtype: SymbolicTensor['dtype']): SymbolicTensor {
    const v = graph.variable(tensor([initial], [], dtype), `${this.name}/${name}`, { trainable: false });
    this.extraVars.push(v);
    return v;
  }

  /** A hyperparameter as a scalar of `dtype`: a constant, or the given tensor (cast if needed). */
  protected scalar(value: Hyperparameter, like: SymbolicTensor): SymbolicTensor {
    if (typeof value === 'number') return like.graph.constant(tensor([value], [], like.dtype));
    if (value.graph !== like.graph) throw new GradientError(`${this.name}: hyperparameter '${value.name}' belongs to another graph than '${like.name}'`);
    return value.dtype === like.dtype ? value : ops.cast(value, like.dtype);
  }
}

function checkHyperparameter(what: string, value: Hyperparameter): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new GradientError(`${what} must be a non-negative number, got ${value}`);
  } else if (!(value instanceof SymbolicTensor) || !isFloat(value.dtype) || value.rank !== 0) {
    throw new GradientError(`${what} must be a number or a float scalar tensor, got ${String(value)}`);
  }
}

export { checkHyperparameter };

/** Trainable variables `loss` depends on, in creation order. */
function dependentTrainables(loss: SymbolicTensor): SymbolicTensor[] {
  const needed = new Set(reachableNodes(loss.graph, [loss.node]));
  return loss.graph.trainableVariables().filter((v) => needed.has(v.node));
}
