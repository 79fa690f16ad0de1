import type { Attrs } from '../../opdef';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { requireFloat } from '../infer-helpers';

const num = (attrs: Attrs, key: string, fallback: number): number => (typeof attrs[key] === 'number' ? (attrs[key] as number) : fallback);
const lit = (x: number): string => (Number.isInteger(x) ? `${x}.0` : String(x));

/** Activations ONNX has and TensorFlow's core lacks; each a pointwise table row, fused like the others. */
const ROWS: { name: string; js: (at: Attrs) => string; wgsl: (at: Attrs) => string }[] = [
  // x / (1 + |x|)
  { name: 'softsign', js: () => '(a / (1 + Math.abs(a)))', wgsl: () => '(a / (1.0 + abs(a)))' },
  // x where x > alpha, else 0 (default alpha 1)
  {
    name: 'thresholdedRelu',
    js: (at) => `(a > ${num(at, 'alpha', 1)} ? a : 0)`,
    wgsl: (at) => `select(0.0, a, a > ${lit(num(at, 'alpha', 1))})`,
  },
  // max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (default alpha 1)
  {
    name: 'celu',
    js: (at) => `(a > 0 ? a : ${num(at, 'alpha', 1)} * (Math.exp(a / ${num(at, 'alpha', 1)}) - 1))`,
    wgsl: (at) => `select(${lit(num(at, 'alpha', 1))} * (exp(a / ${lit(num(at, 'alpha', 1))}) - 1.0), a, a > 0.0)`,
  },
  // x + bias where x < -lambd, x - bias where x > lambd, else 0 (defaults bias 0, lambd 0.5)
  {
    name: 'shrink',
    js: (at) => {
      const l = num(at, 'lambd', 0.5);
      const b = num(at, 'bias', 0);
      return `(a < ${-l} ? a + ${b} : a > ${l} ? a - ${b} : 0)`;
    },
    wgsl: (at) => {
      const l = lit(num(at, 'lambd', 0.5));
      const b = lit(num(at, 'bias', 0));
      return `select(select(0.0, a - ${b}, a > ${l}), a + ${b}, a < -${l})`;
    },
  },
];

for (const row of ROWS) {
  registerOp({
    name: row.name,
    family: 'nn',
    numInputs: 1,
    infer: (ctx) => [{ dtype: requireFloat(ctx, 0), shape: ctx.inputs[0].shape }],
    inplaceInput: 0,
    elementwise: { js: row.js, wgsl: row.wgsl },
  });
}

export function softsign(x: TensorLike, name?: string): SymbolicTensor {
  return apply1('softsign', [x], {}, name);
}

export function thresholdedRelu(x: TensorLike, alpha = 1, name?: string): SymbolicTensor {
  return apply1('thresholdedRelu', [x], { alpha }, name);
}

export function celu(x: TensorLike, alpha = 1, name?: string): SymbolicTensor {
  return apply1('celu', [x], { alpha }, name);
}

export function shrink(x: TensorLike, lambd = 0.5, bias = 0, name?: string): SymbolicTensor {
  return apply1('shrink', [x], { lambd, bias }, name);
}
