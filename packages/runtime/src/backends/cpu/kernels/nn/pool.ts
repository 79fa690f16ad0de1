import type { Attrs, TensorValue, TypedArray } from '@graphc/graph';
import { KernelContext, registerCpuKernel } from '../../kernel';
import { maxPoolSimd } from '../../wasm-pool';
import { WindowGeometry, windowGeometry } from './window';

/**
 * maxPool / avgPool, direct: per output pixel, the window clipped to the input (so padded cells
 * never take part: they are -infinity for max and not counted for the mean, as TensorFlow), with the
 * channel vector innermost.
 */
let acc = new Float64Array(0);

/** The output pixels in row-major order with their windows clipped to the image (rows [y0, y1), columns [x0, x1)). */
function forEachWindow(g: WindowGeometry, kh: number, kw: number, visit: (dst: number, imageBase: number, y0: number, y1: number, x0: number, x1: number) => void): void {
  const { n, h, w, c, outH, outW, sh, sw, padTop, padLeft } = g;
  let dst = 0;
  for (let b = 0; b < n; b++) {
    const imageBase = b * h * w * c;
    for (let oy = 0; oy < outH; oy++) {
      const top = oy * sh - padTop;
      const y0 = Math.max(top, 0);
      const y1 = Math.min(top + kh, h);
      for (let ox = 0; ox < outW; ox++, dst += c) {
        const left = ox * sw - padLeft;
        visit(dst, imageBase, y0, y1, Math.max(left, 0), Math.min(left + kw, w));
      }
    }
  }
}

function input(inputs: TensorValue[], attrs: Attrs, ctx: KernelContext) {
  const [x] = inputs;
  const [kh, kw] = attrs.ksize as number[];
  const g = windowGeometry(x, kh, kw, attrs, ctx);
  return { x, kh, kw, g, out: ctx.alloc(x.dtype, [g.n, g.outH, g.outW, g.c]) };
}

registerCpuKernel('maxPool', (inputs, attrs, ctx) => {
  const { x, kh, kw, g, out } = input(inputs, attrs, ctx);
  if (out.data.length === 0) return [out];
  if (x.data instanceof Float32Array && maxPoolSimd(x.data, g, kh, kw, out.data as Float32Array)) return [out];
  const lowest = x.dtype === 'int32' ? -2147483648 : -Infinity;
  // float32 data comes with a float32 output (the same dtype): the branch-free form applies
  const max = (x.data instanceof Float32Array ? maxIntoFloat32 : maxInto) as typeof maxInto;
  const { c, w } = g;
  forEachWindow(g, kh, kw, (dst, imageBase, y0, y1, x0, x1) => {
    if (y0 >= y1 || x0 >= x1) {
      out.data.fill(lowest, dst, dst + c);
      return;
    }
    // the window's first cell starts the running max in the output itself (no scratch, no fill)
    const first = imageBase + (y0 * w + x0) * c;
    out.data.set(x.data.subarray(first, first + c), dst);
    for (let iy = y0; iy < y1; iy++) {
      for (let ix = iy === y0 ? x0 + 1 : x0; ix < x1; ix++) max(out.data, dst, x.data, imageBase + (iy * w + ix) * c, c);
    }
  });
  return [out];
});

/** out[dst + ch] = max(out[dst + ch], x[src + ch]) for ch < c; NaN wins, as in TensorFlow's max. */
function maxInto(out: TypedArray, dst: number, x: TypedArray, src: number, c: number): void {
  for (let ch = 0; ch < c; ch++) {
    const v = x[src + ch];
    // a NaN already there stays: nothing is > NaN
    if (v > out[dst + ch] || v !== v) out[dst + ch] = v;
  }
}

/**
 * maxInto for float32, without a branch on which value is larger: on real activations that branch
 * mispredicts about half the time, which cost more than the arithmetic. (v + m + |v - m|) / 2 in
 * double precision lands within a double rounding of max(v, m), which the float32 store then
 * rounds to exactly max(v, m), except where cancellation loses a small maximum beside a huge
 * negative value, and for NaN: those results equal neither operand, and take the comparison. The
 * test is two compares joined by `|`, not `||`, so it is one branch that almost always goes the
 * same way. (Both zeros' sign is the one loss: max(-0, -0) stores +0.)
 */
function maxIntoFloat32(out: Float32Array, dst: number, x: Float32Array, src: number, c: number): void {
  for (let ch = 0; ch < c; ch++) {
    const v = x[src + ch];
    const m = out[dst + ch];
    const r = (v + m + Math.abs(v - m)) * 0.5;
    out[dst + ch] = +(r === v) | +(r === m) ? r : v > m || v !== v ? v : m;
  }
}

registerCpuKernel('avgPool', (inputs, attrs, ctx) => {
  const { x, kh, kw, g, out } = input(inputs, attrs, ctx);
  if (out.data.length === 0) return [out];
  const { c, w } = g;
  if (acc.length < c) acc = new Float64Array(c);
  const xd = x.data;
  const od = out.data;
  forEachWindow(g, kh, kw, (dst, imageBase, y0, y1, x0, x1) => {
    acc.fill(0, 0, c);
    for (let iy = y0; iy < y1; iy++) {
      for (let ix = x0; ix < x1; ix++) {
        const src = imageBase + (iy * w + ix) * c;
        for (let ch = 0; ch < c; ch++) acc[ch] += xd[src + ch];
      }
    }
    const count = Math.max(y1 - y0, 0) * Math.max(x1 - x0, 0);
    const inv = count > 0 ? 1 / count : 0;
    for (let ch = 0; ch < c; ch++) od[dst + ch] = acc[ch] * inv;
  });
  return [out];
});
