import { Attrs, TensorValue, UnsupportedOpError, sizeOf, window2d } from '@graphc/graph';
import { getCpuKernel } from '../../cpu/kernel';
import { floatLit } from '../helpers';
import { LowerContext, TensorRef, registerGpujsKernel } from '../program';
import { readInputs, registerAnchorKernel } from './elementwise';

/**
 * nn ops over NHWC tensors, one output element per thread: convolutions loop over their window
 * (and input channels), pools over their window, softmax-like ops over one row.
 */

interface Geometry {
  n: number;
  h: number;
  w: number;
  c: number;
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
}

function pairOf(v: unknown, fallback: number): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [fallback, fallback];
}

function geometry(x: TensorRef, kh: number, kw: number, attrs: Attrs, where: string): Geometry {
  const [n, h, w, c] = x.shape;
  const [sh, sw] = pairOf(attrs.strides, 1);
  const [dh, dw] = pairOf(attrs.dilations, 1);
  const g = window2d(h, w, { window: [kh, kw], strides: [sh, sw], dilations: [dh, dw], padding: attrs.padding }, where);
  return { n, h, w, c, outH: g.outH!, outW: g.outW!, padTop: g.padTop, padLeft: g.padLeft, sh, sw, dh, dw };
}

/** Statements splitting the output flat index into batch `b`, output pixel `oy, ox` and channel `oc`. */
function pixel(g: Geometry, channels: number): string {
  return (
    `const oc = i % ${channels};\nconst ox = Math.floor(i / ${channels}) % ${g.outW};\n` +
    `const oy = Math.floor(i / ${channels * g.outW}) % ${g.outH};\nconst b = Math.floor(i / ${channels * g.outW * g.outH});\n` +
    `const py0 = oy * ${g.sh} - ${g.padTop};\nconst px0 = ox * ${g.sw} - ${g.padLeft};\n`
  );
}

/** conv2d: out[b, oy, ox, m] = sum over ky, kx, c of x[b, iy, ix, c] * filter[ky, kx, c, m]. */
registerAnchorKernel('conv2d', (ctx, [x, filter], attrs) => {
  const [kh, kw, cin, m] = filter.shape;
  const g = geometry(x, kh, kw, attrs, ctx.where);
  return {
    args: [x, filter],
    code: ([x0, f]) =>
      `${pixel(g, m)}let acc = 0.0;\n` +
      `for (let ky = 0; ky < ${kh}; ky++) {\nconst iy = py0 + ky * ${g.dh};\nif (iy >= 0 && iy < ${g.h}) {\n` +
      `for (let kx = 0; kx < ${kw}; kx++) {\nconst ix = px0 + kx * ${g.dw};\nif (ix >= 0 && ix < ${g.w}) {\n` +
      `const src = ((b * ${g.h} + iy) * ${g.w} + ix) * ${cin};\nconst tap = (ky * ${kw} + kx) * ${cin * m} + oc;\n` +
      `let ia = src;\nlet ib = tap;\nfor (let c = 0; c < ${cin}; c++) {\nacc += ${x0}[ia] * ${f}[ib];\nia += 1;\nib += ${m};\n}\n` +
      `}\n}\n}\n}\n`,
  };
});

/** depthwiseConv2d: out[b, oy, ox, c * M + m] = sum over ky, kx of x[b, iy, ix, c] * filter[ky, kx, c, m]. */
registerAnchorKernel('depthwiseConv2d', (ctx, [x, filter], attrs) => {
  const [kh, kw, cin, mult] = filter.shape;
  const g = geometry(x, kh, kw, attrs, ctx.where);
  const cout = cin * mult;
  return {
    args: [x, filter],
    code: ([x0, f]) =>
      `${pixel(g, cout)}const c = Math.floor(oc / ${mult});\nlet acc = 0.0;\n` +
      `for (let ky = 0; ky < ${kh}; ky++) {\nconst iy = py0 + ky * ${g.dh};\nif (iy >= 0 && iy < ${g.h}) {\n` +
      `for (let kx = 0; kx < ${kw}; kx++) {\nconst ix = px0 + kx * ${g.dw};\nif (ix >= 0 && ix < ${g.w}) {\n` +
      `acc += ${x0}[((b * ${g.h} + iy) * ${g.w} + ix) * ${cin} + c] * ${f}[(ky * ${kw} + kx) * ${cout} + oc];\n` +
      `}\n}\n}\n}\n`,
  };
});

