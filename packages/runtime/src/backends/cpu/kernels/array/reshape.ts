import { ShapeError, TensorValue, sizeOf } from '@graphc/graph';
import { KernelContext, registerCpuKernel } from '../../kernel';

const where = (ctx: KernelContext): string => `op '${ctx.node.op}' (node '${ctx.node.name}'): `;

/** A view of `x`'s buffer with another shape: reshape-like ops never copy. */
function view(x: TensorValue, shape: number[]): TensorValue[] {
  return [{ dtype: x.dtype, shape, data: x.data }];
}

registerCpuKernel('reshape', ([x], attrs, ctx) => {
  const target = attrs.shape as number[];
  const size = x.data.length;
  const known = target.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const shape = target.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d));
  if (sizeOf(shape) !== size || !shape.every(Number.isInteger)) {
    throw new ShapeError(`${where(ctx)}cannot reshape [${x.shape.join(', ')}] (${size} elements) to [${target.join(', ')}]`);
  }
  return view(x, shape);
});

registerCpuKernel('expandDims', ([x], attrs) => {
  const rank = x.shape.length;
  const a = attrs.axis as number;
  const axis = a < 0 ? a + rank + 1 : a;
  return view(x, [...x.shape.slice(0, axis), 1, ...x.shape.slice(axis)]);
});

registerCpuKernel('squeeze', ([x], attrs, ctx) => {
  const rank = x.shape.length;
  const axes = new Set((attrs.axes as number[]).map((a) => (a < 0 ? a + rank : a)));
  for (const a of axes) {
    if (x.shape[a] !== 1) throw new ShapeError(`${where(ctx)}cannot squeeze axis ${a} of [${x.shape.join(', ')}]: its size is not 1`);
  }
  return view(x, x.shape.filter((_, i) => !axes.has(i)));
});
