import { ops, sizeOf } from '@graphc/graph';
import { floatLit } from '../helpers';
import { registerGpujsKernel, registerGpujsUnsupported } from '../program';

/**
 * Detection and sampling ops from ONNX: nonMaxSuppression, gridSample, unique, roiAlign, maxUnpool.
 * Same formulas and loop orders as the cpu kernels, in float32.
 */

registerGpujsUnsupported(
  'nonMaxSuppression',
  'the number of boxes it selects depends on the scores and boxes, and a gpu.js kernel has a fixed output size: the session evaluates it on the cpu between two gpujs stages (runtime/src/staged.ts)',
);

/** `v = reflect(v)` at lo and hi (ops.gridReflect's triangle wave), with scratch names from `tag`. */
function reflectCode(v: string, lo: number, hi: number, tag: string): string {
  const span = hi - lo;
  if (span <= 0) return `${v} = ${floatLit(lo)};\n`;
  let code = `u${tag} = (${v} - ${floatLit(lo)}) / ${floatLit(span)};\nm${tag} = u${tag} - 2.0 * Math.floor(u${tag} / 2.0);\n`;
  code += `if (m${tag} > 1.0) {\nm${tag} = 2.0 - m${tag};\n}\n${v} = ${floatLit(lo)} + ${floatLit(span)} * m${tag};\n`;
  return code;
}

/**
 * gridSample: one thread per output element; per spatial axis the taps of ops.gridSampleTaps
 * written out as scalar locals (gpu.js kernels have no local arrays), then the weighted sum over
 * every combination of one tap per axis, unrolled.
 */
registerGpujsKernel('gridSample', (ctx) => {
  const [x, grid] = ctx.inputs;
  const out = ctx.outputs[0];
  const [, C, ...spatial] = x.shape;
  const r = spatial.length;
  const P = sizeOf(grid.shape.slice(1, r + 1));
  const S = sizeOf(spatial);
  const mode = String(ctx.attrs.mode ?? 'linear');
  const padding = String(ctx.attrs.paddingMode ?? 'zeros');
  const align = ctx.attrs.alignCorners === true;
  const K = ops.gridTapCount(mode);
  return [
    ctx.kernel(out.shape, out.dtype, [x, grid], ([x0, g0]) => {
      let code = `const p = i % ${P};\nconst c = Math.floor(i / ${P}) % ${C};\nconst n = Math.floor(i / ${P * C});\n`;
      spatial.forEach((L, d) => {
        const [lo, hi] = ops.gridBorders(L, align);
        const v = `q${d}`;
        code += `let ${v} = ${g0}[(n * ${P} + p) * ${r} + ${r - 1 - d}] * ${floatLit(align ? (L - 1) / 2 : L / 2)} + ${floatLit((L - 1) / 2)};\n`;
        code += `let u${d} = 0.0;\nlet m${d} = 0.0;\n`;
        if (mode === 'nearest') {
          if (r === 3) code += `if (${v} < 0.0) {\n${v} = -Math.floor(-${v} + 0.5);\n} else {\n${v} = Math.floor(${v} + 0.5);\n}\n`;
          else code += `let h${d} = Math.floor(${v} + 0.5);\nif (h${d} - ${v} === 0.5 && h${d} % 2.0 !== 0.0) {\nh${d} = h${d} - 1.0;\n}\n${v} = h${d};\n`;
        }
        if (padding !== 'zeros') {
          code += `if (${v} < ${floatLit(lo)} || ${v} > ${floatLit(hi)}) {\n`;
          code += padding === 'border' ? `${v} = Math.min(Math.max(${v}, 0.0), ${floatLit(L - 1)});\n` : reflectCode(v, lo, hi, `${d}`);
          code += '}\n';
        }
        if (mode === 'nearest') {
          code += `let f${d} = Math.floor(${v});\nif (${v} < 0.0) {\nf${d} = Math.ceil(${v});\n}\nlet t${d} = 0.0;\n`;
        } else {
          code += `let f${d} = Math.floor(${v});\nlet t${d} = ${v} - f${d};\n`;
          if (mode === 'cubic') code += `f${d} = f${d} - 1.0;\n`;
        }
        const a = -0.75;
        const near = (s: string) => `((${floatLit(a + 2)} * (${s}) - ${floatLit(a + 3)}) * (${s}) * (${s}) + 1.0)`;
        const far = (s: string) => `(((${floatLit(a)} * (${s}) - ${floatLit(5 * a)}) * (${s}) + ${floatLit(8 * a)}) * (${s}) - ${floatLit(4 * a)})`;
        const weights =
          mode === 'nearest' ? ['1.0'] : mode === 'linear' ? [`1.0 - t${d}`, `t${d}`] : [far(`t${d} + 1.0`), near(`t${d}`), near(`1.0 - t${d}`), far(`2.0 - t${d}`)];
        weights.forEach((w, k) => {
          const id = `i${d}_${k}`;
          code += `let ${id} = f${d} + ${floatLit(k)};\nlet w${d}_${k} = ${w};\n`;
          if (padding === 'zeros') code += `if (${id} < 0.0 || ${id} > ${floatLit(L - 1)}) {\nw${d}_${k} = 0.0;\n}\n`;
          else if (padding === 'reflection') code += `${reflectCode(id, lo, hi, `${d}`)}${id} = Math.floor(${id} + 0.5);\n`;
          code += `${id} = Math.min(Math.max(${id}, 0.0), ${floatLit(L - 1)});\n`;
        });
      });
      const strides = spatial.map((_, d) => sizeOf(spatial.slice(d + 1)));
      code += `const base = (n * ${C} + c) * ${S};\nlet acc = 0.0;\n`;
      for (let combo = 0; combo < K ** r; combo++) {
        const taps = spatial.map((_, d) => Math.floor(combo / K ** (r - 1 - d)) % K);
        const w = taps.map((k, d) => `w${d}_${k}`).join(' * ');
        const at = taps.map((k, d) => `i${d}_${k} * ${floatLit(strides[d])}`).join(' + ');
        code += `acc += ${w} * ${x0}[base + ${at}];\n`;
      }
      return `${code}return acc;`;
    }),
  ];
});

