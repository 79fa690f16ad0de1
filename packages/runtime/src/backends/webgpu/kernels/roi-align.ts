import { Attrs, ops, sizeOf } from '@graphc/graph';
import { NoGpuKernel, WebGpuKernelContext, WgslDispatch, registerWebGpuKernel } from '../kernel';
import { f32Lit, flatDispatch, u32Lit } from '../wgsl';

/**
 * roiAlign and roiAlignGrad: the geometry of ops.roiAlignBins and ops.roiAlignTaps in f32, looping
 * over each bin's samples in the cpu kernel's order (rows, then columns), so max mode's first
 * largest term is the same one. The forward is a thread per output element; the gradient a thread
 * per pixel of dx that gathers what every bin of every roi on its image sends it (no float atomics
 * in WGSL for a scatter).
 */
const U = u32Lit;
const F = f32Lit;

/**
 * WGSL loops over the samples of bin (ph, pw) of bins `b`, rows then columns as the cpu kernel, with
 * each sample's bilinear taps as `t` when `step` runs; `indent` is the loops' own indentation.
 */
function forEachSample(step: string, indent: string): string {
  return `for (var iy = 0i; iy < b.gh; iy++) {
${indent}  let yy = ra_pos(b.startH, b.binH, b.gh, ph, iy);
${indent}  for (var ix = 0i; ix < b.gw; ix++) {
${indent}    let t = ra_taps(yy, ra_pos(b.startW, b.binW, b.gw, pw, ix));
${indent}    ${step}
${indent}  }
${indent}}`;
}

/** ra_bins(r): where roi r's bins lie and how many samples each takes; ra_taps(y, x): a sample's four bilinear terms. */
function geometryFns(attrs: Attrs, H: number, W: number): string {
  const halfPixel = (attrs.coordinateTransformationMode ?? 'half_pixel') === 'half_pixel';
  const off = F(halfPixel ? 0.5 : 0);
  const scale = F(Number(attrs.spatialScale ?? 1));
  const ratio = Number(attrs.samplingRatio ?? 0);
  // a negative size (reversed corners under half_pixel) leaves the grid empty, as the reference's loop;
  // an absurd one is clamped, as the cpu refuses it, so a kernel never loops for ever
  const grid = (bin: string) => (ratio > 0 ? `${ratio}i` : `i32(clamp(ceil(${bin}), 0.0, ${ops.MAX_ROI_SAMPLES}.0))`);
  return `
struct Bins { startH: f32, startW: f32, binH: f32, binW: f32, gh: i32, gw: i32, count: f32 }
fn ra_bins(r: u32) -> Bins {
  var b: Bins;
  b.startW = rois[r * 4u] * ${scale} - ${off};
  b.startH = rois[r * 4u + 1u] * ${scale} - ${off};
  var roiW = rois[r * 4u + 2u] * ${scale} - ${off} - b.startW;
  var roiH = rois[r * 4u + 3u] * ${scale} - ${off} - b.startH;
  ${halfPixel ? '' : 'roiW = max(roiW, 1.0); roiH = max(roiH, 1.0);'}
  b.binH = roiH / ${F(Number(attrs.outputHeight ?? 1))};
  b.binW = roiW / ${F(Number(attrs.outputWidth ?? 1))};
  b.gh = ${grid('b.binH')};
  b.gw = ${grid('b.binW')};
  b.count = max(f32(b.gh) * f32(b.gw), 1.0);
  return b;
}
fn ra_pos(start: f32, bin: f32, grid: i32, p: u32, i: i32) -> f32 {
  return start + f32(p) * bin + (f32(i) + 0.5) * bin / f32(grid);
}
struct Taps { p: vec4<i32>, w: vec4<f32> }
fn ra_taps(yy: f32, xx: f32) -> Taps {
  var t: Taps;
  t.p = vec4<i32>(0i);
  t.w = vec4<f32>(0.0);
  // more than a pixel outside: every weight 0
  if (yy < -1.0 || yy > ${F(H)} || xx < -1.0 || xx > ${F(W)}) { return t; }
  var y = max(yy, 0.0);
  var x = max(xx, 0.0);
  var yl = i32(floor(y));
  var xl = i32(floor(x));
  var yh = yl + 1i;
  var xh = xl + 1i;
  if (yl >= ${H - 1}i) { yl = ${H - 1}i; yh = yl; y = f32(yl); }
  if (xl >= ${W - 1}i) { xl = ${W - 1}i; xh = xl; x = f32(xl); }
  let ly = y - f32(yl);
  let lx = x - f32(xl);
  let hy = 1.0 - ly;
  let hx = 1.0 - lx;
  t.p = vec4<i32>(yl * ${W}i + xl, yl * ${W}i + xh, yh * ${W}i + xl, yh * ${W}i + xh);
  t.w = vec4<f32>(hy * hx, hy * lx, ly * hx, ly * lx);
  return t;
}
struct Winner { value: f32, p: i32, w: f32, seen: bool }
// max mode's bin: per sample the largest weight times pixel, the first largest of all samples
fn ra_max(b: Bins, ph: u32, pw: u32, base: u32) -> Winner {
  var best: Winner;
  best.value = 0.0; best.p = 0i; best.w = 0.0; best.seen = false;
  ${forEachSample(
    `for (var k = 0u; k < 4u; k++) {
        let v = t.w[k] * x[base + u32(t.p[k])];
        if (!best.seen || v > best.value) { best.value = v; best.p = t.p[k]; best.w = t.w[k]; best.seen = true; }
      }`,
    '  ',
  )}
  return best;
}`;
}

