import { ShapeError, TensorValue, ops, stridesOf } from '@graphc/graph';
import { KernelContext, registerCpuKernel } from '../../kernel';

function axisOf(attrs: Record<string, unknown>, rank: number): number {
  const a = Number(attrs.axis ?? 0);
  return a < 0 ? a + rank : a;
}

/** Resolves a (possibly negative) index into [0, dim), failing with the node's name when out of range. */
function resolve(v: number, dim: number, op: string, ctx: KernelContext): number {
  if (v < -dim || v >= dim || !Number.isInteger(v)) {
    throw new ShapeError(`op '${op}' (node '${ctx.node.name}'): index ${v} is out of range [${-dim}, ${dim})`);
  }
  return v < 0 ? v + dim : v;
}

/** Visits every coordinate of `shape` with the flat offset it has in a tensor of strides `strides`, replacing `axis`. */
function forEachIndex(shape: number[], fn: (flat: number, coords: number[]) => void): void {
  const total = shape.reduce((p, d) => p * d, 1);
  const coords = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < total; i++) {
    fn(i, coords);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++coords[d] < shape[d]) break;
      coords[d] = 0;
    }
  }
}

registerCpuKernel('gatherElements', ([data, indices], attrs, ctx) => {
  const axis = axisOf(attrs, data.shape.length);
  const ds = stridesOf(data.shape);
  const out = ctx.alloc(data.dtype, indices.shape);
  indices.shape.forEach((d, i) => {
    if (i !== axis && d > data.shape[i]) throw new ShapeError(`op 'gatherElements' (node '${ctx.node.name}'): indices [${indices.shape}] exceed data [${data.shape}] in dimension ${i}`);
  });
  forEachIndex(indices.shape, (flat, coords) => {
    let off = 0;
    for (let d = 0; d < coords.length; d++) {
      const c = d === axis ? resolve(indices.data[flat], data.shape[axis], 'gatherElements', ctx) : coords[d];
      off += c * ds[d];
    }
    out.data[flat] = data.data[off];
  });
  return [out];
});

function combine(reduction: unknown, op: string, ctx: KernelContext): (old: number, update: number) => number {
  switch (reduction ?? 'none') {
    case 'none':
      return (_o, u) => u;
    case 'add':
      return (o, u) => o + u;
    case 'mul':
      return (o, u) => o * u;
    case 'max':
      return (o, u) => Math.max(o, u);
    case 'min':
      return (o, u) => Math.min(o, u);
    default:
      throw new ShapeError(`op '${op}' (node '${ctx.node.name}'): reduction '${String(reduction)}' is not none, add, mul, max or min`);
  }
}

function copyOf(ctx: KernelContext, v: TensorValue): TensorValue {
  const out = ctx.alloc(v.dtype, v.shape);
  out.data.set(v.data);
  return out;
}

registerCpuKernel('scatterElements', ([data, indices, updates], attrs, ctx) => {
  const axis = axisOf(attrs, data.shape.length);
  const ds = stridesOf(data.shape);
  const out = copyOf(ctx, data);
  const apply = combine(attrs.reduction, 'scatterElements', ctx);
  if (indices.shape.some((d, i) => d !== updates.shape[i])) throw new ShapeError(`op 'scatterElements' (node '${ctx.node.name}'): indices and updates differ in shape`);
  forEachIndex(indices.shape, (flat, coords) => {
    let off = 0;
    for (let d = 0; d < coords.length; d++) {
      const c = d === axis ? resolve(indices.data[flat], data.shape[axis], 'scatterElements', ctx) : coords[d];
      if (c >= data.shape[d]) throw new ShapeError(`op 'scatterElements' (node '${ctx.node.name}'): indices exceed data in dimension ${d}`);
      off += c * ds[d];
    }
    out.data[off] = apply(out.data[off], updates.data[flat]);
  });
  return [out];
});

/** The flat offset of the data slice that index tuple `t` (q entries starting at `at`) selects, after `batchOffset`. */
function tupleOffset(indices: TensorValue, at: number, q: number, data: TensorValue, first: number, ds: number[], op: string, ctx: KernelContext): number {
  let off = 0;
  for (let j = 0; j < q; j++) off += resolve(indices.data[at + j], data.shape[first + j], op, ctx) * ds[first + j];
  return off;
}

registerCpuKernel('gatherNd', ([data, indices], attrs, ctx) => {
  const b = Number(attrs.batchDims ?? 0);
  const { q, strides: ds, slice, batch, perBatch, batchStride } = ops.gatherNdGeometry(data.shape, indices.shape, b);
  const out = ctx.alloc(data.dtype, [...indices.shape.slice(0, -1), ...data.shape.slice(b + q)]);
  for (let bi = 0; bi < batch; bi++) {
    for (let t = 0; t < perBatch; t++) {
      const tuple = bi * perBatch + t;
      const off = bi * batchStride + tupleOffset(indices, tuple * q, q, data, b, ds, 'gatherNd', ctx);
      out.data.set(data.data.subarray(off, off + slice), tuple * slice);
    }
  }
  return [out];
});

registerCpuKernel('scatterNd', ([data, indices, updates], attrs, ctx) => {
  const q = indices.shape[indices.shape.length - 1];
  const out = copyOf(ctx, data);
  const ds = stridesOf(data.shape);
  const slice = data.shape.slice(q).reduce((p, d) => p * d, 1);
  const tuples = indices.shape.slice(0, -1).reduce((p, d) => p * d, 1);
  const apply = combine(attrs.reduction, 'scatterNd', ctx);
  for (let t = 0; t < tuples; t++) {
    const off = tupleOffset(indices, t * q, q, data, 0, ds, 'scatterNd', ctx);
    for (let k = 0; k < slice; k++) out.data[off + k] = apply(out.data[off + k], updates.data[t * slice + k]);
  }
  return [out];
});
