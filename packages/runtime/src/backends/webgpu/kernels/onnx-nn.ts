import { TensorValue, ops, resizeDimensions, sizeOf, stridesOf } from '@graphc/graph';
import { KernelPlan, NoGpuKernel, WebGpuKernelContext, WgslBinding, WgslDispatch, registerWebGpuKernel, requireDTypes } from '../kernel';
import { broadcastIndex, collapseBroadcast, f32Lit, flatDispatch, i32Lit, u32Lit } from '../wgsl';
import { valueType } from './elementwise';
import { GemmEpilogue, GemmOperand, gemmDispatch, gemmOutputType, gemmTarget, matrixOperand } from './gemm';

type NchwWindow = ReturnType<typeof ops.nchwWindow>;

/**
 * The channels-first (ONNX layout) nn ops: N-d convolution and transposed convolution (implicit
 * GEMM per image and group, or direct when a group has few output channels, as depthwise ones do),
 * the N-d pools, lrn, layerNorm, nllLoss and resize. Window geometry comes from the same
 * `ops.nchwWindow` the CPU kernels and shape inference use, so pads, autoPad, dilations and ceilMode
 * agree by construction.
 */
const WG = 256;
const U = u32Lit;
const I = i32Lit;

const where = (ctx: WebGpuKernelContext): string => `op '${ctx.node.op}' (node '${ctx.node.name}'): `;

/**
 * WGSL fn `<name>(p: u32, t: u32) -> i32`: the flat offset into one channel of the input that
 * output position p reads at kernel tap t, or -1 in the padding. Forward windows read
 * o * stride - padBegin + t * dilation; transposed ones the input position i with
 * i * stride - padBegin + t * dilation = o.
 */
function windowFn(name: string, geo: NchwWindow, inSpatial: number[], outSpatial: number[], transposed: boolean): string {
  const s = inSpatial.length;
  const outStrides = stridesOf(outSpatial);
  const kStrides = stridesOf(geo.kernel);
  const inStrides = stridesOf(inSpatial);
  const lines: string[] = ['var off = 0i;'];
  for (let d = 0; d < s; d++) {
    const o = `((p / ${U(outStrides[d])}) % ${U(outSpatial[d])})`;
    const t = `((t / ${U(kStrides[d])}) % ${U(geo.kernel[d])})`;
    if (!transposed) {
      lines.push(`let i${d} = i32(${o} * ${U(geo.strides[d])} + ${t} * ${U(geo.dilations[d])}) - ${I(geo.padsBegin[d])};`);
      lines.push(`if (i${d} < 0i || i${d} >= ${I(inSpatial[d])}) { return -1i; }`);
      lines.push(`off += i${d} * ${I(inStrides[d])};`);
    } else {
      lines.push(`let r${d} = i32(${o}) + ${I(geo.padsBegin[d])} - i32(${t} * ${U(geo.dilations[d])});`);
      lines.push(`if (r${d} < 0i || r${d} % ${I(geo.strides[d])} != 0i) { return -1i; }`);
      lines.push(`let i${d} = r${d} / ${I(geo.strides[d])};`);
      lines.push(`if (i${d} >= ${I(inSpatial[d])}) { return -1i; }`);
      lines.push(`off += i${d} * ${I(inStrides[d])};`);
    }
  }
  lines.push('return off;');
  return `
fn ${name}(p: u32, t: u32) -> i32 {
  ${lines.join('\n  ')}
}`;
}

interface ConvShape {
  N: number;
  C: number;
  M: number;
  group: number;
  Cg: number;
  Mg: number;
  K: number;
  inSize: number;
  P: number;
  geo: NchwWindow;
  spatial: number[];
  outSpatial: number[];
}

function convShape(ctx: WebGpuKernelContext, transposed: boolean): ConvShape {
  const [x, w] = ctx.inputs;
  const [N, C, ...spatial] = x.shape;
  const group = Number(ctx.attrs.group ?? 1);
  const kernel = w.shape.slice(2);
  const geo = transposed ? ops.nchwTransposeWindow(spatial, kernel, ctx.attrs, where(ctx)) : ops.nchwWindow(spatial, kernel, ctx.attrs, where(ctx));
  const outSpatial = geo.out as number[];
  if (transposed) {
    const Mg = w.shape[1];
    if (C !== w.shape[0] || C % group !== 0) throw new NoGpuKernel('input does not fit the weights (the cpu kernel reports it)');
    return { N, C, M: Mg * group, group, Cg: C / group, Mg, K: sizeOf(kernel), inSize: sizeOf(spatial), P: sizeOf(outSpatial), geo, spatial, outSpatial };
  }
  const M = w.shape[0];
  const Cg = w.shape[1];
  if (C !== Cg * group || M % group !== 0) throw new NoGpuKernel('input does not fit the weights (the cpu kernel reports it)');
  return { N, C, M, group, Cg, Mg: M / group, K: sizeOf(kernel), inSize: sizeOf(spatial), P: sizeOf(outSpatial), geo, spatial, outSpatial };
}