registerGpujsUnsupported(
  'unique',
  'how many distinct elements it finds depends on the input values, and a gpu.js kernel has a fixed output size: the session evaluates it on the cpu between two gpujs stages (runtime/src/staged.ts)',
);

/**
 * maxUnpool: per output element, its flat index in indexShape (none where it lies in the padding),
 * then the last x entry whose index names it (the cpu kernel's last write), else 0.
 */
registerGpujsKernel('maxUnpool', (ctx) => {
  const [x, indices] = ctx.inputs;
  const out = ctx.outputs[0];
  const shape = out.shape;
  const within = (ctx.attrs.indexShape as number[] | undefined) ?? shape;
  const n = sizeOf(x.shape);
  return [
    ctx.kernel(out.shape, out.dtype, [x, indices], ([x0, i0]) => {
      let code = 'let rest = i;\nlet at = 0.0;\nlet inside = 1.0;\nlet c = 0.0;\n';
      let stride = 1;
      for (let d = shape.length - 1; d >= 0; d--) {
        code += `c = rest % ${shape[d]};\nrest = Math.floor(rest / ${shape[d]});\nif (c >= ${within[d]}) {\ninside = 0.0;\n}\nat += c * ${floatLit(stride)};\n`;
        stride *= within[d];
      }
      code += `let v = 0.0;\nif (inside > 0.5) {\nfor (let k = 0; k < ${n}; k++) {\nif (${i0}[k] === at) {\nv = ${x0}[k];\n}\n}\n}\nreturn v;`;
      return code;
    }),
  ];
});

/**
 * roiAlign and roiAlignGrad share the geometry of ops.roiAlignBins / roiAlignTaps, written out in
 * float32. gpu.js loops need literal bounds: with samplingRatio 0 a bin's sample count depends on
 * the roi, so each axis loops over a window of 2 * length + 6 samples that starts just before the
 * first sample within a pixel of the image. Samples outside that window read 0 (avg adds nothing;
 * max counts them as the value 0 when the grid's first or last sample lies out there). The spacing
 * of adaptive samples is over half a pixel, so the window holds every sample that reads a pixel.
 */

/** Locals startH, startW, binH, binW, gh, gw, count of the roi whose row index is `r`. */
function roiBinsCode(rois: string, r: string, attrs: Record<string, unknown>): string {
  const scale = floatLit(Number(attrs.spatialScale ?? 1));
  const halfPixel = (attrs.coordinateTransformationMode ?? 'half_pixel') === 'half_pixel';
  const off = halfPixel ? '0.5' : '0.0';
  const ratio = Number(attrs.samplingRatio ?? 0);
  const outH = floatLit(Number(attrs.outputHeight ?? 1));
  const outW = floatLit(Number(attrs.outputWidth ?? 1));
  let code = `const startW = ${rois}[${r} * 4] * ${scale} - ${off};\nconst startH = ${rois}[${r} * 4 + 1] * ${scale} - ${off};\n`;
  code += `let roiW = ${rois}[${r} * 4 + 2] * ${scale} - ${off} - startW;\nlet roiH = ${rois}[${r} * 4 + 3] * ${scale} - ${off} - startH;\n`;
  if (!halfPixel) code += 'roiW = Math.max(roiW, 1.0);\nroiH = Math.max(roiH, 1.0);\n';
  code += `const binH = roiH / ${outH};\nconst binW = roiW / ${outW};\n`;
  code += ratio > 0 ? `const gh = ${floatLit(ratio)};\nconst gw = ${floatLit(ratio)};\n` : 'const gh = Math.max(Math.ceil(binH), 0.0);\nconst gw = Math.max(Math.ceil(binW), 0.0);\n';
  return `${code}const count = Math.max(gh * gw, 1.0);\n`;
}

