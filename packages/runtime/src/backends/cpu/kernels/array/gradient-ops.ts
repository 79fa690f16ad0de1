import { ShapeError, TensorValue, sizeOf, stridesOf } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';
import { padMap, tileMap } from './remap';

/** A view with another shape; no copy. */
registerCpuKernel('reshapeToShapeOf', ([x, like], _attrs, ctx) => {
  if (sizeOf(like.shape) !== x.data.length) {
    throw new ShapeError(`op 'reshapeToShapeOf' (node '${ctx.node.name}'): cannot reshape [${x.shape.join(', ')}] to [${like.shape.join(', ')}]`);
  }
  return [{ dtype: x.dtype, shape: [...like.shape], data: x.data }];
});

/** Zeros of x's shape, then dy's rows copied in at `begin` (innermost dimension as one run). */
registerCpuKernel('sliceGrad', ([dy, x], attrs, ctx) => {
  const begin = attrs.begin as number[];
  const rank = x.shape.length;
  dy.shape.forEach((d, i) => {
    if (begin[i] + d > x.shape[i]) {
      throw new ShapeError(`op 'sliceGrad' (node '${ctx.node.name}'): dy [${dy.shape.join(', ')}] at [${begin.join(', ')}] runs past [${x.shape.join(', ')}]`);
    }
  });
  const out: TensorValue = ctx.alloc(dy.dtype, x.shape);
  out.data.fill(0);
  if (dy.data.length === 0) return [out];
  if (rank === 0) {
    out.data[0] = dy.data[0];
    return [out];
  }
  const strides = stridesOf(x.shape);
  const inner = dy.shape[rank - 1];
  const rows = dy.data.length / inner;
  const idx = new Int32Array(rank);
  let o = begin.reduce((s, b, i) => s + b * strides[i], 0);
  let src = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < inner; j++) out.data[o + j] = dy.data[src++];
    for (let d = rank - 2; d >= 0; d--) {
      o += strides[d];
      if (++idx[d] < dy.shape[d]) break;
      idx[d] = 0;
      o -= strides[d] * dy.shape[d];
    }
  }
  return [out];
});

/** Zeros of params' shape; each index's slice of dy is added to the row it picked. */
registerCpuKernel('gatherGrad', ([dy, indices, params], attrs, ctx) => {
  const rank = params.shape.length;
  const a = (attrs.axis as number | undefined) ?? 0;
  const axis = a < 0 ? a + rank : a;
  const dim = params.shape[axis];
  const outer = sizeOf(params.shape.slice(0, axis));
  const inner = sizeOf(params.shape.slice(axis + 1));
  const idx = indices.data;
  const n = idx.length;
  const out: TensorValue = ctx.alloc(dy.dtype, params.shape);
  out.data.fill(0);
  for (let i = 0; i < n; i++) {
    let v = idx[i];
    if (v < -dim || v >= dim) {
      throw new ShapeError(`op 'gatherGrad' (node '${ctx.node.name}'): index ${v} is out of range [${-dim}, ${dim}) for axis ${axis} of [${params.shape.join(', ')}]`);
    }
    if (v < 0) v += dim;
    for (let o = 0; o < outer; o++) {
      const dst = (o * dim + v) * inner;
      const src = (o * n + i) * inner;
      for (let j = 0; j < inner; j++) out.data[dst + j] += dy.data[src + j];
    }
  }
  return [out];
});

/**
 * Scatter-add through per-dimension index maps: out[map0[j0], map1[j1], ...] += dy[j0, j1, ...],
 * skipping positions a map sends to -1 (constant padding). The transpose of the remap that pad and
 * tile perform.
 */