/** Groups with at most this many output channels run direct: a GEMM tile would be mostly idle rows. */
const DIRECT_MAX_MG = 4;

/**
 * convNchw / convTransposeNchw. As GEMM, batch entry bz = (image, group) computes the
 * [Mg x P] block of the output at offset bz * Mg * P (the NCHW output itself): convNchw multiplies
 * W_g [Mg x Cg*K] by the gathered im2col matrix [Cg*K x P]; the transposed convolution multiplies
 * W_g read as [Mg x Cg*K] by the matrix whose (c, tap) row holds, for each output position, the
 * input element that reaches it through that tap (0 where none does). Bias is the epilogue.
 */
function convPlan(ctx: WebGpuKernelContext, transposed: boolean): KernelPlan {
  requireDTypes(ctx, ['float32']);
  const s = convShape(ctx, transposed);
  const { N, C, M, group, Cg, Mg, K, inSize, P } = s;
  const hasBias = ctx.inputs.length > 2;
  const total = N * M * P;
  if (total === 0) return { dispatches: [] };
  // input position p of the window fn is the output position; the channel's input is `inSize` long
  const win = windowFn('winAt', s.geo, s.spatial, s.outSpatial, transposed);
  const wIndex = (m: string, c: string, t: string, g: string): string =>
    transposed ? `((${g} * ${U(Cg)} + ${c}) * ${U(Mg)} + ${m}) * ${U(K)} + ${t}` : `((${g} * ${U(Mg)} + ${m}) * ${U(Cg)} + ${c}) * ${U(K)} + ${t}`;
  const direct = (): KernelPlan => {
    const bindings: WgslBinding[] = [
      { ref: { input: 0 }, name: 'X', type: 'array<f32>' },
      { ref: { input: 1 }, name: 'W', type: 'array<f32>' },
      ...(hasBias ? [{ ref: { input: 2 }, name: 'bias', type: 'array<f32>' }] : []),
      { ref: { output: 0 }, name: 'Y', type: 'array<f32>' },
    ];
    const body = `let p = i % ${U(P)};
  let mo = (i / ${U(P)}) % ${U(M)};
  let n = i / ${U(P * M)};
  let g = mo / ${U(Mg)};
  let m = mo % ${U(Mg)};
  var acc = 0.0;
  for (var t = 0u; t < ${U(K)}; t++) {
    let off = winAt(p, t);
    if (off < 0i) { continue; }
    for (var c = 0u; c < ${U(Cg)}; c++) {
      acc += X[(n * ${U(C)} + g * ${U(Cg)} + c) * ${U(inSize)} + u32(off)] * W[${wIndex('m', 'c', 't', 'g')}];
    }
  }
  Y[i] = acc${hasBias ? ' + bias[mo]' : ''};`;
    return { dispatches: [flatDispatch({ n: total, maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, bindings, decls: win, body })] };
  };
  if (Mg <= DIRECT_MAX_MG || Cg * K < 4) return direct();
  const rows = Cg * K;
  const a: GemmOperand = transposed
    ? {
        binding: { ref: { input: 1 }, name: 'W', type: 'array<f32>' },
        vecDim: 'col',
        load1: (r, c, b) => `W[${wIndex(r, `((${c}) / ${U(K)})`, `((${c}) % ${U(K)})`, `((${b}) % ${U(group)})`)}]`,
      }
    : matrixOperand('W', 1, Mg, rows, false, (b) => `((${b}) % ${U(group)}) * ${U(Mg * rows)}`);
  const b: GemmOperand = {
    binding: { ref: { input: 0 }, name: 'X', type: 'array<f32>' },
    vecDim: 'col',
    load1: (r, c, bz) => `colAt(${r}, ${c}, ${bz})`,
    helpers: `${win}
fn colAt(k: u32, p: u32, bz: u32) -> f32 {
  let off = winAt(p, k % ${U(K)});
  if (off < 0i) { return 0.0; }
  return X[((bz / ${U(group)}) * ${U(C)} + (bz % ${U(group)}) * ${U(Cg)} + k / ${U(K)}) * ${U(inSize)} + u32(off)];
}`,
  };
  const epilogue: GemmEpilogue | undefined = hasBias
    ? {
        bindings: [{ ref: { input: 2 }, name: 'bias', type: 'array<f32>' }],
        apply: (v, flat) => ({ lines: [], result: `(${v} + bias[((${flat}) / ${U(P)}) % ${U(M)}])` }),
      }
    : undefined;
  try {
    return {
      dispatches: [
        gemmDispatch({
          m: Mg,
          n: P,
          k: rows,
          batch: N * group,
          a,
          b,
          epilogue,
          out: { ref: { output: 0 }, name: 'Y', type: gemmOutputType(P) },
          target: gemmTarget(ctx),
        }),
      ],
    };
  } catch (err) {
    // a GEMM grid past the device's limits (N * group batch entries): direct covers it
    if (!(err instanceof NoGpuKernel)) throw err;
    return direct();
  }
}

