import { ngramTable, ops, resizeDimensions, sizeOf } from '@graphc/graph';
import { floatLit } from '../helpers';
import { Lowering, TensorRef, broadcastRead, registerGpujsKernel, registerGpujsUnsupported } from '../program';
import { reduce } from './reduce';

/**
 * Ops from ONNX's operator set that graphc adds for import: layerNorm, rmsNorm, lrnNchw, nllLoss, einsum,
 * det. Same formulas and loop orders as the cpu kernels, in float32.
 */

/**
 * layerNorm: per block from `axis` on, [mean, 1 / sqrt(var + eps)] in one kernel, then y, mean, invStd.
 * rmsNorm: the same with a mean of 0, then y and invStd.
 */
function normalizeKernel(rms: boolean): Lowering {
  return (ctx) => {
    const [x, scale, bias] = ctx.inputs;
    const [y, ...statOutputs] = ctx.outputs;
    const [meanOut, invOut] = rms ? [undefined, statOutputs[0]] : statOutputs;
    const rank = x.shape.length;
    const a = Number(ctx.attrs.axis ?? -1);
    const axis = a < 0 ? a + rank : a;
    const eps = floatLit(Number(ctx.attrs.epsilon ?? 1e-5));
    const block = x.shape.slice(axis);
    const inner = sizeOf(block);
    const outer = sizeOf(x.shape.slice(0, axis));
    const stats = ctx.kernel([outer, 2], x.dtype, [x], ([x0]) => {
      let code = `const o = Math.floor(i / 2);\nconst base = o * ${inner};\n`;
      if (rms) code += `const m = 0.0;\nif (i % 2 === 0) {\nreturn m;\n}\n`;
      else code += `let sum = 0.0;\nfor (let k = 0; k < ${inner}; k++) {\nsum += ${x0}[base + k];\n}\nconst m = sum / ${inner}.0;\nif (i % 2 === 0) {\nreturn m;\n}\n`;
      code += `let sq = 0.0;\nfor (let k = 0; k < ${inner}; k++) {\nconst c = ${x0}[base + k] - m;\nsq += c * c;\n}\nreturn 1.0 / Math.sqrt(sq / ${inner}.0 + ${eps});`;
      return code;
    });
    const args: TensorRef[] = bias ? [x, stats, scale, bias] : [x, stats, scale];
    const out = ctx.kernel(y.shape, y.dtype, args, ([x0, s, sc, b]) => {
      const rs = broadcastRead(scale.shape, block, 'sb', 'j');
      let code = `const o = Math.floor(i / ${inner});\nconst j = i % ${inner};\n${rs.code}const v = (${x0}[i] - ${s}[2 * o]) * ${s}[2 * o + 1] * ${sc}[${rs.index}];\n`;
      if (!bias) return `${code}return v;`;
      const rb = broadcastRead(bias.shape, block, 'bb', 'j');
      return `${code}${rb.code}return v + ${b}[${rb.index}];`;
    });
    const results = [out];
    if (meanOut) results.push(ctx.kernel(meanOut.shape, meanOut.dtype, [stats], ([s]) => `return ${s}[2 * i];`));
    if (invOut) results.push(ctx.kernel(invOut.shape, invOut.dtype, [stats], ([s]) => `return ${s}[2 * i + 1];`));
    return results;
  };
}

registerGpujsKernel('layerNorm', normalizeKernel(false));
registerGpujsKernel('rmsNorm', normalizeKernel(true));

