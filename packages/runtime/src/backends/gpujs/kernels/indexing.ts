import { ops, sizeOf, stridesOf } from '@graphc/graph';
import { floatLit } from '../helpers';
import { LowerContext, TensorRef, broadcastRead, coordinates, registerGpujsKernel } from '../program';

/**
 * Indexing ops from ONNX (expand, stridedSlice, trilu, gathers and scatters, topK, cumSum, ...), each
 * a gather from the output element's own coordinates. Scatters are turned around: each output
 * element scans the updates for the ones that land on it (in update order, so the last write wins
 * and reductions combine in the cpu kernel's order). Indices arrive as float32 and are rounded;
 * out-of-range indices (an error on the cpu backend) are clamped, since a kernel cannot throw.
 */

const axisOf = (ctx: LowerContext, rank: number, fallback = 0): number => {
  const a = Number(ctx.attrs.axis ?? fallback);
  return a < 0 ? a + rank : a;
};

/** Statements resolving index value `v` (rounded, negative from the end, clamped) into `name`. */
function resolveIndex(name: string, v: string, dim: number): string {
  return `let ${name} = Math.floor(${v} + 0.5);\nif (${name} < 0) {\n${name} = ${name} + ${dim};\n}\n${name} = Math.min(Math.max(${name}, 0), ${dim - 1});\n`;
}

registerGpujsKernel('expand', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  return [ctx.kernel(out.shape, out.dtype, [x], ([x0]) => {
    const r = broadcastRead(x.shape, out.shape);
    return `${r.code}return ${x0}[${r.index}];`;
  })];
});

registerGpujsKernel('stridedSlice', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const begin = ctx.attrs.begin as number[];
  const step = ctx.attrs.strides as number[];
  const xs = stridesOf(x.shape);
  return [ctx.kernel(out.shape, out.dtype, [x], ([x0]) => {
    const c = coordinates(out.shape, 'i', 'o');
    const terms = out.shape.map((_, d) => `(${begin[d]} + ${c.names[d]} * ${step[d]}) * ${xs[d]}`);
    return `${c.code}return ${x0}[${terms.join(' + ') || '0'}];`;
  })];
});

/** shapeOf: the (static) dimensions, as literals of a kernel. */
registerGpujsKernel('shapeOf', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const rank = x.shape.length;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clamp(Number(ctx.attrs.start ?? 0));
  const end = ctx.attrs.end === undefined || ctx.attrs.end === null ? rank : clamp(Number(ctx.attrs.end));
  const dims = x.shape.slice(start, Math.max(start, end));
  return [ctx.kernel(out.shape, out.dtype, [], () => `${dims.map((d, k) => `if (i === ${k}) {\nreturn ${floatLit(d)};\n}\n`).join('')}return 0.0;`)];
});

registerGpujsKernel('trilu', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const rank = x.shape.length;
  const cols = x.shape[rank - 1];
  const rows = x.shape[rank - 2];
  const k = Number(ctx.attrs.k ?? 0);
  const cmp = ctx.attrs.upper !== false ? '>=' : '<=';
  return [ctx.kernel(out.shape, out.dtype, [x], ([x0]) =>
    `const col = i % ${cols};\nconst row = Math.floor(i / ${cols}) % ${rows};\nif (col - row ${cmp} ${k}) {\nreturn ${x0}[i];\n}\nreturn 0.0;`)];
});

registerGpujsKernel('reverseSequence', (ctx) => {
  const [x, lengths] = ctx.inputs;
  const out = ctx.outputs[0];
  const t = Number(ctx.attrs.timeAxis ?? 0);
  const b = Number(ctx.attrs.batchAxis ?? 1);
  const xs = stridesOf(x.shape);
  return [ctx.kernel(out.shape, out.dtype, [x, lengths], ([x0, len]) => {
    const c = coordinates(out.shape, 'i', 'o');
    const time = c.names[t];
    const batch = c.names[b];
    let code = `${c.code}const n = Math.floor(${len}[${batch}] + 0.5);\nlet src = i;\n`;
    code += `if (${time} < n) {\nsrc = i + (n - 1 - 2 * ${time}) * ${xs[t]};\n}\n`;
    return `${code}return ${x0}[src];`;
  })];
});

registerGpujsKernel('gatherElements', (ctx) => {
  const [data, indices] = ctx.inputs;
  const out = ctx.outputs[0];
  const axis = axisOf(ctx, data.shape.length);
  const ds = stridesOf(data.shape);
  return [ctx.kernel(out.shape, out.dtype, [data, indices], ([d, idx]) => {
    const c = coordinates(out.shape, 'i', 'o');
    const terms = out.shape.map((_, k) => `${k === axis ? 'v' : c.names[k]} * ${ds[k]}`);
    return `${c.code}${resolveIndex('v', `${idx}[i]`, data.shape[axis])}return ${d}[${terms.join(' + ') || '0'}];`;
  })];
});

/** How an update combines with the value it lands on (ONNX reduction). */
function combine(reduction: unknown, acc: string, u: string): string {
  switch (reduction ?? 'none') {
    case 'add':
      return `${acc} = ${acc} + ${u};`;
    case 'mul':
      return `${acc} = ${acc} * ${u};`;
    case 'max':
      return `${acc} = Math.max(${acc}, ${u});`;
    case 'min':
      return `${acc} = Math.min(${acc}, ${u});`;
    default:
      return `${acc} = ${u};`;
  }
}

