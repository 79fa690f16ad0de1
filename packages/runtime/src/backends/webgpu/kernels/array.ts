import { DType, TensorValue, sizeOf, stridesOf } from '@graphc/graph';
import { GpuTensorInfo, KernelPlan, NoGpuKernel, WebGpuKernel, WebGpuKernelContext, WgslDispatch, registerWebGpuKernel, requireDTypes } from '../kernel';
import { f32Lit, flatDispatch, i32Lit, u32Lit } from '../wgsl';
import { elementwiseDispatch, valueType } from './elementwise';

/**
 * Data movement: every output element reads its source element at an index computed from its
 * coordinates (shapes baked in). Values move as raw 32-bit words (f32, i32 and bool alike), so one
 * kernel serves every dtype but float64, whose 8-byte values go through the CPU fallback.
 */

export function movable(ctx: WebGpuKernelContext): void {
  for (const t of [...ctx.inputs, ...ctx.outputs]) if (t.dtype === 'float64') throw new NoGpuKernel('float64 (no 64-bit floats in WGSL)');
}

/** `let c0 = ...; let c1 = ...;` coordinates of flat `i` in `shape`. */
export function coords(i: string, shape: number[], prefix = 'c'): string {
  const strides = stridesOf(shape);
  return shape
    .map((d, k) => {
      const q = strides[k] === 1 ? i : `(${i} / ${u32Lit(strides[k])})`;
      return `let ${prefix}${k} = ${k === 0 ? q : `${q} % ${u32Lit(d)}`};`;
    })
    .join('\n  ');
}

/** The bit pattern of `value` as stored for `dtype` (so a fill is a word store). */
export function wordOf(value: number, dtype: DType): string {
  if (dtype === 'float32') return `bitcast<u32>(${f32Lit(value)})`;
  if (dtype === 'bool') return value ? '1u' : '0u';
  return u32Lit(value | 0);
}

/** One dispatch over the `n` elements of output `out`: `body` assigns `v` (a u32 word) for index `i`. */
export function mapDispatch(n: number, maxPerDim: number, bindings: WgslDispatch['bindings'], body: string, storeAt = 'i'): WgslDispatch {
  return flatDispatch({ n, maxPerDim, bindings, body: `${body}\n  dst[${storeAt}] = v;` });
}

/**
 * The dispatch of a gradient that gathers (WGSL has no float atomics to scatter with): a thread per
 * element `i` of the output, where `acc` (a zero of `type`) sums what `gather` adds from `dy`, the
 * elements the forward op copied element i to, after `setup`; `extra` bindings come between dy and dst.
 */
function gatherGradDispatch(ctx: WebGpuKernelContext, type: string, setup: string, gather: string, extra: WgslDispatch['bindings'] = []): WgslDispatch {
  return flatDispatch({
    n: sizeOf(ctx.outputs[0].shape),
    maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
    bindings: [{ ref: { input: 0 }, name: 'dy', type: `array<${type}>` }, ...extra, { ref: { output: 0 }, name: 'dst', type: `array<${type}>` }],
    body: `${setup}
  var acc = ${type}(0);
  ${gather}
  dst[i] = acc;`,
  });
}

export const src = (k = 0, name = 'src') => ({ ref: { input: k }, name, type: 'array<u32>' });
export const dst = (k = 0, name = 'dst') => ({ ref: { output: k }, name, type: 'array<u32>' });