/** lrnNchw: x / (bias + alpha / size * sum of squares over neighbouring channels) ^ beta. */
registerGpujsKernel('lrnNchw', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const C = x.shape[1];
  const inner = sizeOf(x.shape.slice(2));
  const size = Number(ctx.attrs.size);
  const alpha = Number(ctx.attrs.alpha ?? 1e-4);
  const beta = floatLit(Number(ctx.attrs.beta ?? 0.75));
  const bias = floatLit(Number(ctx.attrs.bias ?? 1));
  const lo = Math.floor((size - 1) / 2);
  const hi = Math.ceil((size - 1) / 2);
  return [
    ctx.kernel(out.shape, out.dtype, [x], ([x0]) => {
      let code = `const j = i % ${inner};\nconst c = Math.floor(i / ${inner}) % ${C};\nconst n = Math.floor(i / ${inner * C});\nlet sq = 0.0;\n`;
      code += `for (let t = 0; t < ${lo + hi + 1}; t++) {\nconst k = c - ${lo} + t;\nif (k >= 0 && k < ${C}) {\nconst v = ${x0}[(n * ${C} + k) * ${inner} + j];\nsq += v * v;\n}\n}\n`;
      return `${code}return ${x0}[i] / Math.pow(${bias} + ${floatLit(alpha / size)} * sq, ${beta});`;
    }),
  ];
});

/** nllLoss: -input[n, target, d] * weight[target] per element (0 for ignored targets), then the reduction. */
registerGpujsKernel('nllLoss', (ctx) => {
  const [input, target, weight] = ctx.inputs;
  const out = ctx.outputs[0];
  const [N, C] = input.shape;
  const D = sizeOf(input.shape.slice(2));
  const ignore = typeof ctx.attrs.ignoreIndex === 'number' ? ctx.attrs.ignoreIndex : null;
  const reduction = String(ctx.attrs.reduction ?? 'mean');
  const args = weight ? [input, target, weight] : [input, target];
  // [loss, weight] per element
  const pairs = ctx.kernel([N * D, 2], input.dtype, args, ([x0, t0, w0]) => {
    let code = `const e = Math.floor(i / 2);\nconst d = e % ${D};\nconst n = Math.floor(e / ${D});\nconst t = Math.floor(${t0}[e] + 0.5);\n`;
    if (ignore !== null) code += `if (t === ${ignore}) {\nreturn 0.0;\n}\n`;
    code += `const tc = Math.min(Math.max(t, 0), ${C - 1});\nconst w = ${weight ? `${w0}[tc]` : '1.0'};\n`;
    return `${code}if (i % 2 === 1) {\nreturn w;\n}\nreturn -${x0}[(n * ${C} + tc) * ${D} + d] * w;`;
  });
  if (reduction === 'none') return [ctx.kernel(out.shape, out.dtype, [pairs], ([p]) => `return ${p}[2 * i];`)];
  const sums = reduce(ctx, pairs, new Set([0]), [2], input.dtype, { kind: 'sum' });
  return [ctx.kernel(out.shape, out.dtype, [sums], ([s]) => (reduction === 'sum' ? `return ${s}[0];` : `return ${s}[0] / ${s}[1];`))];
});

/** einsum: output labels from the flat index, nested loops over the summed labels, one product per tap. */
registerGpujsKernel('einsum', (ctx) => {
  const inputs = ctx.inputs;
  const out = ctx.outputs[0];
  const { labels, dims, outLabels, sumLabels, strides } = ops.einsumLoops(String(ctx.attrs.equation), inputs.map((i) => i.shape));
  const outDims = dims.slice(0, outLabels.length);
  return [
    ctx.kernel(out.shape, out.dtype, inputs, (names) => {
      const outStrides = outDims.map((_, d) => sizeOf(outDims.slice(d + 1)));
      let code = outLabels.map((_, l) => `const l${l} = Math.floor(i / ${outStrides[l]}) % ${outDims[l]};\n`).join('');
      code += 'let acc = 0.0;\n';
      let open = '';
      let close = '';
      sumLabels.forEach((_, k) => {
        open += `for (let l${outLabels.length + k} = 0; l${outLabels.length + k} < ${dims[outLabels.length + k]}; l${outLabels.length + k}++) {\n`;
        close += '}\n';
      });
      const product = inputs
        .map((_, i) => {
          const off = labels.map((_, l) => (strides[i][l] ? `l${l} * ${strides[i][l]}` : '')).filter((t) => t).join(' + ') || '0';
          return `${names[i]}[${off}]`;
        })
        .join(' * ');
      return `${code}${open}acc += ${product};\n${close}return acc;`;
    }),
  ];
});

