import { ShapeError, sizeOf } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';
import { copyRows } from './strided';

const axisOf = (a: number, rank: number): number => (a < 0 ? a + rank : a);

registerCpuKernel('concat', (inputs, attrs, ctx) => {
  const first = inputs[0];
  const axis = axisOf(attrs.axis as number, first.shape.length);
  const shape = [...first.shape];
  shape[axis] = inputs.reduce((s, x) => s + x.shape[axis], 0);
  for (const x of inputs) {
    if (x.shape.length !== shape.length || x.shape.some((d, i) => i !== axis && d !== shape[i])) {
      throw new ShapeError(`op 'concat' (node '${ctx.node.name}'): input shapes [${inputs.map((t) => `[${t.shape.join(', ')}]`).join(', ')}] differ outside axis ${axis}`);
    }
  }
  const out = ctx.alloc(first.dtype, shape);
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  const row = shape[axis] * inner;
  let offset = 0;
  for (const x of inputs) {
    const block = x.shape[axis] * inner;
    copyRows(x.data, 0, block, out.data, offset, row, outer, block);
    offset += block;
  }
  return [out];
});

registerCpuKernel('split', ([x], attrs, ctx) => {
  const axis = axisOf(attrs.axis as number, x.shape.length);
  const dim = x.shape[axis];
  let sizes: number[];
  if (Array.isArray(attrs.sizes)) {
    const given = attrs.sizes as number[];
    const known = given.reduce((a, s) => (s === -1 ? a : a + s), 0);
    sizes = given.map((s) => (s === -1 ? dim - known : s));
  } else {
    const num = attrs.num as number;
    sizes = new Array<number>(num).fill(dim / num);
  }
  if (sizes.some((s) => s < 0 || !Number.isInteger(s)) || sizes.reduce((a, s) => a + s, 0) !== dim) {
    throw new ShapeError(`op 'split' (node '${ctx.node.name}'): cannot split dimension ${axis} of [${x.shape.join(', ')}] into [${sizes.join(', ')}]`);
  }
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const row = dim * inner;
  let offset = 0;
  return sizes.map((s) => {
    const out = ctx.alloc(x.dtype, x.shape.map((d, i) => (i === axis ? s : d)));
    copyRows(x.data, offset, row, out.data, 0, s * inner, outer, s * inner);
    offset += s * inner;
    return out;
  });
});
