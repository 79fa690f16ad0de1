import { DType, isInteger, sizeOf, stridesOf } from '@graphc/graph';
import { LowerContext, TensorRef, coordinates, registerGpujsKernel } from '../program';

/**
 * Reductions: one thread per output element loops over its reduced elements. A long contiguous
 * reduction with few outputs runs in two kernels (partial results over chunks, then over those),
 * which keeps a GPU's threads busy and sums in a tree-like order.
 */

type Combine = 'sum' | 'prod' | 'max' | 'min';

const step: Record<Combine, (acc: string, v: string) => string> = {
  sum: (acc, v) => `${acc} += ${v};`,
  prod: (acc, v) => `${acc} *= ${v};`,
  // NaN propagates, as the cpu kernels
  max: (acc, v) => `if (${v} > ${acc} || ${v} !== ${v}) {\n${acc} = ${v};\n}`,
  min: (acc, v) => `if (${v} < ${acc} || ${v} !== ${v}) {\n${acc} = ${v};\n}`,
};

/** Identity of an empty reduction (what the cpu kernels give). */
function identity(kind: Combine, dtype: DType): number {
  if (kind === 'sum') return 0;
  if (kind === 'prod') return 1;
  const int = dtype === 'int32' ? 2147483647 : dtype === 'int64' ? 9223372036854775807 : Infinity;
  return kind === 'max' ? -int : int;
}

/** Chunked (two-kernel) reduction once the reduced run is this long. */
const TWO_STAGE = 2048;

interface ReduceSpec {
  kind: Combine;
  /** Divide by the element count (mean); integer dtypes truncate. */
  mean?: boolean;
}

/**
 * Reduces `x` over `axes` to `outShape` (whose element order is that of the kept dimensions).
 */
export function reduce(ctx: LowerContext, x: TensorRef, axes: Set<number>, outShape: number[], dtype: DType, spec: ReduceSpec): TensorRef {
  const shape = x.shape;
  const strides = stridesOf(shape);
  const kept = shape.map((_, d) => d).filter((d) => !axes.has(d));
  const reduced = shape.map((_, d) => d).filter((d) => axes.has(d) && shape[d] !== 1);
  const count = axes.size === 0 ? 1 : sizeOf([...axes].map((d) => shape[d]));
  const outCount = sizeOf(outShape);
  if (count === 0) {
    const fill = spec.mean ? (isInteger(dtype) ? 0 : NaN) : identity(spec.kind, dtype);
    return ctx.constant(new Float32Array(outCount).fill(fill), outShape, dtype);
  }
  const finish = (acc: string): string => {
    if (!spec.mean) return `return ${acc};`;
    return isInteger(dtype) ? `return Math.trunc(${acc} / ${count}.0);` : `return ${acc} / ${count}.0;`;
  };
  const keptShape = kept.map((d) => shape[d]);
  const baseOf = (names: string[]): string => {
    const terms = kept.map((d, k) => (shape[d] === 1 ? '' : `${names[k]} * ${strides[d]}`)).filter((t) => t);
    return terms.length ? terms.join(' + ') : '0';
  };
  // the reduced dimensions as one run of consecutive axes: element r of the run is at base + r * stride
  const contiguous = reduced.length > 0 && reduced.every((d, k) => k === 0 || d === reduced[k - 1] + 1);
  const runStride = contiguous ? strides[reduced[reduced.length - 1]] : 0;
  if (contiguous && count >= TWO_STAGE && outCount < 4096) {
    const chunk = Math.ceil(Math.sqrt(count));
    const chunks = Math.ceil(count / chunk);
    const partial = ctx.kernel([outCount, chunks], dtype, [x], ([x0]) => {
      const c = coordinates(keptShape, 'o', 'k');
      let code = `const q = i % ${chunks};\nconst o = Math.floor(i / ${chunks});\n${c.code}const base = ${baseOf(c.names)};\n`;
      // literal loop bounds (WGSL loop counters must be integers); the last chunk may be short
      code += `const start = q * ${chunk};\nlet acc = ${x0}[base + start * ${runStride}];\n`;
      code += `for (let r = 1; r < ${chunk}; r++) {\nif (start + r < ${count}) {\nconst v = ${x0}[base + (start + r) * ${runStride}];\n${step[spec.kind]('acc', 'v')}\n}\n}\n`;
      return `${code}return acc;`;
    });
    return ctx.kernel(outShape, dtype, [partial], ([p]) => {
      let code = `let acc = ${p}[i * ${chunks}];\n`;
      code += `for (let r = 1; r < ${chunks}; r++) {\nconst v = ${p}[i * ${chunks} + r];\n${step[spec.kind]('acc', 'v')}\n}\n`;
      return `${code}${finish('acc')}`;
    });
  }
  return ctx.kernel(outShape, dtype, [x], ([x0]) => {
    const c = coordinates(keptShape, 'i', 'k');
    let code = `${c.code}const base = ${baseOf(c.names)};\nlet acc = ${x0}[base];\n`;
    if (reduced.length === 0) return `${code}${finish('acc')}`;
    // nested loops over the reduced dimensions; the first element is the initial value
    let offset = 'base';
    let open = '';
    let close = '';
    reduced.forEach((d, k) => {
      open += `for (let r${k} = 0; r${k} < ${shape[d]}; r${k}++) {\n`;
      close += '}\n';
      offset += ` + r${k} * ${strides[d]}`;
    });
    const skipFirst = `if (${reduced.map((_, k) => `r${k} > 0`).join(' || ')}) {\nconst v = ${x0}[${offset}];\n${step[spec.kind]('acc', 'v')}\n}\n`;
    code += `${open}${skipFirst}${close}`;
    return `${code}${finish('acc')}`;
  });
}