function scatterAddInto(dy: TensorValue, outShape: number[], maps: Int32Array[], out: TensorValue['data']): void {
  out.fill(0);
  const rank = outShape.length;
  if (dy.data.length === 0) return;
  if (rank === 0) {
    out[0] = dy.data[0];
    return;
  }
  const strides = stridesOf(outShape);
  const inner = dy.shape[rank - 1];
  const lastMap = maps[rank - 1];
  const rows = dy.data.length / inner;
  const idx = new Int32Array(rank);
  let src = 0;
  for (let r = 0; r < rows; r++) {
    let base = 0;
    let valid = true;
    for (let d = 0; d < rank - 1; d++) {
      const m = maps[d][idx[d]];
      if (m < 0) valid = false;
      base += m * strides[d];
    }
    if (valid) {
      for (let j = 0; j < inner; j++) {
        const m = lastMap[j];
        if (m >= 0) out[base + m] += dy.data[src + j];
      }
    }
    src += inner;
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < dy.shape[d]) break;
      idx[d] = 0;
    }
  }
}

registerCpuKernel('padGrad', ([dy, x], attrs, ctx) => {
  const paddings = attrs.paddings as number[];
  const mode = String(attrs.mode ?? 'constant');
  const maps = x.shape.map((d, i) => padMap(d, paddings[2 * i], paddings[2 * i + 1], mode));
  maps.forEach((m, i) => {
    if (m.length !== dy.shape[i]) {
      throw new ShapeError(`op 'padGrad' (node '${ctx.node.name}'): dy [${dy.shape.join(', ')}] is not x [${x.shape.join(', ')}] padded by [${paddings.join(', ')}]`);
    }
  });
  const out = ctx.alloc(dy.dtype, x.shape);
  scatterAddInto(dy, x.shape, maps, out.data);
  return [out];
});

registerCpuKernel('tileGrad', ([dy, x], attrs, ctx) => {
  const multiples = attrs.multiples as number[];
  const maps = x.shape.map((d, i) => tileMap(d, multiples[i]));
  maps.forEach((m, i) => {
    if (m.length !== dy.shape[i]) {
      throw new ShapeError(`op 'tileGrad' (node '${ctx.node.name}'): dy [${dy.shape.join(', ')}] is not x [${x.shape.join(', ')}] tiled by [${multiples.join(', ')}]`);
    }
  });
  const out = ctx.alloc(dy.dtype, x.shape);
  scatterAddInto(dy, x.shape, maps, out.data);
  return [out];
});

/** Zeros of x's shape, then dy's elements at begin + j * strides (strides may be negative). */
registerCpuKernel('stridedSliceGrad', ([dy, x], attrs, ctx) => {
  const begin = attrs.begin as number[];
  const step = attrs.strides as number[];
  const rank = x.shape.length;
  const out: TensorValue = ctx.alloc(dy.dtype, x.shape);
  out.data.fill(0);
  if (dy.data.length === 0) return [out];
  dy.shape.forEach((n, d) => {
    const last = begin[d] + (n - 1) * step[d];
    if (n > 0 && (begin[d] < 0 || begin[d] >= x.shape[d] || last < 0 || last >= x.shape[d])) {
      throw new ShapeError(`op 'stridedSliceGrad' (node '${ctx.node.name}'): dimension ${d} runs outside [${x.shape.join(', ')}]`);
    }
  });
  if (rank === 0) {
    out.data[0] = dy.data[0];
    return [out];
  }
  const strides = stridesOf(x.shape);
  const jump = strides.map((s, d) => s * step[d]);
  const inner = dy.shape[rank - 1];
  const rows = dy.data.length / inner;
  const idx = new Int32Array(rank);
  let o = begin.reduce((acc, b, d) => acc + b * strides[d], 0);
  let src = 0;
  const innerJump = jump[rank - 1];
  for (let r = 0; r < rows; r++) {
    for (let j = 0, p = o; j < inner; j++, p += innerJump) out.data[p] += dy.data[src++];
    for (let d = rank - 2; d >= 0; d--) {
      o += jump[d];
      if (++idx[d] < dy.shape[d]) break;
      idx[d] = 0;
      o -= jump[d] * dy.shape[d];
    }
  }
  return [out];
});
