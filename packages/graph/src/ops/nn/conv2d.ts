import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import type { InferContext } from '../../opdef';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireFloat, requireRank, sameDType } from '../infer-helpers';
import { Padding, Pair, paddingAttr, pairAttr, toPair, toPaddingAttr, window2d } from './conv-util';

/** Shared inference of conv2d and depthwiseConv2d: NHWC input, [KH, KW, Cin, M] filter. */
function inferConv(ctx: InferContext, depthwise: boolean) {
  const dtype = sameDType(ctx);
  requireFloat(ctx, 0);
  const [n, h, w, c] = requireRank(ctx, 0, 4);
  const [kh, kw, fc, m] = requireRank(ctx, 1, 4);
  if (c !== null && fc !== null && c !== fc) {
    throw new ShapeError(
      `${ctx.where}input has ${c} channels but the filter expects ${fc} (input ${shapeToString(ctx.inputs[0].shape)}, filter ${shapeToString(ctx.inputs[1].shape)})`,
    );
  }
  const strides = pairAttr(ctx.attrs, 'strides', ctx.where, [1, 1]);
  const dilations = pairAttr(ctx.attrs, 'dilations', ctx.where, [1, 1]);
  const padding = paddingAttr(ctx.attrs, ctx.where);
  const geo = window2d(h, w, { window: [kh, kw], strides, dilations, padding }, ctx.where);
  const cin = c ?? fc;
  const channels = depthwise ? (cin === null || m === null ? null : cin * m) : m;
  return [{ dtype, shape: [n, geo.outH, geo.outW, channels] }];
}

/**
 * 2-D convolution (cross-correlation, as TensorFlow): `x` is NHWC `[N, H, W, Cin]`, `filter` is
 * `[KH, KW, Cin, Cout]`; the output is `[N, OH, OW, Cout]`.
 */
registerOp({
  name: 'conv2d',
  family: 'nn',
  numInputs: 2,
  infer: (ctx) => inferConv(ctx, false),
});

/**
 * Depthwise 2-D convolution: each input channel `c` is convolved with its own `M` filters
 * `filter[:, :, c, m]`, giving output channel `c * M + m` (tf.nn.depthwise_conv2d).
 */
registerOp({
  name: 'depthwiseConv2d',
  family: 'nn',
  numInputs: 2,
  infer: (ctx) => inferConv(ctx, true),
});

export interface ConvOptions {
  /** Dilation rate `[dh, dw]` (or one number); default 1. */
  dilations?: Pair;
}

/**
 * 2-D convolution over an NHWC input, as `tf.nn.conv2d`.
 *
 * ```ts
 * const x = g.placeholder('float32', [null, 28, 28, 1], 'x');
 * const w = g.variable(tensor(new Float32Array(3 * 3 * 1 * 8), [3, 3, 1, 8]), 'w');
 * const y = ops.conv2d(x, w, 1, 'SAME');          // [?, 28, 28, 8]
 * const z = ops.conv2d(x, w, [2, 2], [[1, 1], [1, 1]]);  // explicit padding: [?, 14, 14, 8]
 * ```
 */
export function conv2d(
  x: TensorLike,
  filter: TensorLike,
  strides: Pair,
  padding: Padding,
  options: ConvOptions = {},
  name?: string,
): SymbolicTensor {
  return apply1('conv2d', [x, filter], convAttrs(strides, padding, options), name);
}

/**
 * Depthwise convolution, as `tf.nn.depthwise_conv2d`: filter `[KH, KW, C, M]`, output `[N, OH, OW, C*M]`.
 */
export function depthwiseConv2d(
  x: TensorLike,
  filter: TensorLike,
  strides: Pair,
  padding: Padding,
  options: ConvOptions = {},
  name?: string,
): SymbolicTensor {
  return apply1('depthwiseConv2d', [x, filter], convAttrs(strides, padding, options), name);
}

function convAttrs(strides: Pair, padding: Padding, options: ConvOptions) {
  return {
    strides: toPair(strides, 'strides'),
    padding: toPaddingAttr(padding),
    dilations: toPair(options.dilations ?? 1, 'dilations'),
  };
}