/** A thread per element `i` of the `n` outputs running `body`, with the geometry fns of the node's attributes and image. */
function roiDispatch(ctx: WebGpuKernelContext, s: RoiShapes, n: number, bindings: WgslDispatch['bindings'], body: string): WgslDispatch {
  return flatDispatch({ n, maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, bindings, decls: `${geometryFns(ctx.attrs, s.H, s.W)}\n`, body });
}

interface RoiShapes {
  C: number;
  H: number;
  W: number;
  outH: number;
  outW: number;
}

function roiShapes(ctx: WebGpuKernelContext, xInput: number): RoiShapes {
  const x = ctx.inputs[xInput];
  if (x.dtype !== 'float32' || ctx.inputs[xInput + 1].dtype !== 'float32') throw new NoGpuKernel(`${x.dtype} ${x.dtype === 'float64' ? '(no 64-bit floats in WGSL)' : 'is not handled by its WGSL kernel'}`);
  const [, C, H, W] = x.shape;
  if (H === 0 || W === 0) throw new NoGpuKernel('an empty image (the cpu kernel reads past x)');
  return { C, H, W, outH: Number(ctx.attrs.outputHeight ?? 1), outW: Number(ctx.attrs.outputWidth ?? 1) };
}

registerWebGpuKernel('roiAlign', (ctx) => {
  const s = roiShapes(ctx, 0);
  const n = sizeOf(ctx.outputs[0].shape);
  if (n === 0) return { dispatches: [] };
  const bins = s.outH * s.outW;
  const pool =
    ctx.attrs.mode === 'max'
      ? 'v = ra_max(b, ph, pw, base).value;'
      : `${forEachSample('v += t.w.x * x[base + u32(t.p.x)] + t.w.y * x[base + u32(t.p.y)] + t.w.z * x[base + u32(t.p.z)] + t.w.w * x[base + u32(t.p.w)];', '  ')}
  v = v / b.count;`;
  const body = `let pw = i % ${U(s.outW)};
  let ph = (i / ${U(s.outW)}) % ${U(s.outH)};
  let c = (i / ${U(bins)}) % ${U(s.C)};
  let r = i / ${U(bins * s.C)};
  let base = (u32(batch[r]) * ${U(s.C)} + c) * ${U(s.H * s.W)};
  let b = ra_bins(r);
  var v = 0.0;
  ${pool}
  out[i] = v;`;
  const bindings: WgslDispatch['bindings'] = [
    { ref: { input: 0 }, name: 'x', type: 'array<f32>' },
    { ref: { input: 1 }, name: 'rois', type: 'array<f32>' },
    { ref: { input: 2 }, name: 'batch', type: 'array<i32>' },
    { ref: { output: 0 }, name: 'out', type: 'array<f32>' },
  ];
  return { dispatches: [roiDispatch(ctx, s, n, bindings, body)] };
});

registerWebGpuKernel('roiAlignGrad', (ctx) => {
  const s = roiShapes(ctx, 1);
  const n = sizeOf(ctx.outputs[0].shape);
  if (n === 0) return { dispatches: [] };
  const R = ctx.inputs[3].shape[0];
  const send =
    ctx.attrs.mode === 'max'
      ? `let win = ra_max(b, ph, pw, base);
        if (win.seen && win.p == pix) { acc += g * win.w; }`
      : forEachSample('for (var k = 0u; k < 4u; k++) { if (t.p[k] == pix) { acc += g * t.w[k] / b.count; } }', '        ');
  const body = `let pix = i32(i % ${U(s.H * s.W)});
  let nc = i / ${U(s.H * s.W)};
  let img = i32(nc / ${U(s.C)});
  let c = nc % ${U(s.C)};
  let base = nc * ${U(s.H * s.W)};
  var acc = 0.0;
  for (var r = 0u; r < ${U(R)}; r++) {
    if (batch[r] != img) { continue; }
    let b = ra_bins(r);
    for (var ph = 0u; ph < ${U(s.outH)}; ph++) {
      for (var pw = 0u; pw < ${U(s.outW)}; pw++) {
        let g = dy[((r * ${U(s.C)} + c) * ${U(s.outH)} + ph) * ${U(s.outW)} + pw];
        ${send}
      }
    }
  }
  out[i] = acc;`;
  const bindings: WgslDispatch['bindings'] = [
    { ref: { input: 0 }, name: 'dy', type: 'array<f32>' },
    { ref: { input: 1 }, name: 'x', type: 'array<f32>' },
    { ref: { input: 2 }, name: 'rois', type: 'array<f32>' },
    { ref: { input: 3 }, name: 'batch', type: 'array<i32>' },
    { ref: { output: 0 }, name: 'out', type: 'array<f32>' },
  ];
  return { dispatches: [roiDispatch(ctx, s, n, bindings, body)] };
});