registerWebGpuKernel('convNchw', (ctx) => convPlan(ctx, false));
registerWebGpuKernel('convTransposeNchw', (ctx) => convPlan(ctx, true));

/**
 * The N-d pools: a thread per output visits its window tap by tap as the CPU kernel does. Taps in
 * the input take part; taps in the declared padding count for the mean with countIncludePad; taps
 * beyond it (from ceilMode) never count.
 */
function poolPlan(ctx: WebGpuKernelContext, kind: 'max' | 'avg' | 'lp'): KernelPlan {
  const x = ctx.inputs[0];
  const [N, C, ...spatial] = x.shape;
  const geo = ops.nchwWindow(spatial, ctx.attrs.kernel as number[], ctx.attrs, where(ctx));
  const outSpatial = geo.out as number[];
  const s = spatial.length;
  const P = sizeOf(outSpatial);
  const K = sizeOf(geo.kernel);
  const inSize = sizeOf(spatial);
  const total = N * C * P;
  const withIndices = kind === 'max' && ctx.attrs.withIndices === true;
  const type = valueType(x.dtype);
  if (kind !== 'max' || x.dtype === 'float32') requireDTypes({ ...ctx, outputs: [ctx.outputs[0]] }, ['float32']);
  else {
    requireDTypes({ ...ctx, outputs: [ctx.outputs[0]] }, ['int32', 'int64']);
    // an empty window's max is -Infinity, which an int32 store turns into 0 and int64 cannot hold on the device
    const empty = outSpatial.some((o, d) => {
      for (let p = 0; p < o; p++) {
        let inside = false;
        for (let t = 0; t < geo.kernel[d]; t++) {
          const c = p * geo.strides[d] - geo.padsBegin[d] + t * geo.dilations[d];
          if (c >= 0 && c < spatial[d]) inside = true;
        }
        if (!inside) return true;
      }
      return false;
    });
    if (empty && x.dtype === 'int64') throw new NoGpuKernel('an int64 max over a window entirely in the padding (-Infinity)');
  }
  if (total === 0) return { dispatches: [] };
  const outStrides = stridesOf(outSpatial);
  const kStrides = stridesOf(geo.kernel);
  const inStrides = stridesOf(spatial);
  const colMajor = ctx.attrs.storageOrder === 1;
  const reportStrides = colMajor ? spatial.map((_, d) => sizeOf(spatial.slice(0, d))) : inStrides;
  const tap: string[] = [];
  for (let d = 0; d < s; d++) {
    tap.push(`let c${d} = i32(((p / ${U(outStrides[d])}) % ${U(outSpatial[d])}) * ${U(geo.strides[d])} + ((t / ${U(kStrides[d])}) % ${U(geo.kernel[d])}) * ${U(geo.dilations[d])}) - ${I(geo.padsBegin[d])};`);
  }
  const insideCond = spatial.map((n, d) => `c${d} >= 0i && c${d} < ${I(n)}`).join(' && ');
  const withinCond = spatial.map((n, d) => `c${d} >= ${I(-geo.padsBegin[d])} && c${d} < ${I(n + geo.padsEnd[d])}`).join(' && ');
  const offset = spatial.map((_, d) => `c${d} * ${I(inStrides[d])}`).join(' + ');
  const reported = spatial.map((_, d) => `c${d} * ${I(reportStrides[d])}`).join(' + ');
  let init: string;
  let step: string;
  let finish: string;
  if (kind === 'max') {
    const float = x.dtype === 'float32';
    init = `var best = ${float ? '-gc_inf()' : '0i'}; var found = false; var at = 0i; var first = true;`;
    step = float
      ? `let v = X[base + u32(${offset})];
      if (first) { at = ${reported}; first = false; }
      if (v > best || gc_isnan(v)) { best = v; at = ${reported}; if (gc_isnan(v)) { break; } }`
      : `let v = X[base + u32(${offset})];
      if (first) { at = ${reported}; first = false; best = v; }
      if (v > best) { best = v; at = ${reported}; }`;
    finish = `Y[i] = best;${withIndices ? `\n  IDX[i] = i32(nc * ${U(inSize)}) + at;` : ''}`;
  } else if (kind === 'avg') {
    const includePad = ctx.attrs.countIncludePad === true;
    init = 'var sum = 0.0; var count = 0u;';
    step = `sum += X[base + u32(${offset})]; count++;`;
    finish = `let n = f32(count${includePad ? ' + padded' : ''});
  Y[i] = select(sum / n, gc_nan(), n == 0.0);`;
  } else {
    const p = Number(ctx.attrs.p ?? 2);
    init = 'var sum = 0.0;';
    step = `sum += gc_pow(abs(X[base + u32(${offset})]), ${f32Lit(p)});`;
    finish = `Y[i] = gc_pow(sum, ${f32Lit(1 / p)});`;
  }
  const body = `let p = i % ${U(P)};
  let nc = i / ${U(P)};
  let base = nc * ${U(inSize)};
  var padded = 0u;
  ${init}
  for (var t = 0u; t < ${U(K)}; t++) {
    ${tap.join('\n    ')}
    if (${insideCond}) {
      ${step}
    } else if (${withinCond}) { padded++; }
  }
  ${finish}`;
  const bindings: WgslBinding[] = [
    { ref: { input: 0 }, name: 'X', type: `array<${type}>` },
    { ref: { output: 0 }, name: 'Y', type: `array<${type}>` },
  ];
  if (withIndices) bindings.push({ ref: { output: 1 }, name: 'IDX', type: 'array<i32>' });
  return { dispatches: [flatDispatch({ n: total, maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, bindings, body })] };
}

