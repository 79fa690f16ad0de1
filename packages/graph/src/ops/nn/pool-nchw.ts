import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import type { InferContext } from '../../opdef';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { applyOp } from '../builder';
import { requireDType } from '../infer-helpers';
import { nchwWindow } from './nchw-window';

function inferPool(ctx: InferContext, dtypes: ('float32' | 'float64' | 'int32' | 'int64')[]) {
  const dtype = requireDType(ctx, 0, dtypes);
  const x = ctx.inputs[0].shape;
  if (x.length < 3) throw new ShapeError(`${ctx.where}x ${shapeToString(x)} must be [N, C, ...spatial]`);
  const kernel = ctx.attrs.kernel;
  if (!Array.isArray(kernel) || kernel.length !== x.length - 2) throw new ShapeError(`${ctx.where}attr 'kernel' must have one size per spatial dimension`);
  const geo = nchwWindow(x.slice(2), kernel as number[], ctx.attrs, ctx.where);
  return { dtype, shape: [x[0], x[1], ...geo.out] };
}

/**
 * maxPoolNchw(x): max over each window of an [N, C, ...spatial] input (ONNX MaxPool): padding never
 * wins, dilations and ceilMode as ONNX. With `withIndices`, a second int64 output holds each max's
 * flat index into x (row-major, or column-major spatially when `storageOrder` is 1).
 */
registerOp({
  name: 'maxPoolNchw',
  family: 'nn',
  numInputs: 1,
  infer: (ctx) => {
    const out = inferPool(ctx, ['float32', 'float64', 'int32', 'int64']);
    return ctx.attrs.withIndices === true ? [out, { dtype: 'int64', shape: [...out.shape] }] : [out];
  },
});

/**
 * avgPoolNchw(x): mean over each window (ONNX AveragePool); padded cells count only with
 * `countIncludePad` (cells beyond the padding, from ceilMode, never count).
 */
registerOp({
  name: 'avgPoolNchw',
  family: 'nn',
  numInputs: 1,
  infer: (ctx) => [inferPool(ctx, ['float32', 'float64'])],
});

/** lpPoolNchw(x): (sum |x|^p)^(1/p) over each window (ONNX LpPool). */
registerOp({
  name: 'lpPoolNchw',
  family: 'nn',
  numInputs: 1,
  infer: (ctx) => [inferPool(ctx, ['float32', 'float64'])],
});

export interface PoolNchwOptions {
  strides?: number[];
  pads?: number[];
  autoPad?: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
  dilations?: number[];
  ceilMode?: boolean;
}

export function maxPoolNchw(x: TensorLike, kernel: number[], options: PoolNchwOptions = {}, name?: string): SymbolicTensor {
  return applyOp('maxPoolNchw', [toSymbolic(graphOf([x]), x)], { kernel: [...kernel], ...options }, name).output(0);
}

export function avgPoolNchw(x: TensorLike, kernel: number[], options: PoolNchwOptions & { countIncludePad?: boolean } = {}, name?: string): SymbolicTensor {
  return applyOp('avgPoolNchw', [toSymbolic(graphOf([x]), x)], { kernel: [...kernel], ...options }, name).output(0);
}
