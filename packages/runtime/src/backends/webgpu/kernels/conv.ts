import { Attrs, NhwcWindow, nhwcWindow, sizeOf } from '@graphc/graph';
import { GpuTensorInfo, KernelPlan, WebGpuKernelContext, WgslBinding, WgslDispatch, registerWebGpuKernel, requireDTypes } from '../kernel';
import { flatDispatch, u32Lit } from '../wgsl';
import { epilogueOf } from './fused';
import { GemmEpilogue, GemmOperand, gemmDispatch, gemmOutputType, gemmTarget, matrixOperand } from './gemm';

/**
 * Convolutions as implicit GEMM: the im2col matrix is never built; the GEMM's A loader gathers each
 * element from the image (zero outside it) as the tile is staged. conv2d is [N*OH*OW x KH*KW*C] ·
 * [KH*KW*C x OC] (the HWIO filter already is that matrix); its input gradient is the same shape of
 * product over dy and the filter read transposed; its filter gradient is im2col(x)^T · dy. When the
 * channel counts are multiples of 4, loads along them are vec4 (4 consecutive k share one tap).
 * Depthwise convolutions have no channel reduction to feed a GEMM and run direct.
 */
export interface ConvGeometry extends NhwcWindow {
  /** Output channels (C * M for a depthwise filter of multiplier M). */
  oc: number;
}

export function convGeometry(x: number[], filter: number[], attrs: Attrs, depthwise: boolean, where: string): ConvGeometry {
  const [kh, kw, , m] = filter;
  const g = nhwcWindow(x, kh, kw, attrs, where);
  return { ...g, oc: depthwise ? g.c * m : m };
}

const U = u32Lit;

/**
 * im2col element (m, k) of image binding `name` as WGSL helpers `<fn>1(m, k) -> f32` and, when
 * C % 4 == 0, `<fn>4(m, k) -> vec4<f32>` (k a multiple of 4).
 */
function im2colHelpers(fn: string, name: string, g: ConvGeometry, vec: boolean): string {
  const pix = g.outH * g.outW;
  const decode = `
  let b = m / ${U(pix)}; let p = m % ${U(pix)}; let oy = p / ${U(g.outW)}; let ox = p % ${U(g.outW)};
  let ky = k / ${U(g.kw * g.c)}; let r = k % ${U(g.kw * g.c)}; let kx = r / ${U(g.c)}; let ci = r % ${U(g.c)};
  let iy = i32(oy * ${U(g.sh)} + ky * ${U(g.dh)}) - ${g.padTop}i;
  let ix = i32(ox * ${U(g.sw)} + kx * ${U(g.dw)}) - ${g.padLeft}i;
  let inside = iy >= 0i && iy < ${g.h}i && ix >= 0i && ix < ${g.w}i;
  let at = ((b * ${U(g.h)} + u32(iy)) * ${U(g.w)} + u32(ix)) * ${U(g.c)} + ci;`;
  const read1 = vec ? `${name}[at / 4u][at % 4u]` : `${name}[at]`;
  let out = `
fn ${fn}1(m: u32, k: u32) -> f32 {${decode}
  if (!inside) { return 0.0; }
  return ${read1};
}`;
  if (vec) {
    out += `
fn ${fn}4(m: u32, k: u32) -> vec4<f32> {${decode}
  if (!inside) { return vec4<f32>(0.0); }
  return ${name}[at / 4u];
}`;
  }
  return out;
}

/** A GEMM operand reading the im2col matrix of binding `name` (rows m, cols k; transposed: rows k, cols m). */
function im2colOperand(name: string, input: number, g: ConvGeometry, transposed: boolean): GemmOperand {
  const vec = g.c % 4 === 0;
  const fn = `${name.toLowerCase()}Col`;
  const binding: WgslBinding = { ref: { input }, name, type: vec ? 'array<vec4<f32>>' : 'array<f32>' };
  return transposed
    ? {
        binding,
        vecDim: 'row',
        load1: (r, c) => `${fn}1(${c}, ${r})`,
        load4: vec ? (r, c) => `${fn}4(${c}, ${r})` : undefined,
        helpers: im2colHelpers(fn, name, g, vec),
      }
    : {
        binding,
        vecDim: 'col',
        load1: (r, c) => `${fn}1(${r}, ${c})`,
        load4: vec ? (r, c) => `${fn}4(${r}, ${c})` : undefined,
        helpers: im2colHelpers(fn, name, g, vec),
      };
}

