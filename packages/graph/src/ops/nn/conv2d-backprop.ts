import { ShapeError } from '../../errors';
import { SymbolicTensor } from '../../graph';
import type { Attrs, InferContext } from '../../opdef';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireFloat, requireRank } from '../infer-helpers';
import { paddingAttr, pairAttr, window2d } from './conv-util';

/**
 * The two adjoints of conv2d and of depthwiseConv2d (TensorFlow's Conv2DBackpropInput/Filter and
 * DepthwiseConv2dNativeBackpropInput/Filter), with the forward op's attrs (strides, padding,
 * dilations). The forward input (`x`) or filter is passed as a reference for its run-time shape:
 * with strides > 1 several input sizes give the same output size, so dy alone does not say.
 *
 * - `conv2dBackpropInput(dy, filter, x)`: d(loss)/dx, shaped as x.
 * - `conv2dBackpropFilter(x, dy, filter)`: d(loss)/d(filter), shaped as the filter.
 *
 * All four are bilinear, so their own gradients are the forward op and the other adjoint: gradients
 * of gradients (a gradient penalty on a CNN) stay closed.
 */

function checkDy(ctx: InferContext, dyIndex: number, x: (number | null)[], filter: (number | null)[], depthwise: boolean): void {
  const dy = requireRank(ctx, dyIndex, 4);
  const [kh, kw, cin, m] = filter;
  const strides = pairAttr(ctx.attrs, 'strides', ctx.where, [1, 1]);
  const dilations = pairAttr(ctx.attrs, 'dilations', ctx.where, [1, 1]);
  const padding = paddingAttr(ctx.attrs, ctx.where);
  const geo = window2d(x[1], x[2], { window: [kh, kw], strides, dilations, padding }, ctx.where);
  const cout = depthwise ? (cin === null || m === null ? null : cin * m) : m;
  const expected = [x[0], geo.outH, geo.outW, cout];
  if (!expected.every((d, i) => d === null || dy[i] === null || d === dy[i])) {
    throw new ShapeError(
      `${ctx.where}dy ${shapeToString(dy)} is not the output shape ${shapeToString(expected)} of a convolution of ${shapeToString(x)} by ${shapeToString(filter)}`,
    );
  }
  if (x[3] !== null && cin !== null && x[3] !== cin) {
    throw new ShapeError(`${ctx.where}input has ${x[3]} channels but the filter expects ${cin}`);
  }
}

function registerBackprop(forward: 'conv2d' | 'depthwiseConv2d'): void {
  const depthwise = forward === 'depthwiseConv2d';
  const input = `${forward}BackpropInput`;
  const filterOp = `${forward}BackpropFilter`;
  registerOp({
    name: input,
    family: 'nn',
    numInputs: 3,
    nonDifferentiableInputs: [2],
    infer: (ctx) => {
      const dtype = requireFloat(ctx, 0);
      const filter = requireRank(ctx, 1, 4);
      const x = requireRank(ctx, 2, 4);
      checkDy(ctx, 0, x, filter, depthwise);
      return [{ dtype, shape: [...x] }];
    },
    // <ddx, B(dy, W)> = <forward(ddx, W), dy>
    gradient: ({ node, inputs, grads }) => {
      const [dy, filter] = inputs;
      const ddx = grads[0]!;
      return [apply1(forward, [ddx, filter], convAttrs(node.attrs)), apply1(filterOp, [ddx, dy, filter], convAttrs(node.attrs)), null];
    },
  });
  registerOp({
    name: filterOp,
    family: 'nn',
    numInputs: 3,
    nonDifferentiableInputs: [2],
    infer: (ctx) => {
      const dtype = requireFloat(ctx, 0);
      const x = requireRank(ctx, 0, 4);
      const filter = requireRank(ctx, 2, 4);
      checkDy(ctx, 1, x, filter, depthwise);
      return [{ dtype, shape: [...filter] }];
    },
    // <ddW, B(x, dy)> = <forward(x, ddW), dy>
    gradient: ({ node, inputs, grads }) => {
      const [x, dy] = inputs;
      const ddw = grads[0]!;
      return [apply1(input, [dy, ddw, x], convAttrs(node.attrs)), apply1(forward, [x, ddw], convAttrs(node.attrs)), null];
    },
  });
}

registerBackprop('conv2d');
registerBackprop('depthwiseConv2d');

function convAttrs(attrs: Attrs): Attrs {
  return { strides: attrs.strides, padding: attrs.padding, dilations: attrs.dilations ?? [1, 1] };
}

/** d(loss)/dx of `conv2d(x, filter, ...)` given dy, for the conv whose attrs are `attrs`. */
export function conv2dBackpropInput(dy: SymbolicTensor, filter: SymbolicTensor, x: SymbolicTensor, attrs: Attrs, name?: string): SymbolicTensor {
  return apply1('conv2dBackpropInput', [dy, filter, x], convAttrs(attrs), name);
}

/** d(loss)/d(filter) of `conv2d(x, filter, ...)` given dy. */
export function conv2dBackpropFilter(x: SymbolicTensor, dy: SymbolicTensor, filter: SymbolicTensor, attrs: Attrs, name?: string): SymbolicTensor {
  return apply1('conv2dBackpropFilter', [x, dy, filter], convAttrs(attrs), name);
}

export function depthwiseConv2dBackpropInput(dy: SymbolicTensor, filter: SymbolicTensor, x: SymbolicTensor, attrs: Attrs, name?: string): SymbolicTensor {
  return apply1('depthwiseConv2dBackpropInput', [dy, filter, x], convAttrs(attrs), name);
}

export function depthwiseConv2dBackpropFilter(x: SymbolicTensor, dy: SymbolicTensor, filter: SymbolicTensor, attrs: Attrs, name?: string): SymbolicTensor {
  return apply1('depthwiseConv2dBackpropFilter', [x, dy, filter], convAttrs(attrs), name);
}