/** maxPool / avgPool: the window clipped to the input (padding never takes part, as TensorFlow). */
for (const kind of ['max', 'avg'] as const) {
  registerGpujsKernel(`${kind}Pool`, (ctx) => {
    const [x] = ctx.inputs;
    const out = ctx.outputs[0];
    const [kh, kw] = ctx.attrs.ksize as number[];
    const g = geometry(x, kh, kw, { ...ctx.attrs, dilations: [1, 1] }, ctx.where);
    return [
      ctx.kernel(out.shape, out.dtype, [x], ([x0]) => {
        let code = `${pixel(g, g.c)}`;
        code += `const yStart = Math.max(py0, 0);\nconst yEnd = Math.min(py0 + ${kh}, ${g.h});\nconst xStart = Math.max(px0, 0);\nconst xEnd = Math.min(px0 + ${kw}, ${g.w});\n`;
        code += kind === 'max' ? `let acc = ${x0}[((b * ${g.h} + yStart) * ${g.w} + xStart) * ${g.c} + oc];\n` : 'let acc = 0.0;\n';
        const v = `${x0}[((b * ${g.h} + iy) * ${g.w} + ix) * ${g.c} + oc]`;
        const body = kind === 'max' ? `const v = ${v};\nif (v > acc || v !== v) {\nacc = v;\n}\n` : `acc += ${v};\n`;
        // literal loop bounds over the whole window; cells outside the clipped window are skipped
        code += `for (let ky = 0; ky < ${kh}; ky++) {\nconst iy = py0 + ky;\nif (iy >= yStart && iy < yEnd) {\n`;
        code += `for (let kx = 0; kx < ${kw}; kx++) {\nconst ix = px0 + kx;\nif (ix >= xStart && ix < xEnd) {\n${body}}\n}\n}\n}\n`;
        if (kind === 'max') return `${code}return acc;`;
        return `${code}const count = (yEnd - yStart) * (xEnd - xStart);\nif (count > 0) {\nreturn acc / count;\n}\nreturn 0.0;`;
      }),
    ];
  });
}

/** batchNorm: (x - mean) * scale / sqrt(variance + eps) + offset, the statistics broadcast. */
registerGpujsKernel('batchNorm', (ctx) => {
  const out = ctx.outputs[0];
  const eps = floatLit(Number(ctx.attrs.varianceEpsilon ?? 1e-3));
  return [
    ctx.kernel(out.shape, out.dtype, ctx.inputs, (names) => {
      const locals = ['xv', 'mv', 'vv', 'ov', 'sv'];
      return `${readInputs(ctx.inputs, names, out.shape, locals)}return (xv - mv) * (sv / Math.sqrt(vv + ${eps})) + ov;`;
    }),
  ];
});

/** Per row of `axis`: max, then sum of exp(x - max); the row statistic kernels of softmax and the losses. */
function rowStats(ctx: LowerContext, x: TensorRef, axis: number): { stats: TensorRef; len: number; inner: number } {
  const len = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const rows = sizeOf(x.shape) / len;
  const readAt = (k: string): string => `base + ${k} * ${inner}`;
  // two values per row: [max, log(sum(exp(x - max)))]
  const stats = ctx.kernel([rows, 2], x.dtype, [x], ([x0]) => {
    let code = `const r = Math.floor(i / 2);\nconst j = r % ${inner};\nconst base = Math.floor(r / ${inner}) * ${len * inner} + j;\n`;
    code += `let m = ${x0}[base];\nfor (let k = 1; k < ${len}; k++) {\nm = Math.max(m, ${x0}[${readAt('k')}]);\n}\n`;
    code += `if (i % 2 === 0) {\nreturn m;\n}\n`;
    code += `let s = 0.0;\nfor (let k = 0; k < ${len}; k++) {\ns += Math.exp(${x0}[${readAt('k')}] - m);\n}\nreturn Math.log(s);`;
    return code;
  });
  return { stats, len, inner };
}