registerWebGpuKernel('maxPoolNchw', (ctx) => poolPlan(ctx, 'max'));
registerWebGpuKernel('avgPoolNchw', (ctx) => poolPlan(ctx, 'avg'));
registerWebGpuKernel('lpPoolNchw', (ctx) => poolPlan(ctx, 'lp'));

/** lrnNchw: each value over (bias + alpha / size * the sum of squares of its channel neighbourhood)^beta. */
registerWebGpuKernel('lrnNchw', (ctx) => {
  requireDTypes(ctx, ['float32']);
  const x = ctx.inputs[0];
  const [N, C] = x.shape;
  const inner = sizeOf(x.shape.slice(2));
  const size = Number(ctx.attrs.size);
  const alpha = Number(ctx.attrs.alpha ?? 1e-4);
  const beta = Number(ctx.attrs.beta ?? 0.75);
  const bias = Number(ctx.attrs.bias ?? 1);
  const lo = Math.floor((size - 1) / 2);
  const hi = Math.ceil((size - 1) / 2);
  const total = N * C * inner;
  if (total === 0) return { dispatches: [] };
  const body = `let r = i % ${U(inner)};
  let c = i32((i / ${U(inner)}) % ${U(C)});
  let base = (i / ${U(inner * C)}) * ${U(C * inner)} + r;
  var sq = 0.0;
  for (var k = max(0i, c - ${I(lo)}); k <= min(${I(C - 1)}, c + ${I(hi)}); k++) {
    let v = X[base + u32(k) * ${U(inner)}];
    sq += v * v;
  }
  Y[i] = X[i] / gc_pow(${f32Lit(bias)} + ${f32Lit(alpha / size)} * sq, ${f32Lit(beta)});`;
  return {
    dispatches: [
      flatDispatch({
        n: total,
        maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
        bindings: [
          { ref: { input: 0 }, name: 'X', type: 'array<f32>' },
          { ref: { output: 0 }, name: 'Y', type: 'array<f32>' },
        ],
        body,
      }),
    ],
  };
});