/**
 * det: LU decomposition with partial pivoting, one matrix per thread, unrolled over scalar locals
 * (gpu.js kernels have no local arrays): the cpu kernel's pivot choice and elimination order.
 */
registerGpujsKernel('det', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const n = x.shape[x.shape.length - 1];
  return [
    ctx.kernel(out.shape, out.dtype, [x], ([x0]) => {
      const a = (r: number, c: number): string => `a${r}_${c}`;
      let code = `const base = i * ${n * n};\nlet det = 1.0;\nlet best = 0.0;\nlet p = 0;\nlet t = 0.0;\nlet f = 0.0;\n`;
      for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) code += `let ${a(r, c)} = ${x0}[base + ${r * n + c}];\n`;
      for (let c = 0; c < n; c++) {
        code += `p = ${c};\nbest = Math.abs(${a(c, c)});\n`;
        for (let r = c + 1; r < n; r++) code += `if (Math.abs(${a(r, c)}) > best) {\nbest = Math.abs(${a(r, c)});\np = ${r};\n}\n`;
        code += `if (best === 0.0) {\nreturn 0.0;\n}\n`;
        for (let r = c + 1; r < n; r++) {
          code += `if (p === ${r}) {\n`;
          for (let k = 0; k < n; k++) code += `t = ${a(c, k)};\n${a(c, k)} = ${a(r, k)};\n${a(r, k)} = t;\n`;
          code += `det = -det;\n}\n`;
        }
        code += `det = det * ${a(c, c)};\n`;
        for (let r = c + 1; r < n; r++) {
          code += `f = ${a(r, c)} / ${a(c, c)};\n`;
          for (let k = c; k < n; k++) code += `${a(r, k)} = ${a(r, k)} - f * ${a(c, k)};\n`;
        }
      }
      return `${code}return det;`;
    }),
  ];
});

registerGpujsUnsupported(
  'nonZero',
  'its output size depends on the input values, and a gpu.js kernel has a fixed output size: the session evaluates it on the cpu between two gpujs stages (runtime/src/staged.ts)',
);
registerGpujsUnsupported(
  'dynamicAttrs',
  'its attrs (and so its output shape) come from tensor values at run time, and a gpu.js kernel has a fixed output size: the session evaluates it on the cpu between two gpujs stages (runtime/src/staged.ts)',
);

/**
 * resize: one kernel per resized dimension, each output coordinate a weighted sum over the input
 * coordinates its taps name (nearest 1, linear 2, cubic 4). The taps depend only on shapes and
 * attrs, so they are computed on the host by resizeTaps, as for the cpu kernel, and reach the
 * kernel as constants.
 */
registerGpujsKernel('resize', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const extrapolation = floatLit(Number(ctx.attrs.extrapolationValue ?? 0));
  let cur = x;
  for (const [d, { outLen, taps: t }] of resizeDimensions(ctx.attrs, x.shape).entries()) {
    if (!t) continue;
    const inLen = cur.shape[d];
    const shape = cur.shape.map((s, i) => (i === d ? outLen : s));
    const inner = sizeOf(cur.shape.slice(d + 1));
    if (inLen === 0) {
      cur = ctx.constant(new Float32Array(sizeOf(shape)).fill(Number(ctx.attrs.extrapolationValue ?? 0)), shape, x.dtype);
      continue;
    }
    // an index of -1 marks an extrapolated coordinate for the kernel
    const index = ctx.constant(Float32Array.from(t.index, (v, k) => (t.outside[Math.floor(k / t.width)] ? -1 : v)), [outLen * t.width], 'float32');
    const weight = ctx.constant(Float32Array.from(t.weight), [outLen * t.width], 'float32');
    cur = ctx.kernel(shape, x.dtype, [cur, index, weight], ([x0, ix, wt]) => {
      let code = `const j = Math.floor(i / ${inner}) % ${outLen};\nconst o = Math.floor(i / ${inner * outLen});\nconst e = i % ${inner};\n`;
      code += `let v = 0.0;\nlet outside = false;\nfor (let k = 0; k < ${t.width}; k++) {\nconst idx = ${ix}[j * ${t.width} + k];\n`;
      code += `if (idx < 0) {\noutside = true;\n}\nif (!outside) {\nv += ${wt}[j * ${t.width} + k] * ${x0}[(o * ${inLen} + idx) * ${inner} + e];\n}\n}\n`;
      return `${code}if (outside) {\nreturn ${extrapolation};\n}\nreturn v;`;
    });
  }
  return [cur === x ? ctx.kernel(out.shape, out.dtype, [x], ([x0]) => `return ${x0}[i];`) : ctx.alias(cur, out.shape, out.dtype)];
});