for (const log of [false, true]) {
  registerGpujsKernel(log ? 'logSoftmax' : 'softmax', (ctx) => {
    const [x] = ctx.inputs;
    const out = ctx.outputs[0];
    const rank = x.shape.length;
    const a = Number(ctx.attrs.axis ?? -1);
    const axis = a < 0 ? a + rank : a;
    const { stats, len, inner } = rowStats(ctx, x, axis);
    return [
      ctx.kernel(out.shape, out.dtype, [x, stats], ([x0, s]) => {
        const code = `const r = Math.floor(i / ${len * inner}) * ${inner} + i % ${inner};\nconst z = ${x0}[i] - ${s}[2 * r] - ${s}[2 * r + 1];\n`;
        return log ? `${code}return z;` : `${code}return Math.exp(z);`;
      }),
    ];
  });
}

/**
 * multinomial: the uniform draws come from the host, with the cpu kernel's generator in its order
 * (one per sample, row-major), so the indices are the cpu's. Each row's max and sum of exp(logit -
 * max) come once from rowStats (as softmax's); per sample the kernel scans the row's cumulative
 * exp(logit - max) for the first class past u * sum, as the cpu kernel searches it.
 */
registerGpujsKernel('multinomial', (ctx) => {
  const [logits] = ctx.inputs;
  const out = ctx.outputs[0];
  const [, classes] = logits.shape;
  const samples = out.shape[1];
  const { stats } = rowStats(ctx, logits, 1);
  const draws = ctx.hostRandom(out.shape, 'float32', (size) => {
    const rng = ctx.rng();
    return Float32Array.from({ length: size }, () => rng.next());
  });
  return [
    ctx.kernel(out.shape, out.dtype, [logits, stats, draws], ([x0, st, u]) => {
      let code = `const row = Math.floor(i / ${samples});\nconst base = row * ${classes};\nconst m = ${st}[2 * row];\n`;
      code += `const target = ${u}[i] * Math.exp(${st}[2 * row + 1]);\nlet sum = 0.0;\nlet found = ${classes - 1};\nlet open = 1.0;\n`;
      code += `for (let k = 0; k < ${classes}; k++) {\nsum += Math.exp(${x0}[base + k] - m);\n`;
      code += `if (open > 0.5 && sum > target) {\nfound = k;\nopen = 0.0;\n}\n}\n`;
      return `${code}return found;`;
    }),
  ];
});

/** Per row of the class axis: logsumexp(logits) - logits[label] (labels out of range clamp). */
registerGpujsKernel('sparseSoftmaxCrossEntropyWithLogits', (ctx) => {
  const [labels, logits] = ctx.inputs;
  const out = ctx.outputs[0];
  const classes = logits.shape[logits.shape.length - 1];
  const { stats } = rowStats(ctx, logits, logits.shape.length - 1);
  return [
    ctx.kernel(out.shape, out.dtype, [labels, logits, stats], ([y, x0, s]) => {
      const code = `const label = Math.min(Math.max(Math.floor(${y}[i] + 0.5), 0), ${classes - 1});\n`;
      return `${code}return ${s}[2 * i] + ${s}[2 * i + 1] - ${x0}[i * ${classes} + label];`;
    }),
  ];
});

