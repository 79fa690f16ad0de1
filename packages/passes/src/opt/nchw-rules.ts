import { Attrs, SymbolicTensor, ops } from '@graphc/graph';
import type { Rule, RuleBuilder } from './rules';
import type { NodeView } from './pattern';

/**
 * NCHW windows between layout transposes back to graphc's NHWC ops:
 * `transpose(convNchw(transpose(x, NHWC->NCHW), W, b), NCHW->NHWC)` is `conv2d(x, W') + b` (or a
 * depthwiseConv2d), and the same for max and average pools. graphc's ONNX export writes every NHWC
 * window so, as tf2onnx does for TensorFlow models; back in NHWC the transposes vanish, and
 * foldBatchNorm and fuse see a conv2d again (a ResNet-20 exported and imported back: ~120 -> ~70 ms).
 */

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];
const samePerm = (a: unknown, b: number[]): boolean => Array.isArray(a) && a.length === b.length && a.every((v, i) => v === b[i]);

/** The NHWC input under a NHWC -> NCHW transpose feeding `t`, if it is one. */
function nhwcSource(t: SymbolicTensor): SymbolicTensor | undefined {
  const n = t.node;
  return n.op === 'transpose' && samePerm(n.attrs.perm, TO_NCHW) ? n.inputs[0] : undefined;
}

/** The 2-D window of an NCHW op as NHWC attrs: strides, dilations and explicit [top, bottom, left, right] padding. */
function windowAttrs(op: NodeView, kernel: number[], dilations = true): Attrs | undefined {
  const x = op.inputs[0].shape;
  if (x.length !== 4 || x.some((d) => d === null)) return undefined;
  const geo = ops.nchwWindow(x.slice(2), kernel, op.attrs, `node '${op.name}': `);
  if (!dilations && geo.dilations.some((d) => d !== 1)) return undefined;
  return {
    strides: geo.strides,
    ...(dilations ? { dilations: geo.dilations } : {}),
    padding: [geo.padsBegin[0], geo.padsEnd[0], geo.padsBegin[1], geo.padsEnd[1]],
  };
}

function convToNhwc(conv: NodeView, b: RuleBuilder): SymbolicTensor | undefined {
  const x = nhwcSource(conv.inputs[0]);
  const [w, bias] = [conv.inputs[1], conv.inputs[2]];
  const [M, Cg, KH, KW] = w.shape;
  if (!x || w.shape.length !== 4 || [M, Cg, KH, KW].some((d) => d === null)) return undefined;
  const C = x.shape[3];
  const group = Number(conv.attrs.group ?? 1);
  const attrs = windowAttrs(conv, [KH as number, KW as number]);
  if (!attrs || C === null) return undefined;
  let y: SymbolicTensor;
  if (group === 1) {
    // OIHW -> HWIO
    y = b.op('conv2d', [x, b.op('transpose', [w], { perm: [2, 3, 1, 0] })], attrs);
  } else if (group === C && Cg === 1 && (M as number) % C === 0) {
    // a depthwise convolution: output channel c * mult + m reads channel c; [C * mult, 1, KH, KW] -> [KH, KW, C, mult]
    const filter = b.op('transpose', [b.op('reshape', [w], { shape: [C, (M as number) / C, KH as number, KW as number] })], { perm: [2, 3, 0, 1] });
    y = b.op('depthwiseConv2d', [x, filter], attrs);
  } else return undefined;
  return bias ? b.op('add', [y, bias]) : y;
}

function poolToNhwc(pool: NodeView, b: RuleBuilder): SymbolicTensor | undefined {
  const x = nhwcSource(pool.inputs[0]);
  const kernel = pool.attrs.kernel as number[];
  // graphc's NHWC pools never count padding and have no ceil mode, dilation or indices
  if (!x || kernel.length !== 2 || pool.attrs.ceilMode === true || pool.attrs.withIndices === true || pool.outputs.length !== 1) return undefined;
  if (pool.op === 'avgPoolNchw' && pool.attrs.countIncludePad === true) return undefined;
  const attrs = windowAttrs(pool, kernel, false);
  if (!attrs) return undefined;
  return b.op(pool.op === 'maxPoolNchw' ? 'maxPool' : 'avgPool', [x], { ksize: kernel, strides: attrs.strides, padding: attrs.padding });
}

const backToNhwc = (n: NodeView): boolean => samePerm(n.attrs.perm, TO_NHWC);

export const NCHW_RULES: Rule[] = [
  {
    name: 'nchw-conv-to-nhwc',
    pattern: { op: 'transpose', when: backToNhwc, args: [{ op: 'convNchw', bind: 'conv' }] },
    rewrite: (m, b) => convToNhwc(m.n.conv, b),
  },
  {
    name: 'nchw-pool-to-nhwc',
    pattern: { op: 'transpose', when: backToNhwc, args: [{ op: ['maxPoolNchw', 'avgPoolNchw'], bind: 'pool' }] },
    rewrite: (m, b) => poolToNhwc(m.n.pool, b),
  },
];
