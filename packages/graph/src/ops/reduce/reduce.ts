import type { DType } from '../../dtype';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import type { InferContext, OutputInfo } from '../../opdef';
import { registerOp } from '../../registry';
import { Shape, normalizeAxes } from '../../shape';
import { apply1 } from '../builder';
import { attrInts, requireDType } from '../infer-helpers';

const NUMERIC: DType[] = ['float32', 'float64', 'int32', 'int64'];

/** Output shape of a reduction over `axes` (a scalar input has no axes to reduce). */
function reducedShape(shape: Shape, axes: number[], keepDims: boolean): Shape {
  const set = new Set(axes);
  return keepDims ? shape.map((d, i) => (set.has(i) ? 1 : d)) : shape.filter((_, i) => !set.has(i));
}

function inferReduce(ctx: InferContext): OutputInfo[] {
  const { dtype, shape } = ctx.inputs[0];
  requireDType(ctx, 0, NUMERIC);
  const axes = shape.length === 0 ? [] : normalizeAxes(attrInts(ctx, 'axes'), shape.length, ctx.where);
  return [{ dtype, shape: reducedShape(shape, axes, ctx.attrs.keepDims === true) }];
}

/**
 * Reductions over `axes` (sorted attr; keepDims keeps them as size 1). Over no elements they give
 * the identity: sum 0, prod 1, max -Infinity (the lowest integer for int dtypes), min +Infinity;
 * mean of nothing is NaN (0 for int dtypes). Integer means truncate, as TensorFlow's. max and min
 * propagate NaN, as `maximum` does.
 */
for (const name of ['reduceSum', 'reduceMean', 'reduceMax', 'reduceMin', 'reduceProd']) {
  registerOp({ name, family: 'reduce', numInputs: 1, infer: inferReduce });
}

export type Axes = number | number[];

function reduce(op: string) {
  return (x: TensorLike, axes?: Axes, keepDims = false, name?: string): SymbolicTensor => {
    const t = toSymbolic(graphOf([x]), x);
    const list = axes === undefined ? undefined : typeof axes === 'number' ? [axes] : axes;
    // normalized here so equal reductions have equal attrs (CSE) and saved models are canonical;
    // out-of-range axes go through as given, for inference to reject naming the node
    const valid = list === undefined || list.every((a) => Number.isInteger(a) && a >= -t.rank && a < t.rank);
    const resolved = t.rank === 0 ? [] : valid ? normalizeAxes(list, t.rank) : [...list!];
    return apply1(op, [t], { axes: resolved, keepDims }, name);
  };
}

/**
 * Sum over `axes` (all when omitted; negative counts from the end), as tf.reduce_sum.
 *
 * ```ts
 * ops.reduceSum(x);             // [[1, 2], [3, 4]] -> 10
 * ops.reduceSum(x, 1);          // -> [3, 7]
 * ops.reduceSum(x, 0, true);    // -> [[4, 6]]
 * ```
 */
export const reduceSum = reduce('reduceSum');
/** Mean over `axes` (all when omitted); integer dtypes truncate. `ops.mean` is the same op. */
export const reduceMean = reduce('reduceMean');
export const mean = reduceMean;
export const reduceMax = reduce('reduceMax');
export const reduceMin = reduce('reduceMin');
export const reduceProd = reduce('reduceProd');