function axesOf(ctx: LowerContext): Set<number> {
  const rank = ctx.inputs[0].shape.length;
  return new Set(rank === 0 ? [] : ((ctx.attrs.axes as number[]) ?? []).map((a) => (a < 0 ? a + rank : a)));
}

const REDUCTIONS: [string, ReduceSpec][] = [
  ['reduceSum', { kind: 'sum' }],
  ['reduceMean', { kind: 'sum', mean: true }],
  ['reduceProd', { kind: 'prod' }],
  ['reduceMax', { kind: 'max' }],
  ['reduceMin', { kind: 'min' }],
];

for (const [op, spec] of REDUCTIONS) {
  registerGpujsKernel(op, (ctx) => {
    const out = ctx.outputs[0];
    return [reduce(ctx, ctx.inputs[0], axesOf(ctx), out.shape, out.dtype, spec)];
  });
}

/** sumToShapeOf(x, like): sums over the dimensions where `like` is 1 or missing. */
registerGpujsKernel('sumToShapeOf', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const offset = x.shape.length - out.shape.length;
  const axes = new Set(x.shape.map((_, d) => d).filter((d) => d < offset || (out.shape[d - offset] === 1 && x.shape[d] !== 1)));
  if (axes.size === 0) return [ctx.alias(x, out.shape)];
  return [reduce(ctx, x, axes, out.shape, out.dtype, { kind: 'sum' })];
});

/** argMax / argMin: index of the first extreme along one axis (the first NaN, if any). */
for (const [op, cmp] of [
  ['argMax', '>'],
  ['argMin', '<'],
] as const) {
  registerGpujsKernel(op, (ctx) => {
    const [x] = ctx.inputs;
    const out = ctx.outputs[0];
    const rank = x.shape.length;
    const a = Number(ctx.attrs.axis);
    const axis = a < 0 ? a + rank : a;
    const dim = x.shape[axis];
    const inner = sizeOf(x.shape.slice(axis + 1));
    return [
      ctx.kernel(out.shape, out.dtype, [x], ([x0]) => {
        let code = `const j = i % ${inner};\nconst o = Math.floor(i / ${inner});\nconst base = o * ${dim * inner} + j;\n`;
        code += `let best = ${x0}[base];\nlet at = 0;\n`;
        code += `for (let k = 1; k < ${dim}; k++) {\nconst v = ${x0}[base + k * ${inner}];\nif ((v ${cmp} best || v !== v) && best === best) {\nbest = v;\nat = k;\n}\n}\n`;
        return `${code}return at;`;
      }),
    ];
  });
}

