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