/** Rows at least this long get a workgroup each (trees in workgroup memory); shorter ones a thread. */
const TREE_MIN = 128;

/**
 * layerNorm: per row (the block from `axis` on) the mean, then the mean squared deviation (two passes,
 * as the CPU kernel), then Y = (x - mean) * inv * scale (+ bias), with Mean and InvStdDev as outputs.
 * rmsNorm: the same with a mean of 0 (no first pass), Y and InvStdDev.
 */
function normalizeKernel(rms: boolean): (ctx: WebGpuKernelContext) => KernelPlan {
  return (ctx) => {
    requireDTypes(ctx, ['float32']);
    const [x, scale, bias] = ctx.inputs;
    const rank = x.shape.length;
    const a = Number(ctx.attrs.axis ?? -1);
    const axis = a < 0 ? a + rank : a;
    const eps = Number(ctx.attrs.epsilon ?? 1e-5);
    const block = x.shape.slice(axis);
    const len = sizeOf(block);
    const rows = sizeOf(x.shape.slice(0, axis));
    if (rows === 0) return { dispatches: [] };
    const params = [scale, ...(bias ? [bias] : [])];
    const merged = collapseBroadcast(block, params.map((p) => p.shape));
    const pIndex = params.map((_, k) => broadcastIndex('k', merged.shape, merged.strides[k]));
    const yOf = `(x[base + k] - mean) * inv * scale[${pIndex[0]}]${bias ? ` + bias[${pIndex[1]}]` : ''}`;
    const bindings: WgslBinding[] = [
      { ref: { input: 0 }, name: 'x', type: 'array<f32>' },
      { ref: { input: 1 }, name: 'scale', type: 'array<f32>' },
      ...(bias ? [{ ref: { input: 2 }, name: 'bias', type: 'array<f32>' }] : []),
      { ref: { output: 0 }, name: 'y', type: 'array<f32>' },
      ...(rms ? [] : [{ ref: { output: 1 }, name: 'meanOut', type: 'array<f32>' }]),
      { ref: { output: rms ? 1 : 2 }, name: 'invOut', type: 'array<f32>' },
    ];
    const finishStats = `let inv = 1.0 / sqrt(sq / ${f32Lit(len)} + ${f32Lit(eps)});`;
    if (len < TREE_MIN) {
      const mean = rms
        ? 'let mean = 0.0;'
        : `var sum = 0.0;
  for (var k = 0u; k < ${U(len)}; k++) { sum += x[base + k]; }
  let mean = sum / ${f32Lit(len)};
  meanOut[row] = mean;`;
      const body = `let base = row * ${U(len)};
  ${mean}
  var sq = 0.0;
  for (var k = 0u; k < ${U(len)}; k++) { let c = x[base + k] - mean; sq += c * c; }
  ${finishStats}
  invOut[row] = inv;
  for (var k = 0u; k < ${U(len)}; k++) { y[base + k] = ${yOf}; }`;
      return { dispatches: [flatDispatch({ n: rows, maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, index: 'row', bindings, body })] };
    }
    const ry = Math.min(rows, ctx.limits.maxComputeWorkgroupsPerDimension);
    const rz = Math.ceil(rows / ry);
    const mean = rms
      ? 'let mean = 0.0;'
      : `var part = 0.0;
  if (valid) { for (var k = tid; k < ${U(len)}; k += ${WG}u) { part += x[base + k]; } }
  let mean = treeSum(tid, part) / ${f32Lit(len)};`;
    const body = `
var<workgroup> red: array<f32, ${WG}>;
fn treeSum(tid: u32, v: f32) -> f32 {
  red[tid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (tid < s) { red[tid] = red[tid] + red[tid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.x + wid.y * ${U(ry)};
  let valid = row < ${U(rows)};
  let base = row * ${U(len)};
  ${mean}
  var dev = 0.0;
  if (valid) { for (var k = tid; k < ${U(len)}; k += ${WG}u) { let c = x[base + k] - mean; dev += c * c; } }
  let sq = treeSum(tid, dev);
  ${finishStats}
  if (valid) {
    if (tid == 0u) { ${rms ? '' : 'meanOut[row] = mean; '}invOut[row] = inv; }
    for (var k = tid; k < ${U(len)}; k += ${WG}u) { y[base + k] = ${yOf}; }
  }
}`;
    return { dispatches: [{ bindings, body, workgroups: [ry, rz, 1] }] };
  };
}

