import { GradientError } from '@graphc/graph';
import { Adam } from './adam';
import { Momentum } from './momentum';
import type { Optimizer } from './optimizer';
import { RMSProp } from './rmsprop';
import { SGD } from './sgd';

/**
 * An optimizer described as JSON, as a saved model declares it (docs/model-format.md, "training"):
 * `{ "type": "adam", "learningRate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8 }`.
 */
export type OptimizerSpec =
  | { type: 'sgd'; learningRate: number }
  | { type: 'momentum'; learningRate: number; momentum?: number; nesterov?: boolean }
  | { type: 'adam'; learningRate?: number; beta1?: number; beta2?: number; epsilon?: number }
  | { type: 'rmsprop'; learningRate?: number; decay?: number; momentum?: number; epsilon?: number };

const KEYS: Record<string, string[]> = {
  sgd: ['learningRate'],
  momentum: ['learningRate', 'momentum', 'nesterov'],
  adam: ['learningRate', 'beta1', 'beta2', 'epsilon'],
  rmsprop: ['learningRate', 'decay', 'momentum', 'epsilon'],
};

/** Makes the optimizer a spec describes; `learningRate` overrides the spec's (the CLI's --lr). */
export function optimizerFromSpec(spec: unknown, learningRate?: number): Optimizer {
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
  const lr = learningRate ?? (type === 'sgd' || type === 'momentum' ? num('learningRate') : num('learningRate', 0.001));
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
