import { Attrs, SymbolicTensor, ops } from '@graphc/graph';
import type { Rule, RuleBuilder } from './rules';
import type { NodeView } from './pattern';
import { samePerm } from './permutation';

/**
 * NCHW windows as graphc's NHWC ops between layout transposes: `convNchw(x, W, b)` becomes
 * `transpose(conv2d(transpose(x, NCHW->NHWC), W in HWIO) + b, NHWC->NCHW)` (or a depthwiseConv2d),
 * and the same for max and average pools. The transposes then cancel in pairs (transpose-transpose)
 * or sink through the elementwise ops, reductions and concats between windows (transpose-rules.ts),
 * so a channels-first model (a PyTorch export) runs channels-last end to end, with its batch norms
 * folded and its activations fused into the convolutions, and keeps a transpose only where a value
 * enters or leaves in NCHW. Where nothing cancels, this costs what convNchw's own kernel pays anyway
 * (it transposes through NHWC), with the weights transposed once, at compile time.
 */

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

/** `t` (NCHW) as NHWC: the tensor under a NHWC -> NCHW transpose feeding `t`, or a new transpose. */
function toNhwc(t: SymbolicTensor, b: RuleBuilder): SymbolicTensor {
  const n = t.node;
  return n.op === 'transpose' && samePerm(n.attrs.perm, TO_NCHW) ? n.inputs[0] : b.op('transpose', [t], { perm: TO_NHWC });
}

/**
 * The 2-D window of an NCHW op as NHWC attrs: strides, dilations and explicit [top, bottom, left,
 * right] padding; `padded` whether the model's own padding is not all zero. A pool's ceil mode
 * becomes more padding at the end, up to where its last window ends: padding the NHWC pools never
 * count or take the max of, so the windows and what they read are the same.
 */
function windowAttrs(op: NodeView, kernel: number[], dilations = true): (Attrs & { padded: boolean }) | undefined {
  const x = op.inputs[0].shape;
  // the batch and channel counts do not change the window (ONNX files often leave the batch open)
  if (x.length !== 4 || x[2] === null || x[3] === null) return undefined;
  const spatial = x.slice(2) as number[];
  const geo = ops.nchwWindow(spatial, kernel, op.attrs, `node '${op.name}': `);
  if (!dilations && geo.dilations.some((d) => d !== 1)) return undefined;
  const end = spatial.map((d, i) => {
    const reach = ((geo.out[i] as number) - 1) * geo.strides[i] + (kernel[i] - 1) * geo.dilations[i] + 1;
    return Math.max(geo.padsEnd[i], reach - d - geo.padsBegin[i]);
  });
  return {
    strides: geo.strides,
    ...(dilations ? { dilations: geo.dilations } : {}),
    padding: [geo.padsBegin[0], end[0], geo.padsBegin[1], end[1]],
    padded: [...geo.padsBegin, ...geo.padsEnd].some((p) => p > 0),
  };
}

function convToNhwc(conv: NodeView, b: RuleBuilder): SymbolicTensor | undefined {
  const [w, bias] = [conv.inputs[1], conv.inputs[2]];
  const [M, Cg, KH, KW] = w.shape;
  if (w.shape.length !== 4 || [M, Cg, KH, KW].some((d) => d === null)) return undefined;
  const C = conv.inputs[0].shape[1];
  const group = Number(conv.attrs.group ?? 1);
  const window = windowAttrs(conv, [KH as number, KW as number]);
  if (!window || C === null) return undefined;
  const { padded: _, ...attrs } = window;
  const x = toNhwc(conv.inputs[0], b);
  let y: SymbolicTensor;
  if (group === 1) {
    // OIHW -> HWIO
    y = b.op('conv2d', [x, b.op('transpose', [w], { perm: [2, 3, 1, 0] })], attrs);
  } else if (group === C && Cg === 1 && (M as number) % C === 0) {
    // a depthwise convolution: output channel c * mult + m reads channel c; [C * mult, 1, KH, KW] -> [KH, KW, C, mult]
    const filter = b.op('transpose', [b.op('reshape', [w], { shape: [C, (M as number) / C, KH as number, KW as number] })], { perm: [2, 3, 0, 1] });
    y = b.op('depthwiseConv2d', [x, filter], attrs);
  } else return undefined;
  return b.op('transpose', [bias ? b.op('add', [y, bias]) : y], { perm: TO_NCHW });
}

function poolToNhwc(pool: NodeView, b: RuleBuilder): SymbolicTensor | undefined {
  const kernel = pool.attrs.kernel as number[];
  // graphc's NHWC pools never count padding and have no dilation or indices
  if (kernel.length !== 2 || pool.attrs.withIndices === true || pool.outputs.length !== 1) return undefined;
  const attrs = windowAttrs(pool, kernel, false);
  // counted padding matters only where the model pads (PyTorch's AvgPool2d counts it by default)
  if (!attrs || (pool.op === 'avgPoolNchw' && pool.attrs.countIncludePad === true && attrs.padded)) return undefined;
  const y = b.op(pool.op === 'maxPoolNchw' ? 'maxPool' : 'avgPool', [toNhwc(pool.inputs[0], b)], { ksize: kernel, strides: attrs.strides, padding: attrs.padding });
  return b.op('transpose', [y], { perm: TO_NCHW });
}

export const NCHW_RULES: Rule[] = [
  { name: 'nchw-conv-to-nhwc', pattern: { op: 'convNchw', bind: 'conv' }, rewrite: (m, b) => convToNhwc(m.n.conv, b) },
  { name: 'nchw-pool-to-nhwc', pattern: { op: ['maxPoolNchw', 'avgPoolNchw'], bind: 'pool' }, rewrite: (m, b) => poolToNhwc(m.n.pool, b) },
];
