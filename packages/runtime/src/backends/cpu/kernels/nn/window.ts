import { Attrs, TensorValue, Window2D, window2d } from '@graphc/graph';
import type { KernelContext } from '../../kernel';

/** Geometry of a windowed kernel (conv, depthwise conv, pool) over an NHWC input at run time. */
export interface WindowGeometry extends Window2D {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  outH: number;
  outW: number;
}

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0] as number, v[1] as number] : [1, 1]);

/** Resolves strides, dilations and padding for input `x` and a `[kh, kw]` window, as inference does. */
export function windowGeometry(x: TensorValue, kh: number, kw: number, attrs: Attrs, ctx: KernelContext): WindowGeometry {
  const [n, h, w, c] = x.shape;
  const [sh, sw] = pair(attrs.strides);
  const [dh, dw] = pair(attrs.dilations);
  const where = `op '${ctx.node.op}' (node '${ctx.node.name}'): `;
  const geo = window2d(h, w, { window: [kh, kw], strides: [sh, sw], dilations: [dh, dw], padding: attrs.padding }, where);
  return { ...geo, outH: geo.outH!, outW: geo.outW!, n, h, w, c, kh, kw, sh, sw, dh, dw };
}
