import { DType } from '../../dtype';
import { ShapeError, UnsupportedOpError } from '../../errors';
import type { Attrs, OutputInfo } from '../../opdef';
import { registerDynamicAttrsRule } from '../../ops/array/dynamic-attrs';
import { Shape, normalizeAxis } from '../../shape';
import { TensorValue } from '../../tensor';

/**
 * ONNX ops whose shapes, axes, pads or sizes arrive as tensors. Each rule turns those parameter
 * values into the attrs of a graphc op. The importer uses a rule directly when the values are known
 * at import (the common case: initializers, Constants, folded Shape arithmetic) and otherwise emits
 * a `dynamicAttrs` node that applies the same rule at run time.
 */

const numbers = (v: TensorValue | undefined): number[] => (v ? Array.from(v.data as ArrayLike<number>) : []);

/** A rank that depends on a parameter's length must be known when the graph is built. */
function paramLength(p: OutputInfo | undefined, what: string, where: string): number {
  const n = p?.shape.length === 1 ? p.shape[0] : p?.shape.length === 0 ? 1 : null;
  if (n === null || n === undefined) throw new UnsupportedOpError(`${where}the length of ${what} must be known when the graph is built (it sets the output rank)`, []);
  return n;
}

const unknown = (rank: number): Shape => new Array(rank).fill(null);

/** Resolves ONNX Reshape's target: 0 copies the input's dimension unless allowzero; -1 is left to reshape. */
export function onnxReshapeTarget(target: number[], input: Shape, allowzero: boolean): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < target.length; i++) {
    const d = target[i];
    if (d === 0 && !allowzero) {
      if (i >= input.length) throw new ShapeError(`Reshape: 0 at position ${i} copies a dimension the input (rank ${input.length}) lacks`);
      const copied = input[i];
      if (copied === null) return undefined;
      out.push(copied);
    } else out.push(d);
  }
  return out;
}

registerDynamicAttrsRule('onnx.Reshape', {
  target: 'reshape',
  attrs: ([shape], [x], fixed) => {
    const target = onnxReshapeTarget(numbers(shape), x.shape, fixed.allowzero === true);
    return target && { shape: target };
  },
  infer: ([x], [shape], fixed, where) => {
    const known = fixed.knownTarget;
    if (!Array.isArray(known)) return [{ dtype: x.dtype, shape: unknown(paramLength(shape, 'the shape input', where)) }];
    // the target is known, some input dims are not: 0 copies its dim (known or not), -1 stays unknown
    const target = known as number[];
    return [{ dtype: x.dtype, shape: target.map((d, i) => (d === -1 ? null : d === 0 && fixed.allowzero !== true ? (x.shape[i] ?? null) : d)) }];
  },
  hint: ([shape]) => ({ knownTarget: numbers(shape) }),
});

registerDynamicAttrsRule('onnx.Expand', {
  target: 'expand',
  attrs: ([shape]) => ({ shape: numbers(shape) }),
  infer: ([x], [shape], _f, where) => [{ dtype: x.dtype, shape: unknown(Math.max(x.shape.length, paramLength(shape, 'the shape input', where))) }],
});

registerDynamicAttrsRule('onnx.Tile', {
  target: 'tile',
  attrs: ([repeats]) => ({ multiples: numbers(repeats) }),
  infer: ([x]) => [{ dtype: x.dtype, shape: unknown(x.shape.length) }],
});

/** numpy slicing of one dimension: start/end clamped as ONNX Slice says, as (begin, count). */
export function sliceAxis(dim: number, start: number, end: number, step: number): { begin: number; count: number } {
  if (step === 0) throw new ShapeError('Slice: a step of 0');
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = Math.min(Math.max(start, 0), dim);
    end = Math.min(Math.max(end, 0), dim);
    return { begin: start, count: Math.max(0, Math.ceil((end - start) / step)) };
  }
  start = Math.min(Math.max(start, 0), dim - 1);
  end = Math.min(Math.max(end, -1), dim - 1);
  return { begin: start, count: Math.max(0, Math.ceil((end - start) / step)) };
}

