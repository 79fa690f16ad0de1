/** Optimizers (TensorFlow 1.x's tf.train): each `minimize(loss)` adds gradient and assign nodes and returns one op. */
export { Optimizer } from './optimizer';
export type { Hyperparameter, MinimizeOptions, GradAndVar } from './optimizer';
export { SGD } from './sgd';
export { Momentum } from './momentum';
export { Adam } from './adam';
export { RMSProp } from './rmsprop';
export { GLOBAL_STEP, getGlobalStep, getOrCreateGlobalStep } from './global-step';
export { cosineDecay, exponentialDecay, piecewiseConstant, polynomialDecay } from './schedules';
export { optimizerFromSpec } from './spec';
export type { OptimizerSpec, RateSpec } from './spec';
