import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import type { InferContext } from '../../opdef';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { applyOp } from '../builder';
import { requireFloat, sameDType } from '../infer-helpers';
import { nchwTransposeWindow, nchwWindow } from './nchw-window';

function groupOf(ctx: InferContext): number {
  const g = Number(ctx.attrs.group ?? 1);
  if (!Number.isInteger(g) || g < 1) throw new ShapeError(`${ctx.where}group must be a positive integer`);
  return g;
}

function checkInputs(ctx: InferContext) {
  if (ctx.inputs.length < 2 || ctx.inputs.length > 3) throw new ShapeError(`${ctx.where}takes x, w and an optional bias`);
  const dtype = sameDType(ctx);
  requireFloat(ctx, 0);
  const x = ctx.inputs[0].shape;
  const w = ctx.inputs[1].shape;
  if (x.length < 3 || w.length !== x.length) {
    throw new ShapeError(`${ctx.where}x ${shapeToString(x)} must be [N, C, ...spatial] and w ${shapeToString(w)} of the same rank`);
  }
  if (ctx.inputs.length === 3 && ctx.inputs[2].shape.length !== 1) throw new ShapeError(`${ctx.where}bias must be a vector`);
  return { dtype, x, w, group: groupOf(ctx) };
}

/**
 * convNchw(x, w, bias?): N-d convolution in ONNX's layout (ONNX Conv): x [N, C, ...spatial],
 * w [M, C / group, ...kernel], bias [M]; output [N, M, ...out]. Grouped (depthwise when group = C),
 * strided, dilated, padded explicitly (`pads` [begin..., end...]) or by `autoPad`.
 */
registerOp({
  name: 'convNchw',
  family: 'nn',
  numInputs: 'variadic',
  infer: (ctx) => {
    const { dtype, x, w, group } = checkInputs(ctx);
    const [n, c] = x;
    const [m, cg] = w;
    if (c !== null && cg !== null && c !== cg * group) {
      throw new ShapeError(`${ctx.where}input has ${c} channels; w ${shapeToString(w)} with group ${group} expects ${cg * group}`);
    }
    if (m !== null && m % group !== 0) throw new ShapeError(`${ctx.where}${m} output channels do not split into ${group} groups`);
    const b = ctx.inputs[2]?.shape[0];
    if (b !== undefined && b !== null && m !== null && b !== m) throw new ShapeError(`${ctx.where}bias has ${b} entries for ${m} output channels`);
    const geo = nchwWindow(x.slice(2), w.slice(2), ctx.attrs, ctx.where);
    return [{ dtype, shape: [n, m, ...geo.out] }];
  },
});

/**
 * convTransposeNchw(x, w, bias?): the gradient of convNchw with respect to its input, as a layer
 * (ONNX ConvTranspose): x [N, C, ...], w [C, M / group, ...kernel]; output [N, M, ...] sized by
 * strides, pads and `outputPadding`, or fixed by `outputShape`.
 */
registerOp({
  name: 'convTransposeNchw',
  family: 'nn',
  numInputs: 'variadic',
  infer: (ctx) => {
    const { dtype, x, w, group } = checkInputs(ctx);
    const [n, c] = x;
    const [cw, mg] = w;
    if (c !== null && cw !== null && c !== cw) throw new ShapeError(`${ctx.where}input has ${c} channels; w ${shapeToString(w)} expects ${cw}`);
    const kernel = w.slice(2);
    if (!kernel.every((d): d is number => d !== null)) throw new ShapeError(`${ctx.where}kernel size must be known`);
    const geo = nchwTransposeWindow(x.slice(2), kernel, ctx.attrs, ctx.where);
    return [{ dtype, shape: [n, mg === null ? null : mg * group, ...geo.out] }];
  },
});

export interface ConvNchwOptions {
  strides?: number[];
  dilations?: number[];
  /** [begin..., end...] per spatial dimension. */
  pads?: number[];
  autoPad?: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
  group?: number;
}

/**
 * Channels-first convolution (ONNX Conv).
 *
 * ```ts
 * const y = ops.convNchw(x, w, b, { pads: [1, 1, 1, 1] });   // x [N, 3, 32, 32], w [16, 3, 3, 3] -> [N, 16, 32, 32]
 * ```
 */
export function convNchw(x: TensorLike, w: TensorLike, bias?: TensorLike | null, options: ConvNchwOptions = {}, name?: string): SymbolicTensor {
  const g = graphOf([x, w]);
  const inputs = [toSymbolic(g, x), toSymbolic(g, w)];
  if (bias !== undefined && bias !== null) inputs.push(toSymbolic(g, bias, inputs[0].dtype));
  return applyOp('convNchw', inputs, { ...options }, name, g).output(0);
}

export function convTransposeNchw(
  x: TensorLike,
  w: TensorLike,
  bias?: TensorLike | null,
  options: ConvNchwOptions & { outputPadding?: number[]; outputShape?: number[] } = {},
  name?: string,
): SymbolicTensor {
  const g = graphOf([x, w]);
  const inputs = [toSymbolic(g, x), toSymbolic(g, w)];
  if (bias !== undefined && bias !== null) inputs.push(toSymbolic(g, bias, inputs[0].dtype));
  return applyOp('convTransposeNchw', inputs, { ...options }, name, g).output(0);
}
