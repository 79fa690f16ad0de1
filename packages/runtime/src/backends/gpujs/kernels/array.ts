import { sizeOf, stridesOf } from '@graphc/graph';
import { floatLit } from '../helpers';
import { LowerContext, TensorRef, broadcastRead, coordinates, registerGpujsKernel } from '../program';

/**
 * Array ops as index arithmetic: each output element finds its source element from its own
 * coordinates (a gather), so every op is one kernel with no scatter and no atomics.
 */

/** Input flat index from per-dimension input coordinate expressions. */
function flatIndex(coords: string[], shape: number[]): string {
  const strides = stridesOf(shape);
  const terms = coords.map((c, d) => (shape[d] === 1 ? '' : strides[d] === 1 ? `${c}` : `(${c}) * ${strides[d]}`)).filter((t) => t);
  return terms.length ? terms.join(' + ') : '0';
}

/** A kernel where output coordinates `o0..` map to an input element by `source(oNames) -> index`. */
function gatherKernel(ctx: LowerContext, x: TensorRef, outShape: number[], source: (o: string[]) => { code: string; index: string }): TensorRef {
  return ctx.kernel(outShape, ctx.outputs[0].dtype, [x], ([x0]) => {
    const c = coordinates(outShape, 'i', 'o');
    const s = source(c.names);
    return `${c.code}${s.code}return ${x0}[${s.index}];`;
  });
}

registerGpujsKernel('transpose', (ctx) => {
  const [x] = ctx.inputs;
  const perm = ctx.attrs.perm as number[];
  const out = ctx.outputs[0].shape;
  const inCoords = new Array<string>(perm.length);
  return [
    gatherKernel(ctx, x, out, (o) => {
      perm.forEach((p, d) => (inCoords[p] = o[d]));
      return { code: '', index: flatIndex(inCoords, x.shape) };
    }),
  ];
});

function sliceOf(ctx: LowerContext, x: TensorRef, begin: number[], outShape: number[]): TensorRef {
  if (sizeOf(outShape) === sizeOf(x.shape)) return ctx.alias(x, outShape);
  return gatherKernel(ctx, x, outShape, (o) => ({ code: '', index: flatIndex(o.map((c, d) => (begin[d] ? `${c} + ${begin[d]}` : c)), x.shape) }));
}

registerGpujsKernel('slice', (ctx) => [sliceOf(ctx, ctx.inputs[0], ctx.attrs.begin as number[], ctx.outputs[0].shape)]);

registerGpujsKernel('split', (ctx) => {
  const [x] = ctx.inputs;
  const rank = x.shape.length;
  const a = Number(ctx.attrs.axis);
  const axis = a < 0 ? a + rank : a;
  let offset = 0;
  return ctx.outputs.map((o) => {
    const begin = x.shape.map((_, d) => (d === axis ? offset : 0));
    offset += o.shape[axis];
    return sliceOf(ctx, x, begin, o.shape);
  });
});

registerGpujsKernel('tile', (ctx) => {
  const [x] = ctx.inputs;
  return [gatherKernel(ctx, x, ctx.outputs[0].shape, (o) => ({ code: '', index: flatIndex(o.map((c, d) => (x.shape[d] === 1 ? '0' : `${c} % ${x.shape[d]}`)), x.shape) }))];
});

registerGpujsKernel('broadcastToShapeOf', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  return [
    ctx.kernel(out.shape, out.dtype, [x], ([x0]) => {
      const r = broadcastRead(x.shape, out.shape);
      return `${r.code}return ${x0}[${r.index}];`;
    }),
  ];
});

registerGpujsKernel('pad', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const p = ctx.attrs.paddings as number[];
  const mode = String(ctx.attrs.mode ?? 'constant');
  const value = floatLit(Number(ctx.attrs.constantValue ?? 0));
  return [
    ctx.kernel(out.shape, out.dtype, [x], ([x0]) => {
      const c = coordinates(out.shape, 'i', 'o');
      let code = c.code;
      const inCoords: string[] = [];
      const outside: string[] = [];
      x.shape.forEach((dim, d) => {
        const before = p[2 * d];
        const j = `j${d}`;
        code += `let ${j} = ${c.names[d]} - ${before};\n`;
        if (mode === 'constant') outside.push(`${j} < 0 || ${j} >= ${dim}`);
        else if (mode === 'edge') code += `${j} = Math.min(Math.max(${j}, 0), ${dim - 1});\n`;
        else if (mode === 'wrap') code += `${j} = ((${j} % ${dim}) + ${dim}) % ${dim};\n`;
        else {
          const low = mode === 'reflect' ? `-${j}` : `-${j} - 1`;
          const high = mode === 'reflect' ? `${2 * dim - 2} - ${j}` : `${2 * dim - 1} - ${j}`;
          code += `if (${j} < 0) {\n${j} = ${low};\n}\nif (${j} >= ${dim}) {\n${j} = ${high};\n}\n`;
        }
        inCoords.push(j);
      });
      if (outside.length) code += `if (${outside.join(' || ')}) {\nreturn ${value};\n}\n`;
      return `${code}return ${x0}[${flatIndex(inCoords, x.shape)}];`;
    }),
  ];
});

