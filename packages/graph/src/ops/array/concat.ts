import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import type { Attrs } from '../../opdef';
import { registerOp } from '../../registry';
import { Shape, normalizeAxis, shapeToString } from '../../shape';
import { applyOp } from '../builder';
import { sameDType } from '../infer-helpers';

/** Joins its inputs along `axis`; every other dimension must agree. */
registerOp({
  name: 'concat',
  family: 'array',
  numInputs: 'variadic',
  infer: (ctx) => {
    if (ctx.inputs.length === 0) throw new ShapeError(`${ctx.where}needs at least one input`);
    const dtype = sameDType(ctx);
    const rank = ctx.inputs[0].shape.length;
    if (rank === 0) throw new ShapeError(`${ctx.where}cannot concatenate scalars: expandDims them first`);
    const axis = normalizeAxis(Number(ctx.attrs.axis), rank, ctx.where);
    const out: Shape = [...ctx.inputs[0].shape];
    out[axis] = 0;
    ctx.inputs.forEach(({ shape }, k) => {
      if (shape.length !== rank) {
        throw new ShapeError(`${ctx.where}input ${k} has rank ${shape.length} (${shapeToString(shape)}), input 0 has rank ${rank}`);
      }
      shape.forEach((d, i) => {
        if (i === axis) out[i] = d === null || out[i] === null ? null : (out[i] as number) + d;
        else if (out[i] === null) out[i] = d;
        else if (d !== null && d !== out[i]) {
          throw new ShapeError(
            `${ctx.where}input ${k} has shape ${shapeToString(shape)}, which differs from ${shapeToString(ctx.inputs[0].shape)} in dimension ${i} (concat axis is ${axis})`,
          );
        }
      });
    });
    return [{ dtype, shape: out }];
  },
});

/**
 * Cuts its input along `axis` into `num` equal parts or into parts of `sizes` (one may be -1: the
 * rest). One output per part.
 */
registerOp({
  name: 'split',
  family: 'array',
  numInputs: 1,
  infer: (ctx) => {
    const { dtype, shape } = ctx.inputs[0];
    const axis = normalizeAxis(Number(ctx.attrs.axis), shape.length, ctx.where);
    const dim = shape[axis];
    const part = (d: number | null): Shape => shape.map((s, i) => (i === axis ? d : s));
    if (Array.isArray(ctx.attrs.sizes)) {
      const sizes = ctx.attrs.sizes as number[];
      if (sizes.length === 0 || !sizes.every((s) => Number.isInteger(s) && s >= -1) || sizes.filter((s) => s === -1).length > 1) {
        throw new ShapeError(`${ctx.where}sizes [${sizes.join(', ')}] must be non-negative integers, with at most one -1`);
      }
      const known = sizes.reduce((a, s) => (s === -1 ? a : a + s), 0);
      const hasRest = sizes.includes(-1);
      if (dim !== null && (hasRest ? known > dim : known !== dim)) {
        throw new ShapeError(`${ctx.where}sizes [${sizes.join(', ')}] do not add up to dimension ${axis} of ${shapeToString(shape)}`);
      }
      return sizes.map((s) => ({ dtype, shape: part(s !== -1 ? s : dim === null ? null : dim - known) }));
    }
    const num = Number(ctx.attrs.num);
    if (!Number.isInteger(num) || num < 1) throw new ShapeError(`${ctx.where}number of splits must be a positive integer, got ${String(ctx.attrs.num)}`);
    if (dim !== null && dim % num !== 0) {
      throw new ShapeError(`${ctx.where}dimension ${axis} of ${shapeToString(shape)} does not split into ${num} equal parts`);
    }
    return Array.from({ length: num }, () => ({ dtype, shape: part(dim === null ? null : dim / num) }));
  },
});

/**
 * Joins tensors along `axis` (negative counts from the end).
 *
 * ```ts
 * ops.concat([a, b], 1);   // [2, 3] and [2, 5] -> [2, 8]
 * ```
 */
export function concat(values: TensorLike[], axis = 0, name?: string): SymbolicTensor {
  return applyOp('concat', values, { axis }, name).output(0);
}

/**
 * Cuts `x` along `axis` into `numOrSizes` equal parts, or into parts of the listed sizes (one may be
 * -1 for "the rest"), as tf.split.
 *
 * ```ts
 * const [a, b, c] = ops.split(x, 3, 1);       // [2, 6] -> three [2, 2]
 * const [head, tail] = ops.split(x, [1, -1]); // [5, 4] -> [1, 4] and [4, 4]
 * ```
 */
export function split(x: TensorLike, numOrSizes: number | number[], axis = 0, name?: string): SymbolicTensor[] {
  const t = toSymbolic(graphOf([x]), x);
  const attrs: Attrs = Array.isArray(numOrSizes) ? { sizes: [...numOrSizes], axis } : { num: numOrSizes, axis };
  return applyOp('split', [t], attrs, name).outputTensors;
}