/** dy * (softmax(logits) - onehot(label)) per element of the logits (labels out of range clamp). */
registerGpujsKernel('sparseSoftmaxCrossEntropyWithLogitsGrad', (ctx) => {
  const [labels, logits, dy] = ctx.inputs;
  const out = ctx.outputs[0];
  const classes = logits.shape[logits.shape.length - 1];
  const { stats } = rowStats(ctx, logits, logits.shape.length - 1);
  return [
    ctx.kernel(out.shape, out.dtype, [labels, logits, dy, stats], ([y, x0, d, s]) => {
      let code = `const r = Math.floor(i / ${classes});
const k = i - r * ${classes};
`;
      code += `const label = Math.min(Math.max(Math.floor(${y}[r] + 0.5), 0), ${classes - 1});
`;
      code += `const p = Math.exp(${x0}[i] - ${s}[2 * r] - ${s}[2 * r + 1]);
`;
      return `${code}return ${d}[r] * (k === label ? p - 1.0 : p);`;
    }),
  ];
});

/** Per row: sum over classes of labels * (logsumexp(logits) - logits). */
registerGpujsKernel('softmaxCrossEntropyWithLogits', (ctx) => {
  const [labels, logits] = ctx.inputs;
  const out = ctx.outputs[0];
  const classes = logits.shape[logits.shape.length - 1];
  const { stats } = rowStats(ctx, logits, logits.shape.length - 1);
  return [
    ctx.kernel(out.shape, out.dtype, [labels, logits, stats], ([y, x0, s]) => {
      let code = `const lse = ${s}[2 * i] + ${s}[2 * i + 1];\nlet loss = 0.0;\n`;
      code += `for (let k = 0; k < ${classes}; k++) {\nloss += ${y}[i * ${classes} + k] * (lse - ${x0}[i * ${classes} + k]);\n}\n`;
      return `${code}return loss;`;
    }),
  ];
});

/**
 * dropout: the keep mask is drawn on the host from the op's seeded stream (the same draws, in the
 * same order, as the cpu kernel, which a GPU generator cannot reproduce), then applied by a kernel.
 */
registerGpujsKernel('dropout', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const rate = Number(ctx.attrs.rate);
  if (rate === 0) return [ctx.kernel(out.shape, out.dtype, [x], ([x0]) => `return ${x0}[i];`), ctx.kernel(out.shape, out.dtype, [], () => 'return 1.0;')];
  const scale = 1 / (1 - rate);
  const mask = ctx.hostRandom(out.shape, 'float32', (size) => {
    const rng = ctx.rng();
    const m = new Float32Array(size);
    for (let k = 0; k < size; k++) m[k] = rng.next() < rate ? 0 : scale;
    return m;
  });
  // output 1, each element's factor, is the mask itself (the gradient's dy * factor)
  return [ctx.kernel(out.shape, out.dtype, [x, mask], ([x0, m]) => `return ${x0}[i] * ${m}[i];`), mask];
});

/**
 * Random sources draw on the host with the cpu kernel itself and the session's seeded stream of the
 * op, so every backend gives the same numbers; a kernel then hands them to the device.
 */
for (const op of ['randomUniform', 'randomNormal', 'truncatedNormal']) {
  registerGpujsKernel(op, (ctx) => {
    const out = ctx.outputs[0];
    const kernel = getCpuKernel(op);
    if (!kernel) throw new UnsupportedOpError(`${ctx.where}no reference sampler for '${op}'`, [op]);
    const draws = ctx.hostRandom(out.shape, out.dtype, () => {
      const [v] = kernel([], ctx.attrs, {
        node: ctx.node,
        outputs: [out],
        alloc: (dtype, shape) => ({ dtype, shape: [...shape], data: new Float64Array(sizeOf(shape)) }) as TensorValue,
        rng: ctx.rng,
        variables: new Map(),
      });
      return Float32Array.from(v.data);
    });
    return [ctx.kernel(out.shape, out.dtype, [draws], ([d]) => `return ${d}[i];`)];
  });
}