registerWebGpuKernel('layerNorm', normalizeKernel(false));
registerWebGpuKernel('rmsNorm', normalizeKernel(true));

/**
 * nllLoss: per element -input[n, target, d] * weight[target] (0 for ignoreIndex; NaN for a target
 * out of range computed on the device: a fed or constant one is the CPU's error, raised on the host).
 * 'sum' and 'mean' fold every element (and, for the mean, the weights) in one workgroup's tree.
 */
registerWebGpuKernel('nllLoss', (ctx) => {
  const [input, target, weight] = ctx.inputs;
  requireDTypes({ ...ctx, inputs: weight ? [input, weight] : [input] }, ['float32']);
  const [N, C] = input.shape;
  const D = sizeOf(input.shape.slice(2));
  const ignore = typeof ctx.attrs.ignoreIndex === 'number' ? (ctx.attrs.ignoreIndex as number) : null;
  const reduction = String(ctx.attrs.reduction ?? 'mean');
  const count = N * D;
  const bindings: WgslBinding[] = [
    { ref: { input: 0 }, name: 'X', type: 'array<f32>' },
    { ref: { input: 1 }, name: 'T', type: 'array<i32>' },
    ...(weight ? [{ ref: { input: 2 }, name: 'Wt', type: 'array<f32>' }] : []),
    { ref: { output: 0 }, name: 'Y', type: 'array<f32>' },
  ];
  const ignoreTest = ignore === null || !Number.isInteger(ignore) || ignore < -(2 ** 31) || ignore >= 2 ** 31 ? 'false' : `t == ${I(ignore)}`;
  const element = `
fn lossAt(e: u32) -> vec2<f32> {
  let t = T[e];
  if (${ignoreTest}) { return vec2<f32>(0.0, 0.0); }
  if (t < 0i || t >= ${I(C)}) { return vec2<f32>(gc_nan(), 0.0); }
  let w = ${weight ? 'Wt[u32(t)]' : '1.0'};
  return vec2<f32>(-X[((e / ${U(D)}) * ${U(C)} + u32(t)) * ${U(D)} + e % ${U(D)}] * w, w);
}`;
  const hostChecks = [
    {
      input: 1,
      check: (value: TensorValue): string | null => {
        for (const t of value.data) {
          if (t === ignore) continue;
          if (!(t >= 0 && t < C)) return `op 'nllLoss' (node '${ctx.node.name}'): target ${t} is outside [0, ${C})`;
        }
        return null;
      },
    },
  ];
  let dispatch: WgslDispatch;
  if (reduction === 'none') {
    if (count === 0) return { dispatches: [], hostChecks };
    dispatch = flatDispatch({ n: count, maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, bindings, decls: element, body: 'Y[i] = lossAt(i).x;' });
  } else {
    dispatch = {
      bindings,
      body: `${element}
var<workgroup> red: array<vec2<f32>, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) tid: u32) {
  var acc = vec2<f32>(0.0, 0.0);
  for (var e = tid; e < ${U(count)}; e += ${WG}u) { acc += lossAt(e); }
  red[tid] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (tid < s) { red[tid] = red[tid] + red[tid + s]; }
    workgroupBarrier();
  }
  if (tid == 0u) { Y[0] = ${reduction === 'sum' ? 'red[0].x' : 'red[0].x / red[0].y'}; }
}`,
      workgroups: [1, 1, 1],
    };
  }
  return { dispatches: [dispatch], hostChecks };
});

/** Constant-table entries a resize kernel may bake in (beyond this it runs through the CPU fallback). */
const RESIZE_MAX_TABLE = 1 << 16;

/**
 * resize: the CPU kernel's per-dimension taps (resizeTaps: input index and weight of each output
 * coordinate, in float64) are baked into the kernel as constant tables; each output sums the product
 * of its taps over every resized dimension. tf_crop_and_resize's out-of-range coordinates give the
 * extrapolation value. Integer inputs (nearest only) copy words.
 */
