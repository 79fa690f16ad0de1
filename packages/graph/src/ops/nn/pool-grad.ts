import { ShapeError } from '../../errors';
import { SymbolicTensor } from '../../graph';
import type { Attrs, InferContext } from '../../opdef';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireFloat, requireRank } from '../infer-helpers';
import { paddingAttr, pairAttr, window2d } from './conv-util';

/**
 * Gradient-only helpers of the pools, with the forward op's attrs (ksize, strides, padding):
 *
 * - `maxPoolGrad(dy, x)`: x's shape; each window's dy goes to the cell holding the window's max (the
 *   first one in row-major order on ties, as the forward kernel scans).
 * - `maxPoolGradGrad(ddx, x)`: the pooled shape; each window takes ddx at that same cell. The two are
 *   each other's transposes, so second derivatives through maxPool stay closed.
 * - `avgPoolGrad(dy, x)`: x's shape; each window's dy spread evenly over the cells it averaged (padding
 *   not counted). Its gradient is avgPool itself.
 */

function pooledShape(ctx: InferContext, x: (number | null)[]): (number | null)[] {
  const window = pairAttr(ctx.attrs, 'ksize', ctx.where);
  const strides = pairAttr(ctx.attrs, 'strides', ctx.where, [1, 1]);
  const padding = paddingAttr(ctx.attrs, ctx.where);
  const geo = window2d(x[1], x[2], { window, strides, dilations: [1, 1], padding }, ctx.where);
  return [x[0], geo.outH, geo.outW, x[3]];
}

function checkShape(ctx: InferContext, actual: (number | null)[], expected: (number | null)[], what: string): void {
  if (!expected.every((d, i) => d === null || actual[i] === null || d === actual[i])) {
    throw new ShapeError(`${ctx.where}${what} ${shapeToString(actual)} does not match ${shapeToString(expected)}`);
  }
}

const poolAttrs = (attrs: Attrs): Attrs => ({ ksize: attrs.ksize, strides: attrs.strides, padding: attrs.padding });

for (const name of ['maxPoolGrad', 'avgPoolGrad']) {
  registerOp({
    name,
    family: 'nn',
    numInputs: 2,
    nonDifferentiableInputs: [1],
    infer: (ctx) => {
      const dtype = requireFloat(ctx, 0);
      const dy = requireRank(ctx, 0, 4);
      const x = requireRank(ctx, 1, 4);
      checkShape(ctx, dy, pooledShape(ctx, x), 'dy');
      return [{ dtype, shape: [...x] }];
    },
    gradient: ({ node, inputs, grads }) =>
      name === 'maxPoolGrad'
        ? [apply1('maxPoolGradGrad', [grads[0]!, inputs[1]], poolAttrs(node.attrs)), null]
        : [apply1('avgPool', [grads[0]!], poolAttrs(node.attrs)), null],
  });
}

registerOp({
  name: 'maxPoolGradGrad',
  family: 'nn',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const dtype = requireFloat(ctx, 0);
    const ddx = requireRank(ctx, 0, 4);
    const x = requireRank(ctx, 1, 4);
    checkShape(ctx, ddx, x, 'ddx');
    return [{ dtype, shape: pooledShape(ctx, x) }];
  },
  gradient: ({ node, inputs, grads }) => [apply1('maxPoolGrad', [grads[0]!, inputs[1]], poolAttrs(node.attrs)), null],
});

/** d(loss)/dx of `maxPool(x, ...)` given dy, for the pool whose attrs are `attrs`. */
export function maxPoolGrad(dy: SymbolicTensor, x: SymbolicTensor, attrs: Attrs, name?: string): SymbolicTensor {
  return apply1('maxPoolGrad', [dy, x], poolAttrs(attrs), name);
}

/** d(loss)/dx of `avgPool(x, ...)` given dy. */
export function avgPoolGrad(dy: SymbolicTensor, x: SymbolicTensor, attrs: Attrs, name?: string): SymbolicTensor {
  return apply1('avgPoolGrad', [dy, x], poolAttrs(attrs), name);
}

/** Picks ddx at the max cell of each pooling window of x: the transpose of maxPoolGrad. */
export function maxPoolGradGrad(ddx: SymbolicTensor, x: SymbolicTensor, attrs: Attrs, name?: string): SymbolicTensor {
  return apply1('maxPoolGradGrad', [ddx, x], poolAttrs(attrs), name);
}
