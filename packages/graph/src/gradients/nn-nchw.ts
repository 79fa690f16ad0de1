import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import type { Attrs, GradientContext } from '../opdef';
import { setGradient } from '../registry';
import { concat, split } from '../ops/array/concat';
import { reshape } from '../ops/array/reshape';
import { transpose } from '../ops/array/transpose';
import { reduceSum } from '../ops/reduce/reduce';
import { conv2dBackpropFilter, conv2dBackpropInput, depthwiseConv2dBackpropFilter, depthwiseConv2dBackpropInput } from '../ops/nn/conv2d-backprop';
import { nchwTransposeWindow, nchwWindow } from '../ops/nn/nchw-window';
import { conv2d } from '../ops/nn/conv2d';
import { avgPoolGrad, maxPoolGrad } from '../ops/nn/pool-grad';

/**
 * Gradients of ONNX's channels-first 2-D convolution and pools, through the NHWC adjoint ops: the
 * operands are transposed to NHWC (filters to [KH, KW, Cin, Cout]), the NHWC gradient op runs with
 * the same geometry as explicit padding, and the result is transposed back. Covered: 2-D, any group
 * (depthwise through the depthwise ops, other groups split into group-1 convolutions); pools without dilation or a ceilMode that changes the output,
 * and average pools that do not count padding (or have none). Anything else is a GradientError
 * naming the node.
 */

const toNhwc = (t: SymbolicTensor): SymbolicTensor => transpose(t, [0, 2, 3, 1]);
const toNchw = (t: SymbolicTensor): SymbolicTensor => transpose(t, [0, 3, 1, 2]);

function unsupported(ctx: GradientContext, why: string): never {
  throw new GradientError(`gradient of ${ctx.node.op} (node '${ctx.node.name}'): ${why} is not supported`);
}