/**
 * Loops over the samples of bin (ph, pw) (locals), running `body` with the sample's taps in
 * locals p1..p4 (flat pixel indices) and w1..w4; sets the local `anyOut` where the grid has a
 * sample more than a pixel outside the image (max mode's 0).
 */
function roiSamplesCode(H: number, W: number, ratio: number, body: string): string {
  const axis = (name: string, start: string, bin: string, grid: string, p: string, len: number): { open: string; close: string } => {
    const at = (i: string) => `${start} + ${p} * ${bin} + (${i} + 0.5) * ${bin} / ${grid}`;
    if (ratio > 0) return { open: `for (let k${name} = 0; k${name} < ${ratio}; k${name}++) {\nconst i${name} = k${name} + 0.0;\nconst ${name} = ${at(`i${name}`)};\n`, close: '}\n' };
    const lo = `lo${name}`;
    let open = `let ${lo} = Math.floor((-1.0 - ${start} - ${p} * ${bin}) / (${bin} / ${grid}) - 0.5) - 1.0;\nif (${lo} < 0.0) {\n${lo} = 0.0;\n}\n`;
    open += `for (let k${name} = 0; k${name} < ${2 * len + 6}; k${name}++) {\nconst i${name} = ${lo} + k${name};\nif (i${name} < ${grid}) {\nconst ${name} = ${at(`i${name}`)};\n`;
    return { open, close: '}\n}\n' };
  };
  const ys = axis('yy', 'startH', 'binH', 'gh', 'ph', H);
  const xs = axis('xx', 'startW', 'binW', 'gw', 'pw', W);
  const edge = (start: string, bin: string, grid: string, p: string, i: string) => `${start} + ${p} * ${bin} + (${i} + 0.5) * ${bin} / ${grid}`;
  let code = 'let anyOut = 0.0;\n';
  if (ratio === 0) {
    code += 'if (gh > 0.0 && gw > 0.0) {\n';
    code += `if (${edge('startH', 'binH', 'gh', 'ph', '0.0')} < -1.0 || ${edge('startH', 'binH', 'gh', 'ph', 'gh - 1.0')} > ${floatLit(H)} || `;
    code += `${edge('startW', 'binW', 'gw', 'pw', '0.0')} < -1.0 || ${edge('startW', 'binW', 'gw', 'pw', 'gw - 1.0')} > ${floatLit(W)}) {\nanyOut = 1.0;\n}\n}\n`;
  }
  code += `${ys.open}${xs.open}`;
  code += 'let p1 = 0.0;\nlet p2 = 0.0;\nlet p3 = 0.0;\nlet p4 = 0.0;\nlet w1 = 0.0;\nlet w2 = 0.0;\nlet w3 = 0.0;\nlet w4 = 0.0;\n';
  code += `if (yy >= -1.0 && yy <= ${floatLit(H)} && xx >= -1.0 && xx <= ${floatLit(W)}) {\n`;
  code += 'let sy = Math.max(yy, 0.0);\nlet sx = Math.max(xx, 0.0);\nlet yl = Math.floor(sy);\nlet xl = Math.floor(sx);\nlet yh = yl + 1.0;\nlet xh = xl + 1.0;\n';
  code += `if (yl >= ${floatLit(H - 1)}) {\nyl = ${floatLit(H - 1)};\nyh = yl;\nsy = yl;\n}\nif (xl >= ${floatLit(W - 1)}) {\nxl = ${floatLit(W - 1)};\nxh = xl;\nsx = xl;\n}\n`;
  code += 'const ly = sy - yl;\nconst lx = sx - xl;\nconst hy = 1.0 - ly;\nconst hx = 1.0 - lx;\n';
  code += `w1 = hy * hx;\nw2 = hy * lx;\nw3 = ly * hx;\nw4 = ly * lx;\np1 = yl * ${floatLit(W)} + xl;\np2 = yl * ${floatLit(W)} + xh;\np3 = yh * ${floatLit(W)} + xl;\np4 = yh * ${floatLit(W)} + xh;\n}\n`;
  return `${code}${body}${xs.close}${ys.close}`;
}