export function conv2dDispatch(ctx: WebGpuKernelContext, x: GpuTensorInfo, filter: GpuTensorInfo, epilogue?: GemmEpilogue): WgslDispatch {
  const g = convGeometry(x.shape, filter.shape, ctx.attrs, false, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  const k = g.kh * g.kw * g.c;
  return gemmDispatch({
    m: g.n * g.outH * g.outW,
    n: g.oc,
    k,
    batch: 1,
    a: im2colOperand('X', 0, g, false),
    b: matrixOperand('F', 1, k, g.oc, false, () => '0u'),
    epilogue,
    out: { ref: { output: 0 }, name: 'Y', type: gemmOutputType(g.oc) },
    target: gemmTarget(ctx),
  });
}

registerWebGpuKernel('conv2d', (ctx): KernelPlan => {
  requireDTypes(ctx, ['float32']);
  return { dispatches: [conv2dDispatch(ctx, ctx.inputs[0], ctx.inputs[1])] };
});

registerWebGpuKernel('fusedConv2d', (ctx): KernelPlan => {
  requireDTypes({ ...ctx, inputs: ctx.inputs.slice(0, 2) }, ['float32']);
  return { dispatches: [conv2dDispatch(ctx, ctx.inputs[0], ctx.inputs[1], epilogueOf(ctx, 2))] };
});

/**
 * conv2dBackpropInput(dy, filter, x): dx[(b, iy, ix), ci] = sum over (ky, kx, co) of
 * dy[b, oy, ox, co] * filter[ky, kx, ci, co], where oy * sh - padTop + ky * dh = iy (and likewise x):
 * a GEMM whose A gathers dy (zero where no output pixel maps there) and whose B is the filter read
 * with co innermost.
 */
registerWebGpuKernel('conv2dBackpropInput', (ctx) => {
  requireDTypes({ ...ctx, inputs: ctx.inputs.slice(0, 2) }, ['float32']);
  const [dy, filter, x] = ctx.inputs;
  const g = convGeometry(x.shape, filter.shape, ctx.attrs, false, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  const vecA = g.oc % 4 === 0;
  const decode = `
  let b = m / ${U(g.h * g.w)}; let p = m % ${U(g.h * g.w)}; let iy = p / ${U(g.w)}; let ix = p % ${U(g.w)};
  let ky = k / ${U(g.kw * g.oc)}; let r = k % ${U(g.kw * g.oc)}; let kx = r / ${U(g.oc)}; let co = r % ${U(g.oc)};
  let ty = i32(iy) + ${g.padTop}i - i32(ky * ${U(g.dh)});
  let tx = i32(ix) + ${g.padLeft}i - i32(kx * ${U(g.dw)});
  let oy = ty / ${g.sh}i; let ox = tx / ${g.sw}i;
  let inside = ty >= 0i && tx >= 0i && ty % ${g.sh}i == 0i && tx % ${g.sw}i == 0i && oy < ${g.outH}i && ox < ${g.outW}i;
  let at = ((b * ${U(g.outH)} + u32(oy)) * ${U(g.outW)} + u32(ox)) * ${U(g.oc)} + co;`;
  let helpers = `
fn dyCol1(m: u32, k: u32) -> f32 {${decode}
  if (!inside) { return 0.0; }
  return ${vecA ? 'DY[at / 4u][at % 4u]' : 'DY[at]'};
}`;
  if (vecA) {
    helpers += `
fn dyCol4(m: u32, k: u32) -> vec4<f32> {${decode}
  if (!inside) { return vec4<f32>(0.0); }
  return DY[at / 4u];
}`;
  }
  const a: GemmOperand = {
    binding: { ref: { input: 0 }, name: 'DY', type: vecA ? 'array<vec4<f32>>' : 'array<f32>' },
    vecDim: 'col',
    load1: (r, c) => `dyCol1(${r}, ${c})`,
    load4: vecA ? (r, c) => `dyCol4(${r}, ${c})` : undefined,
    helpers,
  };
  // B[k = (ky, kx, co), ci] = filter[((ky * KW + kx) * C + ci) * OC + co]: contiguous along k's co
  const fIndex = (r: string, c: string): string =>
    `((${r}) / ${U(g.oc)}) * ${U(g.c * g.oc)} + (${c}) * ${U(g.oc)} + (${r}) % ${U(g.oc)}`;
  const b: GemmOperand = {
    binding: { ref: { input: 1 }, name: 'F', type: vecA ? 'array<vec4<f32>>' : 'array<f32>' },
    vecDim: 'row',
    load1: (r, c) => (vecA ? `F[(${fIndex(r, c)}) / 4u][(${fIndex(r, c)}) % 4u]` : `F[${fIndex(r, c)}]`),
    load4: vecA ? (r, c) => `F[(${fIndex(r, c)}) / 4u]` : undefined,
  };
  return {
    dispatches: [
      gemmDispatch({
        m: g.n * g.h * g.w,
        n: g.c,
        k: g.kh * g.kw * g.oc,
        batch: 1,
        a,
        b,
        out: { ref: { output: 0 }, name: 'DX', type: gemmOutputType(g.c) },
        target: gemmTarget(ctx),
      }),
    ],
  };
});

/** conv2dBackpropFilter(x, dy, filter): im2col(x)^T · dy, [KH*KW*C x N*OH*OW] · [N*OH*OW x OC]. */
registerWebGpuKernel('conv2dBackpropFilter', (ctx) => {
  requireDTypes({ ...ctx, inputs: ctx.inputs.slice(0, 2) }, ['float32']);
  const [x, dy, filter] = ctx.inputs;
  const g = convGeometry(x.shape, filter.shape, ctx.attrs, false, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  const rows = g.n * g.outH * g.outW;
  return {
    dispatches: [
      gemmDispatch({
        m: g.kh * g.kw * g.c,
        n: g.oc,
        k: rows,
        batch: 1,
        a: im2colOperand('X', 0, g, true),
        b: matrixOperand('DY', 1, rows, g.oc, false, () => '0u'),
        out: { ref: { output: 0 }, name: 'DF', type: gemmOutputType(g.oc) },
        target: gemmTarget(ctx),
      }),
    ],
  };
});

// ---- depthwise -------------------------------------------------------------------------------

function depthwiseForward(ctx: WebGpuKernelContext, epilogue?: GemmEpilogue): KernelPlan {
  const [x, filter] = ctx.inputs;
  const g = convGeometry(x.shape, filter.shape, ctx.attrs, true, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  const mult = filter.shape[3];
  const fin = epilogue ? epilogue.apply('acc', 'i', 'e_') : { lines: [], result: 'acc' };
  return {
    dispatches: [
      flatDispatch({
        n: g.n * g.outH * g.outW * g.oc,
        maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
        bindings: [
          { ref: { input: 0 }, name: 'X', type: 'array<f32>' },
          { ref: { input: 1 }, name: 'F', type: 'array<f32>' },
          ...(epilogue?.bindings ?? []),
          { ref: { output: 0 }, name: 'Y', type: 'array<f32>' },
        ],
        body: `let co = i % ${U(g.oc)};
  let p = i / ${U(g.oc)};
  let ox = p % ${U(g.outW)}; let oy = (p / ${U(g.outW)}) % ${U(g.outH)}; let b = p / ${U(g.outW * g.outH)};
  let ci = co / ${U(mult)};
  var acc = 0.0;
  for (var ky = 0u; ky < ${U(g.kh)}; ky++) {
    let iy = i32(oy * ${U(g.sh)} + ky * ${U(g.dh)}) - ${g.padTop}i;
    if (iy < 0i || iy >= ${g.h}i) { continue; }
    for (var kx = 0u; kx < ${U(g.kw)}; kx++) {
      let ix = i32(ox * ${U(g.sw)} + kx * ${U(g.dw)}) - ${g.padLeft}i;
      if (ix < 0i || ix >= ${g.w}i) { continue; }
      acc += X[((b * ${U(g.h)} + u32(iy)) * ${U(g.w)} + u32(ix)) * ${U(g.c)} + ci] * F[(ky * ${U(g.kw)} + kx) * ${U(g.oc)} + co];
    }
  }
  ${fin.lines.join('\n  ')}
  Y[i] = ${fin.result};`,
      }),
    ],
  };
}

registerWebGpuKernel('depthwiseConv2d', (ctx) => {
  requireDTypes(ctx, ['float32']);
  return depthwiseForward(ctx);
});

registerWebGpuKernel('fusedDepthwiseConv2d', (ctx) => {
  requireDTypes({ ...ctx, inputs: ctx.inputs.slice(0, 2) }, ['float32']);
  return depthwiseForward(ctx, epilogueOf(ctx, 2));
});

/** depthwiseConv2dBackpropInput(dy, filter, x): each dx element sums dy over the taps that read it. */
registerWebGpuKernel('depthwiseConv2dBackpropInput', (ctx) => {
  requireDTypes({ ...ctx, inputs: ctx.inputs.slice(0, 2) }, ['float32']);
  const [, filter, x] = ctx.inputs;
  const g = convGeometry(x.shape, filter.shape, ctx.attrs, true, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  const mult = filter.shape[3];
  return {
    dispatches: [
      flatDispatch({
        n: sizeOf(x.shape),
        maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
        bindings: [
          { ref: { input: 0 }, name: 'DY', type: 'array<f32>' },
          { ref: { input: 1 }, name: 'F', type: 'array<f32>' },
          { ref: { output: 0 }, name: 'DX', type: 'array<f32>' },
        ],
        body: `let ci = i % ${U(g.c)};
  let p = i / ${U(g.c)};
  let ix = p % ${U(g.w)}; let iy = (p / ${U(g.w)}) % ${U(g.h)}; let b = p / ${U(g.w * g.h)};
  var acc = 0.0;
  for (var ky = 0u; ky < ${U(g.kh)}; ky++) {
    let ty = i32(iy) + ${g.padTop}i - i32(ky * ${U(g.dh)});
    if (ty < 0i || ty % ${g.sh}i != 0i || ty / ${g.sh}i >= ${g.outH}i) { continue; }
    let oy = u32(ty / ${g.sh}i);
    for (var kx = 0u; kx < ${U(g.kw)}; kx++) {
      let tx = i32(ix) + ${g.padLeft}i - i32(kx * ${U(g.dw)});
      if (tx < 0i || tx % ${g.sw}i != 0i || tx / ${g.sw}i >= ${g.outW}i) { continue; }
      let ox = u32(tx / ${g.sw}i);
      let dyBase = ((b * ${U(g.outH)} + oy) * ${U(g.outW)} + ox) * ${U(g.oc)} + ci * ${U(mult)};
      let fBase = (ky * ${U(g.kw)} + kx) * ${U(g.oc)} + ci * ${U(mult)};
      for (var q = 0u; q < ${U(mult)}; q++) { acc += DY[dyBase + q] * F[fBase + q]; }
    }
  }
  DX[i] = acc;`,
      }),
    ],
  };
});

/**
 * depthwiseConv2dBackpropFilter(x, dy, filter): each filter element sums x * dy over every output
 * pixel of the batch; a workgroup per element folds them with a tree.
 */
registerWebGpuKernel('depthwiseConv2dBackpropFilter', (ctx) => {
  requireDTypes({ ...ctx, inputs: ctx.inputs.slice(0, 2) }, ['float32']);
  const [x, , filter] = ctx.inputs;
  const g = convGeometry(x.shape, filter.shape, ctx.attrs, true, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  const mult = filter.shape[3];
  const total = sizeOf(filter.shape);
  const pixels = g.n * g.outH * g.outW;
  const gy = Math.min(total, ctx.limits.maxComputeWorkgroupsPerDimension);
  return {
    dispatches: [
      {
        bindings: [
          { ref: { input: 0 }, name: 'X', type: 'array<f32>' },
          { ref: { input: 1 }, name: 'DY', type: 'array<f32>' },
          { ref: { output: 0 }, name: 'DF', type: 'array<f32>' },
        ],
        body: `
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let e = wid.x + wid.y * ${U(gy)};
  let valid = e < ${U(total)};
  let co = e % ${U(g.oc)};
  let tap = e / ${U(g.oc)};
  let ky = tap / ${U(g.kw)}; let kx = tap % ${U(g.kw)};
  let ci = co / ${U(mult)};
  var acc = 0.0;
  if (valid) {
    for (var p = tid; p < ${U(pixels)}; p += 256u) {
      let ox = p % ${U(g.outW)}; let oy = (p / ${U(g.outW)}) % ${U(g.outH)}; let b = p / ${U(g.outW * g.outH)};
      let iy = i32(oy * ${U(g.sh)} + ky * ${U(g.dh)}) - ${g.padTop}i;
      let ix = i32(ox * ${U(g.sw)} + kx * ${U(g.dw)}) - ${g.padLeft}i;
      if (iy >= 0i && iy < ${g.h}i && ix >= 0i && ix < ${g.w}i) {
        acc += X[((b * ${U(g.h)} + u32(iy)) * ${U(g.w)} + u32(ix)) * ${U(g.c)} + ci] * DY[p * ${U(g.oc)} + co];
      }
    }
  }
  red[tid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (tid < s) { red[tid] = red[tid] + red[tid + s]; }
    workgroupBarrier();
  }
  if (tid == 0u && valid) { DF[e] = red[0]; }
}`,
        workgroups: [gy, Math.ceil(total / gy), 1],
      },
    ],
  };
});