/** The NHWC attrs (strides, dilations, explicit padding) of a 2-D NCHW window op. */
function nhwcGeometry(ctx: GradientContext, kernel: number[], withDilations: boolean): Attrs {
  const x = ctx.inputs[0];
  if (x.rank !== 4) unsupported(ctx, `a ${x.rank - 2}-D window`);
  const geo = nchwWindow(x.shape.slice(2), kernel, ctx.attrs, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  const auto = String(ctx.attrs.autoPad ?? 'NOTSET');
  if ((auto === 'SAME_UPPER' || auto === 'SAME_LOWER') && x.shape.slice(2).some((d) => d === null)) unsupported(ctx, 'SAME padding over unknown spatial sizes');
  if (!withDilations && geo.dilations.some((d) => d !== 1)) unsupported(ctx, 'a dilated pool');
  const padding = [geo.padsBegin[0], geo.padsEnd[0], geo.padsBegin[1], geo.padsEnd[1]];
  if (ctx.attrs.ceilMode === true) {
    // ceil mode matters only when it adds a window; the NHWC ops floor
    const floorGeo = nchwWindow(x.shape.slice(2), kernel, { ...ctx.attrs, ceilMode: false }, '');
    if (floorGeo.out.some((d, i) => d === null || d !== geo.out[i])) unsupported(ctx, 'ceilMode that adds a window');
  }
  return { strides: geo.strides, dilations: geo.dilations, padding };
}

/** Group-1 gradients of a 2-D convolution in NCHW, through the NHWC adjoint ops. */
function denseConvGrads(x: SymbolicTensor, w: SymbolicTensor, dy: SymbolicTensor, attrs: Attrs): [SymbolicTensor, SymbolicTensor] {
  const wh = transpose(w, [2, 3, 1, 0]); // [KH, KW, C, M]
  const xh = toNhwc(x);
  const dyh = toNhwc(dy);
  return [toNchw(conv2dBackpropInput(dyh, wh, xh, attrs)), transpose(conv2dBackpropFilter(xh, dyh, wh, attrs), [3, 2, 0, 1])];
}

setGradient('convNchw', (ctx) => {
  const [x, w, bias] = ctx.inputs;
  const dy = ctx.grads[0]!;
  const [, c] = x.shape;
  const [m, cg, kh, kw] = w.shape;
  const group = typeof ctx.attrs.group === 'number' ? ctx.attrs.group : 1;
  if (kh === null || kw === null || m === null || cg === null) unsupported(ctx, 'a filter of unknown shape');
  const attrs = nhwcGeometry(ctx, [kh, kw], true);
  let dx: SymbolicTensor;
  let dw: SymbolicTensor;
  if (group === 1) {
    [dx, dw] = denseConvGrads(x, w, dy, attrs);
  } else if (cg === 1 && c !== null && group === c) {
    // depthwise: w [C * mult, 1, KH, KW] is [KH, KW, C, mult] for the NHWC op
    const mult = m / c;
    const xh = toNhwc(x);
    const wh = transpose(reshape(w, [c, mult, kh, kw]), [2, 3, 0, 1]);
    dx = toNchw(depthwiseConv2dBackpropInput(toNhwc(dy), wh, xh, attrs));
    dw = reshape(transpose(depthwiseConv2dBackpropFilter(xh, toNhwc(dy), wh, attrs), [2, 3, 0, 1]), [m, 1, kh, kw]);
  } else {
    // groups: group g convolves input channels [g cg, (g + 1) cg) with filters [g m/G, (g + 1) m/G)
    const xs = split(x, group, 1);
    const ws = split(w, group, 0);
    const dys = split(dy, group, 1);
    const parts = xs.map((xg, g) => denseConvGrads(xg, ws[g], dys[g], attrs));
    dx = concat(parts.map(([d]) => d), 1);
    dw = concat(parts.map(([, d]) => d), 0);
  }
  return bias ? [dx, dw, reduceSum(dy, [0, 2, 3])] : [dx, dw];
});

/**
 * convTransposeNchw(x, w) is the adjoint of the convolution C_w from its output's space back to x's
 * (w [C, M, KH, KW] read as the NHWC filter [KH, KW, M, C]): dx = C_w(dy), and since
 * <dy, C_w^T x> = <C_w dy, x>, dw is conv2dBackpropFilter with dy as the input and x as the output
 * gradient. Group 1, 2-D.
 */
setGradient('convTransposeNchw', (ctx) => {
  const [x, w, bias] = ctx.inputs;
  const dy = ctx.grads[0]!;
  const group = typeof ctx.attrs.group === 'number' ? ctx.attrs.group : 1;
  if (group !== 1) unsupported(ctx, `group ${group}`);
  if (x.rank !== 4) unsupported(ctx, `a ${x.rank - 2}-D window`);
  const [, , kh, kw] = w.shape;
  if (kh === null || kw === null) unsupported(ctx, 'a filter of unknown shape');
  const geo = nchwTransposeWindow(x.shape.slice(2), [kh, kw], ctx.attrs, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  if (geo.out.some((d) => d === null) && ctx.attrs.outputShape === undefined && String(ctx.attrs.autoPad ?? 'NOTSET').startsWith('SAME')) {
    unsupported(ctx, 'SAME padding over unknown spatial sizes');
  }
  const padding = [geo.padsBegin[0], geo.padsEnd[0], geo.padsBegin[1], geo.padsEnd[1]];
  if (padding.some((p) => p < 0)) unsupported(ctx, 'negative implied padding');
  const attrs = { strides: geo.strides, dilations: geo.dilations, padding };
  const wh = transpose(w, [2, 3, 1, 0]); // [KH, KW, M, C]
  const dyh = toNhwc(dy);
  const dx = toNchw(conv2d(dyh, wh, geo.strides, padding, { dilations: geo.dilations }));
  const dw = transpose(conv2dBackpropFilter(dyh, toNhwc(x), wh, attrs), [3, 2, 0, 1]);
  return bias ? [dx, dw, reduceSum(dy, [0, 2, 3])] : [dx, dw];
});

/** Max pool: the NHWC maxPoolGrad picks the same cell (first max, padding never wins); the indices output takes none. */
setGradient('maxPoolNchw', (ctx) => {
  const dy = ctx.grads[0];
  if (!dy) return [null];
  const kernel = ctx.attrs.kernel as number[];
  const geo = nhwcGeometry(ctx, kernel, false);
  return [toNchw(maxPoolGrad(toNhwc(dy), toNhwc(ctx.inputs[0]), { ksize: kernel, strides: geo.strides, padding: geo.padding }))];
});

setGradient('avgPoolNchw', (ctx) => {
  const kernel = ctx.attrs.kernel as number[];
  const geo = nhwcGeometry(ctx, kernel, false);
  if (ctx.attrs.countIncludePad === true && (geo.padding as number[]).some((p) => p !== 0)) unsupported(ctx, 'countIncludePad with padding');
  return [toNchw(avgPoolGrad(toNhwc(ctx.grads[0]!), toNhwc(ctx.inputs[0]), { ksize: kernel, strides: geo.strides, padding: geo.padding }))];
});