function single(ctx: WebGpuKernelContext, body: (out: GpuTensorInfo) => string, extra: WgslDispatch['bindings'] = []): KernelPlan {
  movable(ctx);
  const out = ctx.outputs[0];
  return { dispatches: [mapDispatch(sizeOf(out.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [src(), ...extra, dst()], body(out))] };
}

/** Sum of coordinate * stride terms. */
export const offsetOf = (terms: [string, number][]): string => {
  const parts = terms.filter(([, s]) => s !== 0).map(([c, s]) => (s === 1 ? c : `${c} * ${u32Lit(s)}`));
  return parts.length ? parts.join(' + ') : '0u';
};

registerWebGpuKernel('transpose', (ctx) =>
  single(ctx, (out) => {
    const perm = ctx.attrs.perm as number[];
    const inStrides = stridesOf(ctx.inputs[0].shape);
    return `${coords('i', out.shape)}\n  let v = src[${offsetOf(perm.map((p, d) => [`c${d}`, inStrides[p]]))}];`;
  }),
);

registerWebGpuKernel('slice', (ctx) =>
  single(ctx, (out) => {
    const begin = ctx.attrs.begin as number[];
    const inStrides = stridesOf(ctx.inputs[0].shape);
    const base = begin.reduce((s, b, d) => s + b * inStrides[d], 0);
    return `${coords('i', out.shape)}\n  let v = src[${u32Lit(base)} + ${offsetOf(out.shape.map((_, d) => [`c${d}`, inStrides[d]]))}];`;
  }),
);

registerWebGpuKernel('tile', (ctx) =>
  single(ctx, (out) => {
    const x = ctx.inputs[0].shape;
    const inStrides = stridesOf(x);
    return `${coords('i', out.shape)}\n  let v = src[${offsetOf(x.map((d, k) => [d === out.shape[k] ? `c${k}` : `(c${k} % ${u32Lit(d)})`, inStrides[k]]))}];`;
  }),
);

/** Source index along one padded dimension as WGSL (i32), or -1 for constant padding. */
function padSource(j: string, dim: number, before: number, mode: string): string {
  const i = `(i32(${j}) - ${before}i)`;
  if (mode === 'constant') return `select(-1i, ${i}, ${i} >= 0i && ${i} < ${dim}i)`;
  if (mode === 'reflect') return `gc_mirror(${i}, ${dim}i, 0i)`;
  if (mode === 'edge') return `clamp(${i}, 0i, ${dim - 1}i)`;
  if (mode === 'wrap') return `((${i} % ${dim}i) + ${dim}i) % ${dim}i`;
  return `gc_mirror(${i}, ${dim}i, 1i)`;
}

registerWebGpuKernel('pad', (ctx) => {
  const x = ctx.inputs[0];
  const paddings = ctx.attrs.paddings as number[];
  const mode = String(ctx.attrs.mode ?? 'constant');
  const fill = wordOf(Number(ctx.attrs.constantValue ?? 0), x.dtype);
  return single(ctx, (out) => {
    const inStrides = stridesOf(x.shape);
    const lines = [coords('i', out.shape)];
    out.shape.forEach((_, d) => lines.push(`let s${d} = ${padSource(`c${d}`, x.shape[d], paddings[2 * d], mode)};`));
    const inside = out.shape.length ? out.shape.map((_, d) => `s${d} >= 0i`).join(' && ') : 'true';
    const idx = offsetOf(out.shape.map((_, d) => [`u32(s${d})`, inStrides[d]]));
    lines.push(`var v = ${fill};`);
    lines.push(`if (${inside}) { v = src[${idx}]; }`);
    return lines.join('\n  ');
  });
});

registerWebGpuKernel('oneHot', (ctx) => {
  movable(ctx);
  const out = ctx.outputs[0];
  const rank = ctx.inputs[0].shape.length;
  const a = (ctx.attrs.axis as number | undefined) ?? -1;
  const axis = a < 0 ? a + rank + 1 : a;
  const depth = ctx.attrs.depth as number;
  const inner = sizeOf(ctx.inputs[0].shape.slice(axis));
  const on = wordOf(ctx.attrs.onValue as number, out.dtype);
  const off = wordOf(ctx.attrs.offValue as number, out.dtype);
  const body = `let o = i / ${u32Lit(depth * inner)};
  let k = (i / ${u32Lit(inner)}) % ${u32Lit(depth)};
  let j = i % ${u32Lit(inner)};
  let idx = bitcast<i32>(src[o * ${u32Lit(inner)} + j]);
  let v = select(${off}, ${on}, idx == i32(k));`;
  return { dispatches: [mapDispatch(sizeOf(out.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [src(), dst()], body)] };
});

registerWebGpuKernel('fill', (ctx) => {
  movable(ctx);
  const out = ctx.outputs[0];
  const body = `let v = ${wordOf(ctx.attrs.value as number, out.dtype)};`;
  return { dispatches: [mapDispatch(sizeOf(out.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [dst()], body)] };
});

registerWebGpuKernel('range', (ctx) => {
  movable(ctx);
  const out = ctx.outputs[0];
  const start = ctx.attrs.start as number;
  const delta = ctx.attrs.delta as number;
  let body: string;
  if (out.dtype === 'float32') body = `let v = bitcast<u32>(${f32Lit(start)} + f32(i) * ${f32Lit(delta)});`;
  else body = `let v = bitcast<u32>(${i32Lit(start)} + i32(i) * ${i32Lit(delta)});`;
  return { dispatches: [mapDispatch(sizeOf(out.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [dst()], body)] };
});

/**
 * gather: out[o, i..., j] = params[o, indices[i...], j]; negative indices count from the end. An
 * index out of range is an error, checked on the host when the indices are a feed or a constant;
 * computed on the device, such an index reads 0.
 */
registerWebGpuKernel('gather', (ctx) => {
  movable(ctx);
  const [params, indices] = ctx.inputs;
  const rank = params.shape.length;
  const a = (ctx.attrs.axis as number | undefined) ?? 0;
  const axis = a < 0 ? a + rank : a;
  const dim = params.shape[axis];
  const inner = sizeOf(params.shape.slice(axis + 1));
  const n = sizeOf(indices.shape);
  const out = ctx.outputs[0];
  const body = `let o = i / ${u32Lit(n * inner)};
  let r = i % ${u32Lit(n * inner)};
  var idx = bitcast<i32>(ids[r / ${u32Lit(inner)}]);
  if (idx < 0i) { idx += ${dim}i; }
  var v = 0u;
  if (idx >= 0i && idx < ${dim}i) { v = src[(o * ${u32Lit(dim)} + u32(idx)) * ${u32Lit(inner)} + r % ${u32Lit(inner)}]; }`;
  return {
    dispatches: [mapDispatch(sizeOf(out.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [src(0), src(1, 'ids'), dst()], body)],
    hostChecks: [{ input: 1, check: indexCheck(ctx, dim, axis, params.shape) }],
  };
});

function indexCheck(ctx: WebGpuKernelContext, dim: number, axis: number, shape: number[]) {
  return (value: TensorValue): string | null => {
    const d = value.data;
    for (let i = 0; i < d.length; i++) {
      if (d[i] < -dim || d[i] >= dim) {
        return `op '${ctx.node.op}' (node '${ctx.node.name}'): index ${d[i]} (at flat position ${i} of indices '${ctx.node.inputs[1].name}') is out of range [${-dim}, ${dim}) for axis ${axis} of params [${shape.join(', ')}]`;
      }
    }
    return null;
  };
}

/** gatherGrad: each params row sums the dy rows whose index picked it (a loop over the indices per output). */
registerWebGpuKernel('gatherGrad', (ctx) => {
  const [dy, indices, params] = ctx.inputs;
  requireDTypes({ ...ctx, inputs: [dy], outputs: ctx.outputs }, ['float32', 'int32']);
  const type = valueType(dy.dtype);
  const rank = params.shape.length;
  const a = (ctx.attrs.axis as number | undefined) ?? 0;
  const axis = a < 0 ? a + rank : a;
  const dim = params.shape[axis];
  const inner = sizeOf(params.shape.slice(axis + 1));
  const n = sizeOf(indices.shape);
  return {
    dispatches: [
      gatherGradDispatch(
        ctx,
        type,
        `let o = i / ${u32Lit(dim * inner)};
  let row = i32((i / ${u32Lit(inner)}) % ${u32Lit(dim)});
  let j = i % ${u32Lit(inner)};`,
        `for (var k = 0u; k < ${u32Lit(n)}; k++) {
    var idx = ids[k];
    if (idx < 0i) { idx += ${dim}i; }
    if (idx == row) { acc += dy[(o * ${u32Lit(n)} + k) * ${u32Lit(inner)} + j]; }
  }`,
        [{ ref: { input: 1 }, name: 'ids', type: 'array<i32>' }],
      ),
    ],
    hostChecks: [{ input: 1, check: indexCheck(ctx, dim, axis, params.shape) }],
  };
});

/**
 * The blocks concat and split move, over `whole` (concat's output, split's input): a part of
 * `dim` along the axis is a block of dim * inner elements in every row of `row` elements.
 */
function axisBlocks(whole: number[], axisAttr: unknown): { axis: number; inner: number; row: number } {
  const a = axisAttr as number;
  const axis = a < 0 ? a + whole.length : a;
  const inner = sizeOf(whole.slice(axis + 1));
  return { axis, inner, row: whole[axis] * inner };
}

/** concat: one dispatch per input, copying it into its block of the output. */
registerWebGpuKernel('concat', (ctx) => {
  movable(ctx);
  const { axis, inner, row } = axisBlocks(ctx.outputs[0].shape, ctx.attrs.axis);
  let offset = 0;
  const dispatches = ctx.inputs.map((x, k) => {
    const block = x.shape[axis] * inner;
    const d = mapDispatch(
      sizeOf(x.shape),
      ctx.limits.maxComputeWorkgroupsPerDimension,
      [src(k), dst()],
      `let v = src[i];\n  let at = (i / ${u32Lit(Math.max(block, 1))}) * ${u32Lit(row)} + ${u32Lit(offset)} + i % ${u32Lit(Math.max(block, 1))};`,
      'at',
    );
    offset += block;
    return d;
  });
  return { dispatches: dispatches.filter((_, k) => sizeOf(ctx.inputs[k].shape) > 0) };
});

/** split: one dispatch per output, each reading its block of the input. */
registerWebGpuKernel('split', (ctx) => {
  movable(ctx);
  const { axis, inner, row } = axisBlocks(ctx.inputs[0].shape, ctx.attrs.axis);
  let offset = 0;
  const dispatches: WgslDispatch[] = [];
  ctx.outputs.forEach((o, k) => {
    const block = o.shape[axis] * inner;
    if (sizeOf(o.shape) > 0) {
      dispatches.push(
        mapDispatch(
          sizeOf(o.shape),
          ctx.limits.maxComputeWorkgroupsPerDimension,
          [src(), dst(k)],
          `let v = src[(i / ${u32Lit(block)}) * ${u32Lit(row)} + ${u32Lit(offset)} + i % ${u32Lit(block)}];`,
        ),
      );
    }
    offset += block;
  });
  return { dispatches };
});

/** Input 0 broadcast to the output's shape (the elementwise kernel with the identity): broadcastToShapeOf, expand. */
export const broadcastCopy: WebGpuKernel = (ctx) => {
  movable(ctx);
  const [x] = ctx.inputs;
  return {
    dispatches: [
      elementwiseDispatch(
        { inputs: [x], statements: [{ op: 'identity', attrs: {}, args: [{ input: 0 }], dtype: x.dtype }], output: ctx.outputs[0] },
        ctx.limits.maxComputeWorkgroupsPerDimension,
      ),
    ],
  };
};

registerWebGpuKernel('broadcastToShapeOf', broadcastCopy);

/** sliceGrad(dy, x): dy inside the sliced block, 0 elsewhere. */
registerWebGpuKernel('sliceGrad', (ctx) => {
  movable(ctx);
  const dy = ctx.inputs[0];
  const begin = ctx.attrs.begin as number[];
  const out = ctx.outputs[0];
  const dyStrides = stridesOf(dy.shape);
  const inside = out.shape.map((_, d) => `c${d} >= ${u32Lit(begin[d])} && c${d} < ${u32Lit(begin[d] + dy.shape[d])}`).join(' && ') || 'true';
  const idx = offsetOf(out.shape.map((_, d) => [`(c${d} - ${u32Lit(begin[d])})`, dyStrides[d]]));
  const body = `${coords('i', out.shape)}\n  var v = 0u;\n  if (${inside}) { v = src[${idx}]; }`;
  return { dispatches: [mapDispatch(sizeOf(out.shape), ctx.limits.maxComputeWorkgroupsPerDimension, [src(), dst()], body)] };
});

/**
 * tileGrad(dy, x) and padGrad(dy, x): each x element sums the dy elements the forward op copied it
 * to: every repeat for tile; for pad the interior position and, for reflect/symmetric, its mirror
 * images (at most three candidates per dimension, each checked to map back to it); for edge, a
 * first or last element also every padding position before or after it (one run per dimension);
 * for wrap, every position dim apart from its own.
 */
registerWebGpuKernel('tileGrad', (ctx) => {
  const [dy] = ctx.inputs;
  requireDTypes({ ...ctx, inputs: [dy] }, ['float32', 'int32']);
  const type = valueType(dy.dtype);
  const out = ctx.outputs[0];
  const multiples = ctx.attrs.multiples as number[];
  const dyStrides = stridesOf(dy.shape);
  const loops: string[] = [];
  const close: string[] = [];
  out.shape.forEach((d, k) => {
    loops.push(`for (var m${k} = 0u; m${k} < ${u32Lit(multiples[k])}; m${k}++) {`);
    close.push('}');
  });
  const idx = offsetOf(out.shape.map((d, k) => [`(c${k} + m${k} * ${u32Lit(d)})`, dyStrides[k]]));
  return { dispatches: [gatherGradDispatch(ctx, type, coords('i', out.shape), `${loops.join(' ')} acc += dy[${idx}]; ${close.join(' ')}`)] };
});

registerWebGpuKernel('padGrad', (ctx) => {
  const [dy] = ctx.inputs;
  requireDTypes({ ...ctx, inputs: [dy] }, ['float32', 'int32']);
  const type = valueType(dy.dtype);
  const out = ctx.outputs[0];
  const paddings = ctx.attrs.paddings as number[];
  const mode = String(ctx.attrs.mode ?? 'constant');
  const dyStrides = stridesOf(dy.shape);
  const loops: string[] = [];
  const close: string[] = [];
  out.shape.forEach((d, k) => {
    const b = paddings[2 * k];
    const total = dy.shape[k];
    const c = `i32(c${k})`;
    if (mode === 'edge') {
      const first = `select(${c} + ${b}i, 0i, ${c} == 0i)`;
      const end = `select(${c} + ${b + 1}i, ${total}i, ${c} == ${d - 1}i)`;
      loops.push(`for (var j${k} = ${first}; j${k} < ${end}; j${k}++) {`);
      close.push('}');
      return;
    }
    if (mode === 'wrap') {
      loops.push(`for (var j${k} = (${c} + ${b}i) % ${d}i; j${k} < ${total}i; j${k} += ${d}i) {`);
      close.push('}');
      return;
    }
    // dy positions whose source is c: the interior one, and for reflect/symmetric its mirror images
    const cands =
      mode === 'constant' ? [`${c} + ${b}i`] : mode === 'reflect' ? [`${c} + ${b}i`, `${b}i - ${c}`, `${b + 2 * (d - 1)}i - ${c}`] : [`${c} + ${b}i`, `${b - 1}i - ${c}`, `${b + 2 * d - 1}i - ${c}`];
    loops.push(`let cand${k} = array<i32, ${cands.length}>(${cands.join(', ')});`);
    loops.push(`for (var q${k} = 0u; q${k} < ${cands.length}u; q${k}++) {`);
    loops.push(`let j${k} = cand${k}[q${k}];`);
    loops.push(`if (j${k} >= 0i && j${k} < ${total}i && (q${k} == 0u || j${k} != cand${k}[0]) && ${padSource(`u32(j${k})`, d, b, mode)} == ${c}) {`);
    close.push('} }');
  });
  const idx = offsetOf(out.shape.map((_, k) => [`u32(j${k})`, dyStrides[k]]));
  return { dispatches: [gatherGradDispatch(ctx, type, coords('i', out.shape), `${loops.join('\n  ')}\n  acc += dy[${idx}];\n  ${close.join(' ')}`)] };
});