/** concat of at most this many inputs per kernel: WebGPU allows few storage buffers per shader. */
const CONCAT_GROUP = 6;

function concatKernel(ctx: LowerContext, inputs: TensorRef[], axis: number, outShape: number[]): TensorRef {
  return ctx.kernel(outShape, ctx.outputs[0].dtype, inputs, (names) => {
    const c = coordinates(outShape, 'i', 'o');
    let code = c.code;
    let offset = 0;
    inputs.forEach((t, k) => {
      const coords = c.names.map((n, d) => (d === axis ? (offset ? `${n} - ${offset}` : n) : n));
      offset += t.shape[axis];
      const read = `return ${names[k]}[${flatIndex(coords, t.shape)}];`;
      code += k === inputs.length - 1 ? `${read}` : `if (${c.names[axis]} < ${offset}) {\n${read}\n}\n`;
    });
    return code;
  });
}

registerGpujsKernel('concat', (ctx) => {
  const rank = ctx.inputs[0].shape.length;
  const a = Number(ctx.attrs.axis);
  const axis = a < 0 ? a + rank : a;
  let parts = ctx.inputs.filter((t) => sizeOf(t.shape) > 0);
  const out = ctx.outputs[0];
  if (parts.length === 0) return [ctx.constant([], out.shape, out.dtype)];
  if (parts.length === 1) return [ctx.alias(parts[0], out.shape)];
  while (parts.length > CONCAT_GROUP) {
    const next: TensorRef[] = [];
    for (let k = 0; k < parts.length; k += CONCAT_GROUP) {
      const group = parts.slice(k, k + CONCAT_GROUP);
      const shape = [...group[0].shape];
      shape[axis] = group.reduce((s, t) => s + t.shape[axis], 0);
      next.push(group.length === 1 ? group[0] : concatKernel(ctx, group, axis, shape));
    }
    parts = next;
  }
  return [concatKernel(ctx, parts, axis, out.shape)];
});

/**
 * The index geometry gather and gatherGrad share: gather's output (gatherGrad's dy) is
 * [outer..., indices..., inner...] over params [outer..., dim, inner...], with the axis from attr
 * `axis` (negative from the end). `dim` is the gathered axis' length, `inner` the size of the
 * dimensions after it, `count` the number of indices.
 */
export function gatherGeometry(ctx: LowerContext, paramsShape: number[], indicesShape: number[]): { dim: number; inner: number; count: number } {
  const a = Number(ctx.attrs.axis ?? 0);
  const axis = a < 0 ? a + paramsShape.length : a;
  return { dim: paramsShape[axis], inner: sizeOf(paramsShape.slice(axis + 1)), count: sizeOf(indicesShape) };
}

registerGpujsKernel('gather', (ctx) => {
  const [params, indices] = ctx.inputs;
  const out = ctx.outputs[0];
  const { dim, inner, count } = gatherGeometry(ctx, params.shape, indices.shape);
  return [
    ctx.kernel(out.shape, out.dtype, [params, indices], ([p, idx]) => {
      // output = [outer..., indices..., inner...]: flat = (o * count + n) * inner + j
      let code = `const j = i % ${inner};\nconst n = Math.floor(i / ${inner}) % ${count};\nconst o = Math.floor(i / ${inner * count});\n`;
      // negative indices count from the end; out-of-range ones (an error on the cpu backend) clamp
      code += `let v = Math.floor(${idx}[n] + 0.5);\nif (v < 0) {\nv = v + ${dim};\n}\nv = Math.min(Math.max(v, 0), ${dim - 1});\n`;
      return `${code}return ${p}[(o * ${dim} + v) * ${inner} + j];`;
    }),
  ];
});

registerGpujsKernel('oneHot', (ctx) => {
  const [indices] = ctx.inputs;
  const out = ctx.outputs[0];
  const depth = Number(ctx.attrs.depth);
  const a = Number(ctx.attrs.axis ?? -1);
  const axis = a < 0 ? a + out.shape.length : a;
  const inner = sizeOf(out.shape.slice(axis + 1));
  const on = floatLit(Number(ctx.attrs.onValue ?? 1));
  const off = floatLit(Number(ctx.attrs.offValue ?? 0));
  return [
    ctx.kernel(out.shape, out.dtype, [indices], ([idx]) => {
      const code = `const j = i % ${inner};\nconst d = Math.floor(i / ${inner}) % ${depth};\nconst o = Math.floor(i / ${inner * depth});\n`;
      return `${code}const v = Math.floor(${idx}[o * ${inner} + j] + 0.5);\nif (v === d) {\nreturn ${on};\n}\nreturn ${off};`;
    }),
  ];
});

registerGpujsKernel('fill', (ctx) => {
  const out = ctx.outputs[0];
  return [ctx.kernel(out.shape, out.dtype, [], () => `return ${floatLit(Number(ctx.attrs.value))};`)];
});

registerGpujsKernel('range', (ctx) => {
  const out = ctx.outputs[0];
  const start = floatLit(Number(ctx.attrs.start));
  const delta = floatLit(Number(ctx.attrs.delta));
  return [ctx.kernel(out.shape, out.dtype, [], () => `return ${start} + i * ${delta};`)];
});