/** ONNX Slice (starts, ends, axes, steps) as stridedSlice attrs, or undefined while a sliced dimension is unknown. */
export function onnxSliceAttrs(x: Shape, starts: number[], ends: number[], axes: number[], steps: number[]): Attrs | undefined {
  const rank = x.length;
  const begin = new Array(rank).fill(0);
  const strides = new Array(rank).fill(1);
  const size: (number | null)[] = [...x];
  if (starts.length !== ends.length || axes.length !== starts.length || steps.length !== starts.length) {
    throw new ShapeError('Slice: starts, ends, axes and steps must have the same length');
  }
  const seen = new Set<number>();
  for (let i = 0; i < axes.length; i++) {
    const a = normalizeAxis(axes[i], rank, 'Slice: ');
    if (seen.has(a)) throw new ShapeError(`Slice: axis ${a} is listed twice`);
    seen.add(a);
    const dim = x[a];
    if (dim === null) return undefined;
    const s = sliceAxis(dim, starts[i], ends[i], steps[i]);
    begin[a] = s.count ? s.begin : 0;
    strides[a] = steps[i];
    size[a] = s.count;
  }
  if (size.some((d) => d === null)) return undefined;
  return { begin, strides, size: size as number[] };
}

registerDynamicAttrsRule('onnx.Slice', {
  target: 'stridedSlice',
  attrs: ([starts, ends, axes, steps], [x]) => onnxSliceAttrs(x.shape, numbers(starts), numbers(ends), numbers(axes), numbers(steps)),
  infer: ([x]) => [{ dtype: x.dtype, shape: unknown(x.shape.length) }],
});

registerDynamicAttrsRule('onnx.Squeeze', {
  target: 'squeeze',
  attrs: ([axes]) => ({ axes: numbers(axes) }),
  infer: ([x], [axes], _f, where) => [{ dtype: x.dtype, shape: unknown(x.shape.length - paramLength(axes, 'the axes input', where)) }],
});

/** ONNX Unsqueeze: the output shape with 1s inserted at `axes` (of the output rank). */
export function unsqueezeShape(x: Shape, axes: number[]): Shape {
  const rank = x.length + axes.length;
  const set = new Set(axes.map((a) => normalizeAxis(a, rank, 'Unsqueeze: ')));
  if (set.size !== axes.length) throw new ShapeError('Unsqueeze: an axis is listed twice');
  const out: Shape = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x[k++]);
  return out;
}

registerDynamicAttrsRule('onnx.Unsqueeze', {
  target: 'reshape',
  attrs: ([axes], [x]) => {
    const shape = unsqueezeShape(x.shape, numbers(axes));
    return shape.every((d) => d !== null) ? { shape: shape as number[] } : undefined;
  },
  infer: ([x], [axes], _f, where) => [{ dtype: x.dtype, shape: unknown(x.shape.length + paramLength(axes, 'the axes input', where)) }],
});

/** Axes of an ONNX reduction: empty means all, unless noop_with_empty_axes (then none). */
export function reduceAxes(axes: number[], rank: number, noopWithEmptyAxes: boolean): number[] {
  if (axes.length === 0) return noopWithEmptyAxes ? [] : Array.from({ length: rank }, (_, i) => i);
  return axes.map((a) => normalizeAxis(a, rank, 'Reduce: '));
}

for (const op of ['reduceSum', 'reduceMean', 'reduceMax', 'reduceMin', 'reduceProd']) {
  registerDynamicAttrsRule(`onnx.${op}`, {
    target: op,
    attrs: ([axes], [x], fixed) => ({ axes: reduceAxes(numbers(axes), x.shape.length, fixed.noopWithEmptyAxes === true), keepDims: fixed.keepDims === true }),
    infer: ([x], [axes], fixed, where) => {
      if (fixed.keepDims === true) return [{ dtype: x.dtype, shape: unknown(x.shape.length) }];
      const n = paramLength(axes, 'the axes input', where);
      return [{ dtype: x.dtype, shape: unknown(n === 0 ? (fixed.noopWithEmptyAxes === true ? x.shape.length : 0) : x.shape.length - n) }];
    },
  });
}

registerDynamicAttrsRule('onnx.Split', {
  target: 'split',
  attrs: ([split], _x, fixed) => ({ sizes: numbers(split), axis: Number(fixed.axis) }),
  infer: ([x], _p, fixed) => Array.from({ length: Number(fixed.numOutputs) }, () => ({ dtype: x.dtype, shape: unknown(x.shape.length) })),
});

/** ONNX pads [b0, b1, ..., e0, e1, ...] over `axes` as graphc's flat [before, after] pairs. */
export function onnxPaddings(pads: number[], rank: number, axes?: number[]): number[] {
  const list = axes ?? Array.from({ length: rank }, (_, i) => i);
  if (pads.length !== 2 * list.length) throw new ShapeError(`Pad: pads has ${pads.length} entries for ${list.length} axes`);
  const out = new Array(2 * rank).fill(0);
  list.forEach((a, i) => {
    const axis = normalizeAxis(a, rank, 'Pad: ');
    out[2 * axis] = pads[i];
    out[2 * axis + 1] = pads[i + list.length];
  });
  return out;
}