/** Max mode's running winner over the samples: the first largest weight times pixel (locals best, bestP, bestW, seen). */
function roiMaxCode(x: string): string {
  let code = '';
  for (const k of [1, 2, 3, 4]) {
    code += `const v${k} = w${k} * ${x}[base + p${k}];\nif (seen < 0.5 || v${k} > best) {\nbest = v${k};\nbestP = p${k};\nbestW = w${k};\nseen = 1.0;\n}\n`;
  }
  return code;
}

/** roiAlign: one thread per output element (roi, channel, bin). */
registerGpujsKernel('roiAlign', (ctx) => {
  const [x, rois, batch] = ctx.inputs;
  const out = ctx.outputs[0];
  const [, C, H, W] = x.shape;
  const outH = Number(ctx.attrs.outputHeight ?? 1);
  const outW = Number(ctx.attrs.outputWidth ?? 1);
  const ratio = Number(ctx.attrs.samplingRatio ?? 0);
  const max = ctx.attrs.mode === 'max';
  return [
    ctx.kernel(out.shape, out.dtype, [x, rois, batch], ([x0, r0, b0]) => {
      let code = `const pw = i % ${outW};\nconst ph = Math.floor(i / ${outW}) % ${outH};\nconst c = Math.floor(i / ${outW * outH}) % ${C};\nconst r = Math.floor(i / ${outW * outH * C});\n`;
      code += `const base = (${b0}[r] * ${C} + c) * ${H * W};\n${roiBinsCode(r0, 'r', ctx.attrs)}`;
      code += 'let acc = 0.0;\nlet best = 0.0;\nlet bestP = 0.0;\nlet bestW = 0.0;\nlet seen = 0.0;\n';
      const body = max ? roiMaxCode(x0) : `acc += w1 * ${x0}[base + p1] + w2 * ${x0}[base + p2] + w3 * ${x0}[base + p3] + w4 * ${x0}[base + p4];\n`;
      code += roiSamplesCode(H, W, ratio, body);
      if (!max) return `${code}return acc / count;`;
      return `${code}if (anyOut > 0.5 && (seen < 0.5 || best < 0.0)) {\nbest = 0.0;\n}\nreturn best;`;
    }),
  ];
});

/**
 * roiAlignGrad: one thread per pixel of dx, gathering from every bin of every roi on its image the
 * dy its samples' terms on this pixel carry (avg: weight / count; max: the winner's weight). Exact
 * ties between a sample outside the image and a zero term inside it may pick another winner than
 * the cpu's sample order (both carry no gradient unless that pixel is exactly 0).
 */
registerGpujsKernel('roiAlignGrad', (ctx) => {
  const [dy, x, rois, batch] = ctx.inputs;
  const out = ctx.outputs[0];
  const [, C, H, W] = x.shape;
  const R = batch.shape[0];
  const outH = Number(ctx.attrs.outputHeight ?? 1);
  const outW = Number(ctx.attrs.outputWidth ?? 1);
  const ratio = Number(ctx.attrs.samplingRatio ?? 0);
  const max = ctx.attrs.mode === 'max';
  return [
    ctx.kernel(out.shape, out.dtype, [dy, x, rois, batch], ([d0, x0, r0, b0]) => {
      let code = `const pix = i % ${H * W};\nconst c = Math.floor(i / ${H * W}) % ${C};\nconst n = Math.floor(i / ${H * W * C});\nconst base = (n * ${C} + c) * ${H * W};\nlet acc = 0.0;\n`;
      code += `for (let r = 0; r < ${R}; r++) {\nif (${b0}[r] === n) {\n${roiBinsCode(r0, 'r', ctx.attrs)}`;
      code += `for (let ph = 0; ph < ${outH}; ph++) {\nfor (let pw = 0; pw < ${outW}; pw++) {\nconst g = ${d0}[((r * ${C} + c) * ${outH} + ph) * ${outW} + pw];\n`;
      if (max) {
        code += 'let best = 0.0;\nlet bestP = 0.0;\nlet bestW = 0.0;\nlet seen = 0.0;\n';
        code += roiSamplesCode(H, W, ratio, roiMaxCode(x0));
        code += 'if (seen > 0.5 && !(anyOut > 0.5 && best < 0.0) && bestP === pix) {\nacc += g * bestW;\n}\n';
      } else {
        const term = (k: number) => `if (p${k} === pix) {\nacc += g * w${k} / count;\n}\n`;
        code += roiSamplesCode(H, W, ratio, [1, 2, 3, 4].map(term).join(''));
      }
      return `${code}}\n}\n}\n}\nreturn acc;`;
    }),
  ];
});
