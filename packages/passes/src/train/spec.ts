import { GradientError, Graph } from '@graphc/graph';
import { getOrCreateGlobalStep } from './global-step';
import type { Hyperparameter } from './optimizer';
import { cosineDecay, exponentialDecay, piecewiseConstant, polynomialDecay } from './schedules';
import { Adam } from './adam';
import { Momentum } from './momentum';
import type { Optimizer } from './optimizer';
import { RMSProp } from './rmsprop';
import { SGD } from './sgd';

/**
 * An optimizer described as JSON, as a saved model declares it (docs/model-format.md, "training"):
 * `{ "type": "adam", "learningRate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8 }`. The
 * learning rate may be a schedule of the global step instead of a number:
 * `{ "schedule": "exponentialDecay", "initial": 0.1, "decaySteps": 1000, "decayRate": 0.96 }`.
 */
export type OptimizerSpec =
  | { type: 'sgd'; learningRate: RateSpec }
  | { type: 'momentum'; learningRate: RateSpec; momentum?: number; nesterov?: boolean }
  | { type: 'adam'; learningRate?: RateSpec; beta1?: number; beta2?: number; epsilon?: number }
  | { type: 'rmsprop'; learningRate?: RateSpec; decay?: number; momentum?: number; epsilon?: number };

/** A learning rate: a number, or one of the schedules of `train` (schedules.ts) with its parameters. */
export type RateSpec =
  | number
  | { schedule: 'exponentialDecay'; initial: number; decaySteps: number; decayRate: number; staircase?: boolean }
  | { schedule: 'piecewiseConstant'; boundaries: number[]; values: number[] }
  | { schedule: 'polynomialDecay'; initial: number; decaySteps: number; end?: number; power?: number }
  | { schedule: 'cosineDecay'; initial: number; decaySteps: number; alpha?: number };

const SCHEDULE_KEYS: Record<string, string[]> = {
  exponentialDecay: ['initial', 'decaySteps', 'decayRate', 'staircase'],
  piecewiseConstant: ['boundaries', 'values'],
  polynomialDecay: ['initial', 'decaySteps', 'end', 'power'],
  cosineDecay: ['initial', 'decaySteps', 'alpha'],
};

/** The learning rate a spec's `learningRate` describes: the number, or its schedule of `graph`'s global step. */
function rateFromSpec(v: unknown, type: string, graph: Graph | undefined): Hyperparameter {
  if (typeof v === 'number') return v;
  const where = `optimizer '${type}': learningRate`;
  if (!v || typeof v !== 'object') throw new GradientError(`${where} must be a number or a schedule like { "schedule": "exponentialDecay", ... }`);
  const r = v as Record<string, unknown>;
  const name = String(r.schedule);
  const keys = SCHEDULE_KEYS[name];
  if (!keys) throw new GradientError(`${where}: schedule '${name}' is not one of ${Object.keys(SCHEDULE_KEYS).join(', ')}`);
  for (const k of Object.keys(r)) if (k !== 'schedule' && !keys.includes(k)) throw new GradientError(`${where}: schedule '${name}' has no parameter '${k}' (it takes ${keys.join(', ')})`);
  if (!graph) throw new GradientError(`${where}: a schedule needs the graph whose global step it follows`);
  const num = (k: string, fallback?: number): number => {
    const x = r[k] ?? fallback;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new GradientError(`${where}: '${k}' must be a number`);
    return x;
  };
  const nums = (k: string): number[] => {
    const x = r[k];
    if (!Array.isArray(x) || !x.every((e) => typeof e === 'number' && Number.isFinite(e))) throw new GradientError(`${where}: '${k}' must be a list of numbers`);
    return x as number[];
  };
  const step = getOrCreateGlobalStep(graph);
  switch (name) {
    case 'exponentialDecay':
      return exponentialDecay(num('initial'), step, num('decaySteps'), num('decayRate'), r.staircase === true);
    case 'piecewiseConstant':
      return piecewiseConstant(step, nums('boundaries'), nums('values'));
    case 'polynomialDecay':
      return polynomialDecay(num('initial'), step, num('decaySteps'), num('end', 0.0001), num('power', 1));
    default:
      return cosineDecay(num('initial'), step, num('decaySteps'), num('alpha', 0));
  }
}

const KEYS: Record<string, string[]> = {
  sgd: ['learningRate'],
  momentum: ['learningRate', 'momentum', 'nesterov'],
  adam: ['learningRate', 'beta1', 'beta2', 'epsilon'],
  rmsprop: ['learningRate', 'decay', 'momentum', 'epsilon'],
};

/**
 * Makes the optimizer a spec describes; `learningRate` overrides the spec's (the CLI's --lr). A
 * scheduled rate follows `graph`'s global step (created if missing).
 */
export function optimizerFromSpec(spec: unknown, learningRate?: number, graph?: Graph): Optimizer {
  if (!spec || typeof spec !== 'object') throw new GradientError(`optimizer spec must be an object like { "type": "adam", "learningRate": 0.001 }`);
  const s = spec as Record<string, unknown>;
  const type = String(s.type ?? '').toLowerCase();
  const keys = KEYS[type];
  if (!keys) throw new GradientError(`optimizer type '${String(s.type)}' is not one of ${Object.keys(KEYS).join(', ')}`);
  for (const k of Object.keys(s)) {
    if (k !== 'type' && !keys.includes(k)) throw new GradientError(`optimizer '${type}' has no parameter '${k}' (it takes ${keys.join(', ')})`);
  }
  const num = (k: string, fallback?: number): number => {
    const v = s[k] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new GradientError(`optimizer '${type}': '${k}' must be a number`);
    return v;
  };
  const given = s.learningRate ?? (type === 'sgd' || type === 'momentum' ? undefined : 0.001);
  if (learningRate === undefined && given === undefined) throw new GradientError(`optimizer '${type}': 'learningRate' must be a number or a schedule`);
  const lr = learningRate ?? rateFromSpec(given, type, graph);
  switch (type) {
    case 'sgd':
      return new SGD(lr);
    case 'momentum':
      return new Momentum(lr, num('momentum', 0.9), { useNesterov: s.nesterov === true });
    case 'adam':
      return new Adam(lr, num('beta1', 0.9), num('beta2', 0.999), num('epsilon', 1e-8));
    default:
      return new RMSProp(lr, num('decay', 0.9), num('momentum', 0), num('epsilon', 1e-10));
  }
}