/**
 * tfIdfVectorizer: a thread per output element (row, output index) tries each pool n-gram that adds
 * there at every start, and for n >= 2 every skip, then weights the count as the mode says. The pool
 * reaches the kernel as two constants: the tokens, and per n-gram [output, start, length, weight].
 * gpu.js holds integers as float32, exact to 2^24 (tokens compare within a half).
 */
registerGpujsKernel('tfIdfVectorizer', (ctx) => {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const { ngrams, width, mode, minGramLength, maxGramLength, maxSkipCount } = ngramTable(ctx.attrs, `op 'tfIdfVectorizer' (node '${ctx.node.name}'): `);
  if (sizeOf(out.shape) === 0 || ngrams.length === 0) return [ctx.constant(new Float32Array(sizeOf(out.shape)), out.shape, 'float32')];
  const length = x.shape[x.shape.length - 1];
  const tokens: number[] = [];
  const meta: number[] = [];
  for (const g of ngrams) {
    meta.push(g.output, tokens.length, g.tokens.length, g.weight);
    tokens.push(...g.tokens);
  }
  const longest = Math.max(...ngrams.map((g) => g.tokens.length));
  const pool = ctx.constant(Float32Array.from(tokens), [tokens.length], 'float32');
  const table = ctx.constant(Float32Array.from(meta), [meta.length], 'float32');
  const weighted = mode === 'TF' ? 'c' : mode === 'IDF' ? '(c > 0.0 ? w : 0.0)' : 'c * w';
  return [
    ctx.kernel(out.shape, 'float32', [x, pool, table], ([x0, p0, m0]) => {
      let code = `const r = Math.floor(i / ${width});\nconst o = i % ${width};\nlet acc = 0.0;\n`;
      code += `for (let g = 0; g < ${ngrams.length}; g++) {\nconst n = ${m0}[g * 4 + 2];\n`;
      code += `if (Math.abs(${m0}[g * 4] - o) < 0.5 && n >= ${minGramLength} && n <= ${maxGramLength}) {\n`;
      code += `const s = ${m0}[g * 4 + 1];\nconst w = ${m0}[g * 4 + 3];\nlet c = 0.0;\n`;
      // a 1-gram counts once per position; longer ones once per start and skip (gpu.js loops run to literals)
      code += `for (let d = 1; d <= ${maxSkipCount + 1}; d++) {\nif (d === 1 || n > 1.5) {\n`;
      code += `for (let p = 0; p < ${length}; p++) {\nif (p + (n - 1) * d < ${length}) {\nlet hit = 1.0;\n`;
      code += `for (let t = 0; t < ${longest}; t++) {\nif (t < n) {\n`;
      code += `if (Math.abs(${x0}[r * ${length} + p + t * d] - ${p0}[s + t]) > 0.5) {\nhit = 0.0;\n}\n}\n}\n`;
      code += `c += hit;\n}\n}\n}\n}\nacc += ${weighted};\n}\n}\nreturn acc;`;
      return code;
    }),
  ];
});
