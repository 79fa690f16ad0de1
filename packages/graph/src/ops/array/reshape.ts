import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import type { InferContext } from '../../opdef';
import { registerOp } from '../../registry';
import { Shape, normalizeAxis, shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { attrInts } from '../infer-helpers';

/**
 * The output shape of a reshape of `input` to `target` (one -1 allowed, 0 means a dimension of 0 as
 * in TensorFlow). With unknown input dimensions a -1 stays unknown; known sizes are still checked
 * wherever they can be (a [?, 4] tensor cannot become [6]: 6 is not a multiple of 4).
 */
function inferReshape(ctx: InferContext): Shape {
  const input = ctx.inputs[0].shape;
  const target = attrInts(ctx, 'shape');
  const wildcards = target.filter((d) => d === -1).length;
  if (wildcards > 1 || target.some((d) => d < -1)) {
    throw new ShapeError(`${ctx.where}target shape [${target.join(', ')}] may hold at most one -1 and no other negative size`);
  }
  const knownTarget = target.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const inputKnown = input.every((d) => d !== null);
  const knownInput = input.reduce<number>((p, d) => (d === null ? p : p * d), 1);
  // (a function: the message is only written when a check fails, and reshape is inferred at every pass's copy)
  const describe = (): string => `cannot reshape ${shapeToString(input)} to [${target.join(', ')}]`;
  if (wildcards === 0) {
    if (inputKnown ? knownInput !== knownTarget : knownInput !== 0 && knownTarget % knownInput !== 0) {
      throw new ShapeError(`${ctx.where}${describe()}: ${inputKnown ? `${knownInput} elements vs ${knownTarget}` : `${knownTarget} elements is not a multiple of ${knownInput}`}`);
    }
    return [...target];
  }
  if (knownTarget === 0) throw new ShapeError(`${ctx.where}${describe()}: -1 is ambiguous when another size is 0`);
  if (!inputKnown) return target.map((d) => (d === -1 ? null : d));
  if (knownInput % knownTarget !== 0) {
    throw new ShapeError(`${ctx.where}${describe()}: ${knownInput} elements is not a multiple of ${knownTarget}`);
  }
  return target.map((d) => (d === -1 ? knownInput / knownTarget : d));
}

/** Same data, new shape: no copy (the kernel hands out a view of the input's buffer). */
registerOp({
  name: 'reshape',
  family: 'array',
  numInputs: 1,
  aliasesInput: true,
  infer: (ctx) => [{ dtype: ctx.inputs[0].dtype, shape: inferReshape(ctx) }],
});

/** Inserts a dimension of size 1 at `axis` (in [-rank-1, rank], as tf.expand_dims). */
registerOp({
  name: 'expandDims',
  family: 'array',
  numInputs: 1,
  aliasesInput: true,
  infer: (ctx) => {
    const shape = ctx.inputs[0].shape;
    const axis = normalizeAxis(Number(ctx.attrs.axis), shape.length + 1, ctx.where);
    return [{ dtype: ctx.inputs[0].dtype, shape: [...shape.slice(0, axis), 1, ...shape.slice(axis)] }];
  },
});

/** Removes the listed dimensions, each of which must be 1 (an unknown one must be 1 at run time). */
registerOp({
  name: 'squeeze',
  family: 'array',
  numInputs: 1,
  aliasesInput: true,
  infer: (ctx) => {
    const shape = ctx.inputs[0].shape;
    const axes = new Set(attrInts(ctx, 'axes').map((a) => normalizeAxis(a, shape.length, ctx.where)));
    for (const a of axes) {
      if (shape[a] !== null && shape[a] !== 1) {
        throw new ShapeError(`${ctx.where}cannot squeeze axis ${a} of ${shapeToString(shape)}: its size is ${shape[a]}, not 1`);
      }
    }
    return [{ dtype: ctx.inputs[0].dtype, shape: shape.filter((_, i) => !axes.has(i)) }];
  },
});

/**
 * The same values with a new shape; one dimension may be -1, to be inferred from the size.
 *
 * ```ts
 * ops.reshape(x, [-1, 2]);   // x: [?, 4] -> [?, 2]; x: [3, 4] -> [6, 2]
 * ```
 */
export function reshape(x: TensorLike, shape: number[], name?: string): SymbolicTensor {
  return apply1('reshape', [x], { shape: [...shape] }, name);
}

/** A new dimension of size 1 at `axis` (negative counts from the end: -1 appends). */
export function expandDims(x: TensorLike, axis = 0, name?: string): SymbolicTensor {
  return apply1('expandDims', [x], { axis }, name);
}

/**
 * Removes dimensions of size 1: the listed `axes`, or every dimension known to be 1 when `axes` is
 * omitted. Unknown dimensions are kept then (the output rank is fixed when the graph is built); name
 * them in `axes` to squeeze them, which checks at run time that they are 1.
 *
 * ```ts
 * ops.squeeze(x);          // [1, 3, 1] -> [3]
 * ops.squeeze(y, [-1]);    // [?, 1] -> [?]
 * ```
 */
export function squeeze(x: TensorLike, axes?: number | number[], name?: string): SymbolicTensor {
  if (axes === undefined) {
    const t = toSymbolic(graphOf([x]), x);
    return apply1('squeeze', [t], { axes: t.shape.flatMap((d, i) => (d === 1 ? [i] : [])) }, name);
  }
  return apply1('squeeze', [x], { axes: typeof axes === 'number' ? [axes] : [...axes] }, name);
}
