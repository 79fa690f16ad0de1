import { SymbolicTensor, TensorLike } from '../../graph';
import type { DType } from '../../dtype';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { requireDType, requireRank } from '../infer-helpers';
import { Padding, Pair, paddingAttr, pairAttr, toPair, toPaddingAttr, window2d } from './conv-util';

function registerPool(name: string, dtypes: DType[]): void {
  registerOp({
    name,
    family: 'nn',
    numInputs: 1,
    infer: (ctx) => {
      const dtype = requireDType(ctx, 0, dtypes);
      const [n, h, w, c] = requireRank(ctx, 0, 4);
      const window = pairAttr(ctx.attrs, 'ksize', ctx.where);
      const strides = pairAttr(ctx.attrs, 'strides', ctx.where, [1, 1]);
      const padding = paddingAttr(ctx.attrs, ctx.where);
      const geo = window2d(h, w, { window, strides, dilations: [1, 1], padding }, ctx.where);
      return [{ dtype, shape: [n, geo.outH, geo.outW, c] }];
    },
  });
}

/** Max over each window of an NHWC input; padded cells never win (they count as -infinity). */
registerPool('maxPool', ['float32', 'float64', 'int32']);

/**
 * Mean over each window of an NHWC input. As TensorFlow, padded cells are not counted: a window
 * hanging over the border averages only the input cells it covers.
 */
registerPool('avgPool', ['float32', 'float64']);

/**
 * Max pooling, as `tf.nn.max_pool2d`.
 *
 * ```ts
 * const y = ops.maxPool(x, 2, 2, 'VALID');   // [N, 28, 28, C] -> [N, 14, 14, C]
 * ```
 */
export function maxPool(x: TensorLike, ksize: Pair, strides: Pair, padding: Padding, name?: string): SymbolicTensor {
  return apply1('maxPool', [x], poolAttrs(ksize, strides, padding), name);
}

/** Average pooling, as `tf.nn.avg_pool2d` ('SAME' padding excludes padded cells from each mean). */
export function avgPool(x: TensorLike, ksize: Pair, strides: Pair, padding: Padding, name?: string): SymbolicTensor {
  return apply1('avgPool', [x], poolAttrs(ksize, strides, padding), name);
}

function poolAttrs(ksize: Pair, strides: Pair, padding: Padding) {
  return { ksize: toPair(ksize, 'ksize'), strides: toPair(strides, 'strides'), padding: toPaddingAttr(padding) };
}