registerWebGpuKernel('resize', (ctx) => {
  const x = ctx.inputs[0];
  const out = ctx.outputs[0];
  const coordinate = String(ctx.attrs.coordinateTransformationMode ?? 'half_pixel');
  const extrapolation = Number(ctx.attrs.extrapolationValue ?? 0);
  const float = x.dtype === 'float32';
  if (!float) {
    requireDTypes(ctx, ['int32', 'int64']);
    if (String(ctx.attrs.mode ?? 'nearest') !== 'nearest') throw new NoGpuKernel(`${ctx.attrs.mode} resizing of ${x.dtype}`);
    if (x.dtype === 'int64' && coordinate === 'tf_crop_and_resize' && !(Number.isInteger(extrapolation) && Math.abs(extrapolation) < 2 ** 31)) {
      throw new NoGpuKernel('an int64 extrapolation value the device cannot hold');
    }
  } else requireDTypes(ctx, ['float32']);
  const total = sizeOf(out.shape);
  if (total === 0) return { dispatches: [] };
  if (sizeOf(x.shape) === 0) throw new NoGpuKernel('resizing an empty input (every output is the extrapolation value)');
  const xs = stridesOf(x.shape);
  const os = stridesOf(out.shape);
  const tables: string[] = [];
  const loops: string[] = [];
  const close: string[] = [];
  const checks: string[] = [];
  const terms: string[] = [];
  const weights: string[] = [];
  let entries = 0;
  for (const [d, { outLen, taps: shared }] of resizeDimensions(ctx.attrs, x.shape).entries()) {
    const coord = `((i / ${U(os[d])}) % ${U(outLen)})`;
    if (!shared) {
      terms.push(`${coord} * ${U(xs[d])}`);
      continue;
    }
    // plain arrays: the tables are spelled out as WGSL constant arrays
    const t = { index: Array.from(shared.index), weight: Array.from(shared.weight), width: shared.width, outside: Array.from(shared.outside, Boolean) };
    entries += t.index.length;
    tables.push(`const IDX${d} = array<u32, ${t.index.length}>(${t.index.map((v) => `${v}u`).join(', ')});`);
    if (t.outside.some(Boolean)) {
      tables.push(`const OUT${d} = array<bool, ${outLen}>(${t.outside.map(String).join(', ')});`);
      checks.push(`OUT${d}[o${d}]`);
    }
    loops.push(`let o${d} = ${coord};`);
    if (t.width === 1) {
      terms.push(`IDX${d}[o${d}] * ${U(xs[d])}`);
    } else {
      tables.push(`const WT${d} = array<f32, ${t.weight.length}>(${t.weight.map(f32Lit).join(', ')});`);
      loops.push(`for (var k${d} = 0u; k${d} < ${t.width}u; k${d}++) {`);
      loops.push(`let w${d} = WT${d}[o${d} * ${t.width}u + k${d}];`);
      terms.push(`IDX${d}[o${d} * ${t.width}u + k${d}] * ${U(xs[d])}`);
      weights.push(`w${d}`);
      close.push('}');
    }
  }
  if (entries > RESIZE_MAX_TABLE) throw new NoGpuKernel(`${entries} resize taps (more than ${RESIZE_MAX_TABLE} to bake into the kernel)`);
  const type = valueType(x.dtype);
  const extrap = float ? f32Lit(extrapolation) : I(extrapolation | 0);
  const read = `X[${terms.join(' + ') || '0u'}]`;
  // a zero weight skips its tap, as the CPU kernel does (so an infinite neighbour does not make NaN)
  const accumulate = weights.length ? `let w = ${weights.join(' * ')};\n  if (w != 0.0) { acc += w * ${read}; }` : `acc = ${read};`;
  const body = `var acc = ${type}(0);
  ${loops.filter((l) => l.startsWith('let o')).join('\n  ')}
  ${checks.length ? `if (${checks.join(' || ')}) { Y[i] = ${extrap}; return; }` : ''}
  ${loops.filter((l) => !l.startsWith('let o')).join('\n  ')}
  ${accumulate}
  ${close.join(' ')}
  Y[i] = acc;`;
  const bindings: WgslBinding[] = [
    { ref: { input: 0 }, name: 'X', type: `array<${type}>` },
    { ref: { output: 0 }, name: 'Y', type: `array<${type}>` },
  ];
  return { dispatches: [flatDispatch({ n: total, maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, bindings, decls: `\n${tables.join('\n')}`, body })] };
});
