import { DType, isDType, isInteger } from '../../dtype';
import { DTypeError, ShapeError } from '../../errors';
import { Graph, SymbolicTensor } from '../../graph';
import type { InferContext } from '../../opdef';
import { registerOp } from '../../registry';
import { apply1, cleanAttrs } from '../builder';
import { attrNumber } from '../infer-helpers';

/** Where a source op goes and what it is called (sources have no input to take a graph from). */
export interface SourceOptions {
  graph?: Graph;
  name?: string;
}

function inferRandom(ctx: InferContext, dtypes: DType[]) {
  const { shape, dtype } = ctx.attrs;
  if (!isDType(dtype) || !dtypes.includes(dtype)) {
    throw new DTypeError(`${ctx.where}dtype must be ${dtypes.join(' or ')}, got ${String(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(`${ctx.where}shape must be a list of non-negative integers`);
  }
  return [{ dtype, shape: [...(shape as number[])] }];
}

/**
 * Uniform samples in [minval, maxval). Integer dtypes draw integers in [minval, maxval), which must be
 * a non-empty range. Stateful: every run draws new values from the node's seeded generator.
 */
registerOp({
  name: 'randomUniform',
  family: 'random',
  numInputs: 0,
  stateful: true,
  infer: (ctx) => {
    const out = inferRandom(ctx, ['float32', 'float64', 'int32', 'int64']);
    const lo = attrNumber(ctx, 'minval', 0);
    const hi = attrNumber(ctx, 'maxval', 1);
    if (isInteger(out[0].dtype) && !(Number.isInteger(lo) && Number.isInteger(hi) && lo < hi)) {
      throw new ShapeError(`${ctx.where}integer randomUniform needs integer minval < maxval, got [${lo}, ${hi})`);
    }
    if (!(lo <= hi)) throw new ShapeError(`${ctx.where}minval ${lo} must not exceed maxval ${hi}`);
    return out;
  },
});

/** randomNormal: `mean + stddev * N(0, 1)`; truncatedNormal: the same, redrawing samples beyond 2 stddev. */
for (const name of ['randomNormal', 'truncatedNormal']) {
  registerOp({
    name,
    family: 'random',
    numInputs: 0,
    stateful: true,
    infer: (ctx) => {
      const out = inferRandom(ctx, ['float32', 'float64']);
      attrNumber(ctx, 'mean', 0);
      const stddev = attrNumber(ctx, 'stddev', 1);
      if (!(stddev >= 0)) throw new ShapeError(`${ctx.where}stddev must be non-negative, got ${stddev}`);
      return out;
    },
  });
}

function source(op: string, attrs: Record<string, unknown>, options: SourceOptions): SymbolicTensor {
  return apply1(op, [], cleanAttrs(attrs), options.name, options.graph);
}

/**
 * Uniform random values in [minval, maxval), as `tf.random.uniform`. With a seed the op gives the
 * same sequence in every new session; each run of a session continues the sequence.
 *
 * ```ts
 * const w = g.variable(ops.randomUniform([784, 10], -0.1, 0.1, 'float32', 7), 'w');
 * const dice = ops.randomUniform([10], 1, 7, 'int32');   // integers 1..6
 * ```
 */
export function randomUniform(
  shape: number[],
  minval = 0,
  maxval = 1,
  dtype: DType = 'float32',
  seed?: number,
  options: SourceOptions = {},
): SymbolicTensor {
  return source('randomUniform', { shape: [...shape], minval, maxval, dtype, seed }, options);
}

/** Normal random values, as `tf.random.normal`. */
export function randomNormal(
  shape: number[],
  mean = 0,
  stddev = 1,
  dtype: DType = 'float32',
  seed?: number,
  options: SourceOptions = {},
): SymbolicTensor {
  return source('randomNormal', { shape: [...shape], mean, stddev, dtype, seed }, options);
}

/** Normal random values redrawn until within 2 standard deviations of the mean, as `tf.random.truncated_normal`. */
export function truncatedNormal(
  shape: number[],
  mean = 0,
  stddev = 1,
  dtype: DType = 'float32',
  seed?: number,
  options: SourceOptions = {},
): SymbolicTensor {
  return source('truncatedNormal', { shape: [...shape], mean, stddev, dtype, seed }, options);
}
