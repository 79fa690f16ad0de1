import { registerCpuKernel } from '../../kernel';

/**
 * unique: x's elements, or its slices along the axis, put in a stable sort by their entries (row-major,
 * lexicographic), so each run of equal ones starts at its first occurrence; the runs in sorted order,
 * or by first occurrence when not `sorted` (as ONNX's reference implementation reorders numpy.unique).
 */
registerCpuKernel('unique', ([x], attrs, ctx) => {
  const rank = x.shape.length;
  const whole = attrs.axis === undefined || attrs.axis === null;
  const a = whole ? 0 : Number(attrs.axis);
  const axis = a < 0 ? a + rank : a;
  const count = whole ? x.data.length : x.shape[axis];
  const inner = whole ? 1 : x.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const outer = whole ? 1 : x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const width = outer * inner;
  // entry j of slice k, in row-major order of the slice
  const at = (k: number, j: number): number => (Math.floor(j / inner) * count + k) * inner + (j % inner);
  const compare = (p: number, q: number): number => {
    for (let j = 0; j < width; j++) {
      const d = Number(x.data[at(p, j)]) - Number(x.data[at(q, j)]);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return 0;
  };
  const order = Array.from({ length: count }, (_, k) => k);
  order.sort((p, q) => compare(p, q) || p - q);
  const groups: { first: number; members: number[] }[] = [];
  for (const k of order) {
    const last = groups[groups.length - 1];
    if (last && compare(last.first, k) === 0) last.members.push(k);
    else groups.push({ first: k, members: [k] });
  }
  if (attrs.sorted === false) groups.sort((p, q) => p.first - q.first);
  const n = groups.length;
  const yShape = whole ? [n] : x.shape.map((d, i) => (i === axis ? n : d));
  const y = ctx.alloc(x.dtype, yShape);
  const indices = ctx.alloc('int64', [n]);
  const inverse = ctx.alloc('int64', [count]);
  const counts = ctx.alloc('int64', [n]);
  groups.forEach((g, u) => {
    indices.data[u] = g.first;
    counts.data[u] = g.members.length;
    for (const k of g.members) inverse.data[k] = u;
    for (let j = 0; j < width; j++) y.data[(Math.floor(j / inner) * n + u) * inner + (j % inner)] = x.data[at(g.first, j)];
  });
  return [y, indices, inverse, counts];
});