registerDynamicAttrsRule('onnx.Pad', {
  target: 'pad',
  attrs: ([pads, value], [x], fixed) => {
    const paddings = onnxPaddings(numbers(pads), x.shape.length);
    if (paddings.some((p) => p < 0)) throw new UnsupportedOpError('Pad: negative pads computed at run time are not supported', ['Pad']);
    return { paddings, mode: String(fixed.mode), constantValue: value && value.data.length ? value.data[0] : 0 };
  },
  infer: ([x]) => [{ dtype: x.dtype, shape: unknown(x.shape.length) }],
});

registerDynamicAttrsRule('onnx.ConstantOfShape', {
  target: 'fill',
  attrs: ([shape], _d, fixed) => ({ shape: numbers(shape), value: Number(fixed.value), dtype: fixed.dtype as DType }),
  infer: (_d, [shape], fixed, where) => [{ dtype: fixed.dtype as DType, shape: unknown(paramLength(shape, 'the shape input', where)) }],
});

registerDynamicAttrsRule('onnx.Range', {
  target: 'range',
  attrs: ([start, limit, delta], _d, fixed) => ({ start: numbers(start)[0], limit: numbers(limit)[0], delta: numbers(delta)[0], dtype: fixed.dtype as DType }),
  infer: (_d, _p, fixed) => [{ dtype: fixed.dtype as DType, shape: [null] }],
});

registerDynamicAttrsRule('onnx.OneHot', {
  target: 'oneHot',
  attrs: ([depth, values], _d, fixed) => {
    const [off, on] = numbers(values);
    return { depth: numbers(depth)[0], onValue: on, offValue: off, axis: Number(fixed.axis), dtype: fixed.dtype as DType };
  },
  infer: ([i], _p, fixed) => [{ dtype: fixed.dtype as DType, shape: unknown(i.shape.length + 1) }],
});

registerDynamicAttrsRule('onnx.TopK', {
  target: 'topK',
  attrs: ([k], _d, fixed) => ({ k: numbers(k)[0], axis: Number(fixed.axis), largest: fixed.largest !== false, sorted: true }),
  infer: ([x]) => [
    { dtype: x.dtype, shape: unknown(x.shape.length) },
    { dtype: 'int64', shape: unknown(x.shape.length) },
  ],
});

registerDynamicAttrsRule('onnx.Trilu', {
  target: 'trilu',
  attrs: ([k], _d, fixed) => ({ k: numbers(k)[0] ?? 0, upper: fixed.upper !== false }),
  infer: ([x]) => [{ ...x }],
});

registerDynamicAttrsRule('onnx.CumSum', {
  target: 'cumSum',
  attrs: ([axis], _d, fixed) => ({ axis: numbers(axis)[0], exclusive: fixed.exclusive === true, reverse: fixed.reverse === true }),
  infer: ([x]) => [{ ...x }],
});

/**
 * ONNX Resize / Upsample: output sizes from `sizes`, or floor(x * scales); parameters named by
 * `params` (a list of 'roi' | 'scales' | 'sizes', one per parameter input).
 */
export function resizeAttrs(x: Shape, params: Record<string, number[] | undefined>, fixed: Attrs): Attrs | undefined {
  const out: Attrs = {};
  for (const key of ['mode', 'coordinateTransformationMode', 'nearestMode', 'cubicCoeffA', 'excludeOutside', 'extrapolationValue']) {
    if (fixed[key] !== undefined) out[key] = fixed[key];
  }
  const scales = params.scales && params.scales.length ? params.scales : undefined;
  const sizes = params.sizes && params.sizes.length ? params.sizes : undefined;
  if (sizes) {
    if (sizes.length !== x.length) throw new ShapeError(`Resize: sizes has ${sizes.length} entries for rank ${x.length}`);
    out.sizes = sizes;
  } else if (scales) {
    if (scales.length !== x.length) throw new ShapeError(`Resize: scales has ${scales.length} entries for rank ${x.length}`);
    if (x.some((d) => d === null)) return undefined;
    out.sizes = x.map((d, i) => Math.floor((d as number) * scales[i]));
    out.scales = scales;
  } else throw new ShapeError('Resize: needs scales or sizes');
  if (params.roi && params.roi.length) out.roi = params.roi;
  return out;
}

registerDynamicAttrsRule('onnx.Resize', {
  target: 'resize',
  attrs: (params, [x], fixed) => {
    const names = fixed.params as string[];
    return resizeAttrs(x.shape, Object.fromEntries(names.map((n, i) => [n, numbers(params[i])])), fixed);
  },
  infer: ([x]) => [{ dtype: x.dtype, shape: unknown(x.shape.length) }],
});

