import { ShapeError } from '../../errors';
import type { AttrValue } from '../../graph';

/**
 * Window geometry shared by conv2d, depthwiseConv2d and the pools (and by their kernels, so build-time
 * inference and run-time indexing can never disagree about output sizes or padding).
 */

/** 'SAME' | 'VALID', or explicit `[[top, bottom], [left, right]]` (stored as `[top, bottom, left, right]`). */
export type Padding = 'SAME' | 'VALID' | [[number, number], [number, number]] | number[];

/** A window parameter: one number for both spatial dims, `[h, w]`, or TensorFlow's NHWC `[1, h, w, 1]`. */
export type Pair = number | [number, number] | number[];

/** Normalizes a stride/dilation/ksize argument of a builder to `[h, w]`. */
export function toPair(value: Pair, what: string): [number, number] {
  let pair: number[];
  if (typeof value === 'number') pair = [value, value];
  else if (value.length === 2) pair = [...value];
  else if (value.length === 4) {
    if (value[0] !== 1 || value[3] !== 1) {
      throw new ShapeError(`${what} [${value.join(', ')}] must be 1 along the batch and channel dimensions (NHWC)`);
    }
    pair = [value[1], value[2]];
  } else if (value.length === 1) pair = [value[0], value[0]];
  else throw new ShapeError(`${what} must be a number, [h, w] or [1, h, w, 1], got [${value.join(', ')}]`);
  if (!pair.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new ShapeError(`${what} must be positive integers, got [${pair.join(', ')}]`);
  }
  return [pair[0], pair[1]];
}

/** Normalizes a builder's padding argument to its attr form: a string or `[top, bottom, left, right]`. */
export function toPaddingAttr(padding: Padding): string | number[] {
  if (padding === 'SAME' || padding === 'VALID') return padding;
  if (typeof padding === 'string') {
    const upper = (padding as string).toUpperCase();
    if (upper === 'SAME' || upper === 'VALID') return upper;
    throw new ShapeError(`padding must be 'SAME', 'VALID' or [[top, bottom], [left, right]], got '${padding}'`);
  }
  if (!Array.isArray(padding)) throw new ShapeError(`padding must be 'SAME', 'VALID' or [[top, bottom], [left, right]]`);
  const flat = (padding as unknown[]).flat() as number[];
  // TensorFlow's explicit form also lists the batch and channel pairs: [[0,0],[t,b],[l,r],[0,0]]
  const spatial = flat.length === 8 ? flat.slice(2, 6) : flat;
  if (flat.length === 8 && (flat[0] || flat[1] || flat[6] || flat[7])) {
    throw new ShapeError(`explicit padding of the batch and channel dimensions must be 0`);
  }
  if (spatial.length !== 4 || !spatial.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new ShapeError(`explicit padding must be [[top, bottom], [left, right]] of non-negative integers`);
  }
  return spatial;
}

export interface WindowAttrs {
  /** Window (kernel) size `[kh, kw]`. */
  window: [number | null, number | null];
  strides: [number, number];
  dilations: [number, number];
  padding: AttrValue;
}

/** Output size and leading padding along one spatial dimension (TensorFlow's GetWindowedOutputSize). */
export interface AxisGeometry {
  out: number | null;
  padBefore: number;
  padAfter: number;
}

export function windowAxis(
  input: number | null,
  window: number | null,
  stride: number,
  dilation: number,
  padding: AttrValue,
  axis: 0 | 1,
  where: string,
): AxisGeometry {
  if (input === null || window === null) {
    const explicit = Array.isArray(padding) ? (padding as number[]) : null;
    return { out: null, padBefore: explicit ? explicit[axis * 2] : 0, padAfter: explicit ? explicit[axis * 2 + 1] : 0 };
  }
  const effective = (window - 1) * dilation + 1;
  const dim = axis === 0 ? 'height' : 'width';
  if (padding === 'SAME') {
    const out = Math.ceil(input / stride);
    const total = Math.max((out - 1) * stride + effective - input, 0);
    const padBefore = Math.floor(total / 2);
    return { out, padBefore, padAfter: total - padBefore };
  }
  let padBefore = 0;
  let padAfter = 0;
  if (Array.isArray(padding)) {
    padBefore = padding[axis * 2] as number;
    padAfter = padding[axis * 2 + 1] as number;
  } else if (padding !== 'VALID') {
    throw new ShapeError(`${where}attr 'padding' must be 'SAME', 'VALID' or [top, bottom, left, right]`);
  }
  const span = input + padBefore + padAfter - effective;
  if (span < 0) {
    throw new ShapeError(
      `${where}the window (${window}, dilated to ${effective}) is larger than the padded input ${dim} (${input + padBefore + padAfter})`,
    );
  }
  return { out: Math.floor(span / stride) + 1, padBefore, padAfter };
}

/** Full 2-D geometry of a windowed op over an NHWC input of spatial size `[h, w]`. */
export interface Window2D {
  outH: number | null;
  outW: number | null;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
}

export function window2d(
  inH: number | null,
  inW: number | null,
  attrs: WindowAttrs,
  where: string,
): Window2D {
  const h = windowAxis(inH, attrs.window[0], attrs.strides[0], attrs.dilations[0], attrs.padding, 0, where);
  const w = windowAxis(inW, attrs.window[1], attrs.strides[1], attrs.dilations[1], attrs.padding, 1, where);
  return { outH: h.out, outW: w.out, padTop: h.padBefore, padBottom: h.padAfter, padLeft: w.padBefore, padRight: w.padAfter };
}

/**
 * A window over a concrete NHWC input: the sizes every backend's windowed kernels (conv2d,
 * depthwiseConv2d, the pools and their gradients) read.
 */
export interface NhwcWindow extends Window2D {
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

/** The window of `[kh, kw]` over an input of shape `x` ([N, H, W, C]), with the op's strides, dilations and padding attrs. */
export function nhwcWindow(x: readonly number[], kh: number, kw: number, attrs: Record<string, unknown>, where: string): NhwcWindow {
  const [n, h, w, c] = x;
  const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0] as number, v[1] as number] : [1, 1]);
  const [sh, sw] = pair(attrs.strides);
  const [dh, dw] = pair(attrs.dilations);
  const geo = window2d(h, w, { window: [kh, kw], strides: [sh, sw], dilations: [dh, dw], padding: attrs.padding as Padding }, where);
  return { ...geo, outH: geo.outH!, outW: geo.outW!, n, h, w, c, kh, kw, sh, sw, dh, dw };
}

/** Reads a `[h, w]` attr (strides, dilations, ksize) back, validating it for inference. */
export function pairAttr(attrs: Record<string, AttrValue>, name: string, where: string, fallback?: [number, number]): [number, number] {
  const v = attrs[name] ?? fallback;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 1)) {
    throw new ShapeError(`${where}attr '${name}' must be two positive integers [h, w]`);
  }
  return [v[0] as number, v[1] as number];
}

/** Validates the padding attr for inference. */
export function paddingAttr(attrs: Record<string, AttrValue>, where: string): string | number[] {
  const p = attrs.padding;
  if (p === 'SAME' || p === 'VALID') return p;
  if (Array.isArray(p) && p.length === 4 && p.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
    return p as number[];
  }
  throw new ShapeError(`${where}attr 'padding' must be 'SAME', 'VALID' or [top, bottom, left, right]`);
}
