import { ShapeError } from '../../errors';
import { SymbolicTensor } from '../../graph';
import { registerOp } from '../../registry';
import { normalizeAxis, shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { attrInts, requireDType } from '../infer-helpers';
import { gather } from './gather';
import { pad } from './pad';
import type { PadMode } from './pad';
import { slice } from './slice';
import { stridedSlice } from './strided-slice';
import { tile } from './tile';

/**
 * Gradient-only helpers of the array family. Each takes the forward input as a reference for its
 * run-time shape (so unknown dimensions are fine) and reads nothing else from it; each one's own
 * gradient is the forward op again, so second derivatives stay closed.
 */

/** reshapeToShapeOf(x, like): x's values with like's run-time shape (the gradient of reshape and squeeze). */
registerOp({
  name: 'reshapeToShapeOf',
  family: 'array',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  aliasesInput: true,
  infer: (ctx) => {
    const [x, like] = ctx.inputs;
    const known = (s: (number | null)[]) => (s.every((d) => d !== null) ? s.reduce<number>((a, d) => a * d!, 1) : null);
    const a = known(x.shape);
    const b = known(like.shape);
    if (a !== null && b !== null && a !== b) {
      throw new ShapeError(`${ctx.where}cannot reshape ${shapeToString(x.shape)} (${a} elements) to ${shapeToString(like.shape)} (${b})`);
    }
    return [{ dtype: x.dtype, shape: [...like.shape] }];
  },
  gradient: ({ inputs, grads }) => [reshapeToShapeOf(grads[0]!, inputs[0]), null],
});

/**
 * sliceGrad(dy, x): zeros of x's shape with dy written at `begin` (the gradient of slice: what the
 * slice took gets the gradient, the rest none).
 */
registerOp({
  name: 'sliceGrad',
  family: 'array',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const [dy, x] = ctx.inputs;
    const begin = attrInts(ctx, 'begin');
    if (begin.length !== x.shape.length || dy.shape.length !== x.shape.length) {
      throw new ShapeError(`${ctx.where}begin [${begin.join(', ')}], dy ${shapeToString(dy.shape)} and x ${shapeToString(x.shape)} must have the same rank`);
    }
    return [{ dtype: dy.dtype, shape: [...x.shape] }];
  },
  gradient: ({ node, inputs, grads }) => [slice(grads[0]!, node.attrs.begin as number[], sizeOfSlice(inputs[0], node.attrs.size)), null],
});

/** The size attr of the slice that takes dy back out of ddx: dy's static dims, -1 where unknown and running to the end. */
function sizeOfSlice(dy: SymbolicTensor, size: unknown): number[] {
  const forward = Array.isArray(size) ? (size as number[]) : dy.shape.map(() => -1);
  return dy.shape.map((d, i) => (d !== null ? d : forward[i]));
}

/**
 * gatherGrad(dy, indices, params): zeros of params' shape with each slice of dy added at the row its
 * index picked (the gradient of gather; repeated indices accumulate).
 */
registerOp({
  name: 'gatherGrad',
  family: 'array',
  numInputs: 3,
  nonDifferentiableInputs: [1, 2],
  infer: (ctx) => {
    const [dy, indices, params] = ctx.inputs;
    requireDType(ctx, 1, ['int32', 'int64']);
    const axis = normalizeAxis(Number(ctx.attrs.axis ?? 0), params.shape.length, ctx.where);
    const expected = params.shape.length - 1 + indices.shape.length;
    if (dy.shape.length !== expected) {
      throw new ShapeError(`${ctx.where}dy ${shapeToString(dy.shape)} does not match a gather of axis ${axis} of ${shapeToString(params.shape)} by ${shapeToString(indices.shape)}`);
    }
    return [{ dtype: dy.dtype, shape: [...params.shape] }];
  },
  gradient: ({ node, inputs, grads }) => [gather(grads[0]!, inputs[1], node.attrs.axis as number), null, null],
});

/**
 * padGrad(dy, x) and tileGrad(dy, x): x's shape, each element the sum of dy over the output
 * positions the forward op copied it to (its interior position for constant padding, its mirror
 * images too for reflect/symmetric, every repeat for tile). Both forward ops are linear in x (the
 * pad constant aside), so each helper's gradient is its forward op applied to the incoming gradient.
 */
