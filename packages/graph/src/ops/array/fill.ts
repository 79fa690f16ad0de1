import { DType, isDType, isInteger } from '../../dtype';
import { DTypeError, ShapeError } from '../../errors';
import { Graph, SymbolicTensor, TensorLike } from '../../graph';
import type { InferContext } from '../../opdef';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { attrNumber } from '../infer-helpers';

/** Where an op with no tensor input goes (default: the default graph) and what it is called. */
export interface ArraySourceOptions {
  graph?: Graph;
  name?: string;
}

function attrDType(ctx: InferContext): DType {
  const dtype = ctx.attrs.dtype;
  if (!isDType(dtype)) throw new DTypeError(`${ctx.where}attr 'dtype' must be a dtype, got ${String(dtype)}`);
  return dtype;
}

function checkValueFits(ctx: InferContext, value: number, dtype: DType, what: string): void {
  if (isInteger(dtype) && !Number.isInteger(value)) {
    throw new DTypeError(`${ctx.where}${what} ${value} is not an integer, as ${dtype} needs`);
  }
  if (dtype === 'bool' && value !== 0 && value !== 1) throw new DTypeError(`${ctx.where}${what} ${value} is not a bool (0 or 1)`);
}

/** A tensor of `shape` filled with `value`; fixed by its attrs, so constant folding may replace it. */
registerOp({
  name: 'fill',
  family: 'array',
  numInputs: 0,
  isConstantSource: true,
  infer: (ctx) => {
    const dtype = attrDType(ctx);
    const shape = ctx.attrs.shape;
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
      throw new ShapeError(`${ctx.where}shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    checkValueFits(ctx, attrNumber(ctx, 'value'), dtype, 'value');
    return [{ dtype, shape: [...(shape as number[])] }];
  },
});

/** `start, start + delta, ...` up to but excluding `limit` (tf.range). */
registerOp({
  name: 'range',
  family: 'array',
  numInputs: 0,
  isConstantSource: true,
  infer: (ctx) => {
    const dtype = attrDType(ctx);
    if (dtype === 'bool') throw new DTypeError(`${ctx.where}range needs a numeric dtype, got bool`);
    const start = attrNumber(ctx, 'start');
    const limit = attrNumber(ctx, 'limit');
    const delta = attrNumber(ctx, 'delta');
    for (const [what, v] of [['start', start], ['limit', limit], ['delta', delta]] as const) {
      if (!Number.isFinite(v)) throw new ShapeError(`${ctx.where}${what} must be finite, got ${v}`);
      checkValueFits(ctx, v, dtype, what);
    }
    if (delta === 0) throw new ShapeError(`${ctx.where}delta must not be 0`);
    return [{ dtype, shape: [rangeLength(start, limit, delta)] }];
  },
});

/** Number of elements of range(start, limit, delta). */
function rangeLength(start: number, limit: number, delta: number): number {
  return Math.max(0, Math.ceil((limit - start) / delta));
}

/** Same shape and dtype as the input, every element 0 (or 1): elementwise, so it fuses. */
for (const [name, value] of [['zerosLike', '0'], ['onesLike', '1']] as const) {
  registerOp({
    name,
    family: 'array',
    numInputs: 1,
    inplaceInput: 0,
    infer: (ctx) => [{ ...ctx.inputs[0] }],
    elementwise: { js: () => value, wgsl: () => `${value}.0` },
  });
}

/**
 * A tensor of `shape` with every element `value`.
 *
 * ```ts
 * ops.fill([2, 3], 7);                  // float32 2x3 of 7
 * ops.fill([4], 1, 'int32', { graph: g });
 * ```
 */
export function fill(shape: number[], value: number | boolean, dtype: DType = 'float32', options: ArraySourceOptions = {}): SymbolicTensor {
  return apply1('fill', [], { shape: [...shape], value: Number(value), dtype }, options.name, options.graph);
}

export function zeros(shape: number[], dtype: DType = 'float32', options: ArraySourceOptions = {}): SymbolicTensor {
  return fill(shape, 0, dtype, { name: 'zeros', ...options });
}

export function ones(shape: number[], dtype: DType = 'float32', options: ArraySourceOptions = {}): SymbolicTensor {
  return fill(shape, 1, dtype, { name: 'ones', ...options });
}

/** Zeros of the shape and dtype of `x`, which may have unknown dimensions. */
export function zerosLike(x: TensorLike, name?: string): SymbolicTensor {
  return apply1('zerosLike', [x], {}, name);
}

export function onesLike(x: TensorLike, name?: string): SymbolicTensor {
  return apply1('onesLike', [x], {}, name);
}

/**
 * `start, start + delta, ...` up to but excluding `limit`, as tf.range; `range(n)` is `0 .. n-1`.
 * The dtype defaults to int32 when every argument is an integer, else float32.
 *
 * ```ts
 * ops.range(5);            // int32 [0, 1, 2, 3, 4]
 * ops.range(1, 2, 0.25);   // float32 [1, 1.25, 1.5, 1.75]
 * ops.range(5, 0, -2);     // int32 [5, 3, 1]
 * ```
 */
export function range(start: number, limit?: number, delta = 1, dtype?: DType, options: ArraySourceOptions = {}): SymbolicTensor {
  if (limit === undefined) [start, limit] = [0, start];
  const dt = dtype ?? ([start, limit, delta].every(Number.isInteger) ? 'int32' : 'float32');
  return apply1('range', [], { start, limit, delta, dtype: dt }, options.name, options.graph);
}