registerGpujsKernel('scatterElements', (ctx) => {
  const [data, indices, updates] = ctx.inputs;
  const out = ctx.outputs[0];
  const axis = axisOf(ctx, data.shape.length);
  const count = sizeOf(indices.shape);
  return [ctx.kernel(out.shape, out.dtype, [data, indices, updates], ([d, idx, up]) => {
    const c = coordinates(out.shape, 'i', 'o');
    // the update at flat position p (coordinates over indices' shape) lands on this element when its
    // coordinates equal ours off the axis and its index equals ours on it
    const pc = coordinates(indices.shape, 'p', 'q');
    const same = indices.shape.map((_, k) => (k === axis ? `v === ${c.names[k]}` : `${pc.names[k]} === ${c.names[k]}`));
    let code = `${c.code}let acc = ${d}[i];\nfor (let p = 0; p < ${count}; p++) {\n${pc.code}${resolveIndex('v', `${idx}[p]`, data.shape[axis])}`;
    code += `if (${same.join(' && ')}) {\n${combine(ctx.attrs.reduction, 'acc', `${up}[p]`)}\n}\n}\n`;
    return `${code}return acc;`;
  })];
});

registerGpujsKernel('gatherNd', (ctx) => {
  const [data, indices] = ctx.inputs;
  const out = ctx.outputs[0];
  const b = Number(ctx.attrs.batchDims ?? 0);
  const { q, strides: ds, slice, perBatch, batchStride } = ops.gatherNdGeometry(data.shape, indices.shape, b);
  return [ctx.kernel(out.shape, out.dtype, [data, indices], ([d, idx]) => {
    let code = `const j = i % ${slice};\nconst tuple = Math.floor(i / ${slice});\nconst bi = Math.floor(tuple / ${perBatch});\nlet off = bi * ${batchStride} + j;\n`;
    for (let k = 0; k < q; k++) code += `${resolveIndex(`v${k}`, `${idx}[tuple * ${q} + ${k}]`, data.shape[b + k])}off = off + v${k} * ${ds[b + k]};\n`;
    return `${code}return ${d}[off];`;
  })];
});

registerGpujsKernel('scatterNd', (ctx) => {
  const [data, indices, updates] = ctx.inputs;
  const out = ctx.outputs[0];
  const q = indices.shape[indices.shape.length - 1];
  const ds = stridesOf(data.shape);
  const slice = sizeOf(data.shape.slice(q));
  const tuples = sizeOf(indices.shape.slice(0, -1));
  return [ctx.kernel(out.shape, out.dtype, [data, indices, updates], ([d, idx, up]) => {
    let code = `const j = i % ${slice};\nconst base = i - j;\nlet acc = ${d}[i];\nfor (let t = 0; t < ${tuples}; t++) {\nlet off = 0;\n`;
    for (let k = 0; k < q; k++) code += `${resolveIndex(`v${k}`, `${idx}[t * ${q} + ${k}]`, data.shape[k])}off = off + v${k} * ${ds[k]};\n`;
    code += `if (off === base) {\n${combine(ctx.attrs.reduction, 'acc', `${up}[t * ${slice} + j]`)}\n}\n}\n`;
    return `${code}return acc;`;
  })];
});

/** cumSum along an axis: each element sums its prefix (or suffix with `reverse`). */
registerGpujsKernel('cumSum', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const axis = axisOf(ctx, x.shape.length);
  const dim = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const exclusive = ctx.attrs.exclusive === true;
  const reverse = ctx.attrs.reverse === true;
  return [ctx.kernel(out.shape, out.dtype, [x], ([x0]) => {
    let code = `const j = Math.floor(i / ${inner}) % ${dim};\nconst base = i - j * ${inner};\nlet acc = 0.0;\n`;
    const take = reverse ? (exclusive ? 's > j' : 's >= j') : exclusive ? 's < j' : 's <= j';
    code += `for (let s = 0; s < ${dim}; s++) {\nif (${take}) {\nacc += ${x0}[base + s * ${inner}];\n}\n}\n`;
    return `${code}return acc;`;
  })];
});

/**
 * topK: output j of a row is the element whose rank in the row's stable order (by value, ties by
 * position) is j: each output element counts, for every candidate, how many elements precede it.
 */
registerGpujsKernel('topK', (ctx) => {
  const [x] = ctx.inputs;
  const [values, indices] = ctx.outputs;
  const axis = axisOf(ctx, x.shape.length, -1);
  const dim = x.shape[axis];
  const k = Number(ctx.attrs.k);
  const inner = sizeOf(x.shape.slice(axis + 1));
  const better = ctx.attrs.largest !== false ? '>' : '<';
  const select = (result: 'value' | 'index'): ((names: string[]) => string) => ([x0]) => {
    let code = `const j = Math.floor(i / ${inner}) % ${k};\nconst o = Math.floor(i / ${inner * k});\nconst base = o * ${dim * inner} + i % ${inner};\n`;
    code += `let found = 0;\nfor (let p = 0; p < ${dim}; p++) {\nconst vp = ${x0}[base + p * ${inner}];\nlet rank = 0;\n`;
    code += `for (let q = 0; q < ${dim}; q++) {\nconst vq = ${x0}[base + q * ${inner}];\nif (vq ${better} vp || (vq === vp && q < p)) {\nrank = rank + 1;\n}\n}\n`;
    code += `if (rank === j) {\nfound = p;\n}\n}\n`;
    return result === 'index' ? `${code}return found;` : `${code}return ${x0}[base + found * ${inner}];`;
  };
  return [ctx.kernel(values.shape, values.dtype, [x], select('value')), ctx.kernel(indices.shape, indices.dtype, [x], select('index'))];
});

export type { TensorRef };