registerOp({
  name: 'padGrad',
  family: 'array',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const [dy, x] = ctx.inputs;
    const paddings = attrInts(ctx, 'paddings');
    if (paddings.length !== 2 * x.shape.length || dy.shape.length !== x.shape.length) {
      throw new ShapeError(`${ctx.where}paddings [${paddings.join(', ')}] do not fit dy ${shapeToString(dy.shape)} and x ${shapeToString(x.shape)}`);
    }
    return [{ dtype: dy.dtype, shape: [...x.shape] }];
  },
  gradient: ({ node, grads }) => {
    const p = node.attrs.paddings as number[];
    const pairs = Array.from({ length: p.length / 2 }, (_, i) => [p[2 * i], p[2 * i + 1]]);
    return [pad(grads[0]!, pairs, 0, (node.attrs.mode ?? 'constant') as PadMode), null];
  },
});

registerOp({
  name: 'tileGrad',
  family: 'array',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const [dy, x] = ctx.inputs;
    const multiples = attrInts(ctx, 'multiples');
    if (multiples.length !== x.shape.length || dy.shape.length !== x.shape.length) {
      throw new ShapeError(`${ctx.where}multiples [${multiples.join(', ')}] do not fit dy ${shapeToString(dy.shape)} and x ${shapeToString(x.shape)}`);
    }
    return [{ dtype: dy.dtype, shape: [...x.shape] }];
  },
  gradient: ({ node, grads }) => [tile(grads[0]!, node.attrs.multiples as number[]), null],
});

/**
 * stridedSliceGrad(dy, x): zeros of x's shape with dy written where stridedSlice (same begin,
 * strides and size attrs) took its elements. Its gradient is that stridedSlice.
 */
registerOp({
  name: 'stridedSliceGrad',
  family: 'array',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const [dy, x] = ctx.inputs;
    const size = attrInts(ctx, 'size');
    const begin = attrInts(ctx, 'begin');
    const strides = attrInts(ctx, 'strides');
    if (size.length !== x.shape.length || begin.length !== size.length || strides.length !== size.length || dy.shape.length !== size.length) {
      throw new ShapeError(`${ctx.where}begin, strides, size and dy ${shapeToString(dy.shape)} must match the rank of x ${shapeToString(x.shape)}`);
    }
    return [{ dtype: dy.dtype, shape: [...x.shape] }];
  },
  gradient: ({ node, grads }) => [
    stridedSlice(grads[0]!, node.attrs.begin as number[], node.attrs.strides as number[], node.attrs.size as number[]),
    null,
  ],
});

/** The gradient of `stridedSlice(x, begin, strides, size)`. */
export function stridedSliceGrad(dy: SymbolicTensor, x: SymbolicTensor, begin: number[], strides: number[], size: number[], name?: string): SymbolicTensor {
  return apply1('stridedSliceGrad', [dy, x], { begin: [...begin], strides: [...strides], size: [...size] }, name);
}

/** The gradient of `pad(x, paddings, c, mode)` (paddings flat: before0, after0, ...). */
export function padGrad(dy: SymbolicTensor, x: SymbolicTensor, paddings: number[], mode: string, name?: string): SymbolicTensor {
  return apply1('padGrad', [dy, x], { paddings: [...paddings], mode }, name);
}

/** The gradient of `tile(x, multiples)`: dy summed over the repeats. */
export function tileGrad(dy: SymbolicTensor, x: SymbolicTensor, multiples: number[], name?: string): SymbolicTensor {
  return apply1('tileGrad', [dy, x], { multiples: [...multiples] }, name);
}

/** `x` reshaped to the run-time shape of `like`. */
export function reshapeToShapeOf(x: SymbolicTensor, like: SymbolicTensor, name?: string): SymbolicTensor {
  return apply1('reshapeToShapeOf', [x, like], {}, name);
}

/** Zeros shaped like `x`, with `dy` placed at `begin` (the gradient of `slice(x, begin, size)`). */
export function sliceGrad(dy: SymbolicTensor, x: SymbolicTensor, begin: number[], size: number[], name?: string): SymbolicTensor {
  return apply1('sliceGrad', [dy, x], { begin: [...begin], size: [...size] }, name);
}

/** Zeros shaped like `params`, with the rows of `dy` added where `indices` point (the gradient of gather). */
export function gatherGrad(dy: SymbolicTensor, indices: SymbolicTensor, params: SymbolicTensor, axis = 0, name?: string): SymbolicTensor {
  return apply1('gatherGrad', [dy, indices, params], { axis }, name);
}
