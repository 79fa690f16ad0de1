import { NhwcWindow, nhwcWindow, sizeOf, stridesOf } from '@graphc/graph';
import { LowerContext, TensorRef, coordinates, registerGpujsKernel } from '../program';
import { gatherGeometry } from './array';

/**
 * Gradient ops, written as gathers: each output element sums the upstream elements that came from
 * it (a scatter-add turned around), so no kernel needs atomics or writes another thread's output.
 */

/** sliceGrad(dy, x): dy inside the sliced block, 0 elsewhere. */
registerGpujsKernel('sliceGrad', (ctx) => {
  const [dy] = ctx.inputs;
  const out = ctx.outputs[0];
  const begin = ctx.attrs.begin as number[];
  const dyStrides = stridesOf(dy.shape);
  return [
    ctx.kernel(out.shape, out.dtype, [dy], ([d]) => {
      const c = coordinates(out.shape, 'i', 'o');
      const inside = out.shape.map((_, k) => `(${c.names[k]} - ${begin[k]} >= 0 && ${c.names[k]} - ${begin[k]} < ${dy.shape[k]})`);
      const index = out.shape.map((_, k) => `(${c.names[k]} - ${begin[k]}) * ${dyStrides[k]}`).join(' + ') || '0';
      return `${c.code}if (${inside.join(' && ') || 'true'}) {\nreturn ${d}[${index}];\n}\nreturn 0.0;`;
    }),
  ];
});

/** gatherGrad(dy, indices, params): params-shaped sum of the dy rows each index picked. */
registerGpujsKernel('gatherGrad', (ctx) => {
  const [dy, indices] = ctx.inputs;
  const out = ctx.outputs[0];
  const { dim, inner, count } = gatherGeometry(ctx, out.shape, indices.shape);
  return [
    ctx.kernel(out.shape, out.dtype, [dy, indices], ([d, idx]) => {
      let code = `const j = i % ${inner};\nconst v = Math.floor(i / ${inner}) % ${dim};\nconst o = Math.floor(i / ${inner * dim});\nlet acc = 0.0;\n`;
      code += `for (let n = 0; n < ${count}; n++) {\nlet k = Math.floor(${idx}[n] + 0.5);\nif (k < 0) {\nk = k + ${dim};\n}\n`;
      code += `if (k === v) {\nacc += ${d}[(o * ${count} + n) * ${inner} + j];\n}\n}\n`;
      return `${code}return acc;`;
    }),
  ];
});

/** tileGrad(dy, x): each element of x sums its copies in dy. */
registerGpujsKernel('tileGrad', (ctx) => {
  const [dy] = ctx.inputs;
  const out = ctx.outputs[0];
  const multiples = ctx.attrs.multiples as number[];
  const dyStrides = stridesOf(dy.shape);
  return [
    ctx.kernel(out.shape, out.dtype, [dy], ([d]) => {
      const c = coordinates(out.shape, 'i', 'o');
      let open = '';
      let close = '';
      const terms: string[] = [];
      multiples.forEach((m, k) => {
        if (m > 1) {
          open += `for (let t${k} = 0; t${k} < ${m}; t${k}++) {\n`;
          close += '}\n';
          terms.push(`(${c.names[k]} + t${k} * ${out.shape[k]}) * ${dyStrides[k]}`);
        } else terms.push(`${c.names[k]} * ${dyStrides[k]}`);
      });
      return `${c.code}let acc = 0.0;\n${open}acc += ${d}[${terms.join(' + ') || '0'}];\n${close}return acc;`;
    }),
  ];
});

/**
 * padGrad(dy, x): the dy element over each x element, plus (reflect/symmetric) the mirrored padding
 * elements that copied it: per dimension up to three dy positions, tried in every combination; for
 * edge, a first or last element also sums the padding before or after it (a run per dimension); for
 * wrap, every position dim apart from its own.
 */
registerGpujsKernel('padGrad', (ctx) => {
  const [dy] = ctx.inputs;
  const out = ctx.outputs[0];
  const p = ctx.attrs.paddings as number[];
  const mode = String(ctx.attrs.mode ?? 'constant');
  const dyStrides = stridesOf(dy.shape);
  return [
    ctx.kernel(out.shape, out.dtype, [dy], ([d]) => {
      const c = coordinates(out.shape, 'i', 'o');
      if (mode === 'constant') {
        const index = out.shape.map((_, k) => `(${c.names[k]} + ${p[2 * k]}) * ${dyStrides[k]}`).join(' + ') || '0';
        return `${c.code}return ${d}[${index}];`;
      }
      let code = `${c.code}let acc = 0.0;\n`;
      let close = '';
      if (mode === 'wrap' || mode === 'edge') {
        // one loop per dimension over the dy positions q that copied x's element (gpu.js counts
        // loops in integers from a literal, so t runs to a bound known here and q follows it)
        out.shape.forEach((dim, k) => {
          const [before, after] = [p[2 * k], p[2 * k + 1]];
          const j = c.names[k];
          if (mode === 'wrap') {
            code += `for (let t${k} = 0; t${k} < ${Math.ceil(dy.shape[k] / dim) + 1}; t${k}++) {\n`;
            code += `let q${k} = (${j} + ${before}) % ${dim} + t${k} * ${dim};\n`;
            code += `if (q${k} < ${dy.shape[k]}) {\n`;
          } else {
            // the interior position, and for a first or last element the padding before or after
            // it (the whole padded dimension when it has one element)
            code += `for (let t${k} = 0; t${k} < ${before + after + 1}; t${k}++) {\n`;
            code += `let q${k} = ${j} + ${before} + t${k};\n`;
            code += `if (${j} === 0) {\nq${k} = t${k};\n}\n`;
            code += `if (q${k} === ${j} + ${before} || (${j} === 0 && q${k} < ${before}) || (${j} === ${dim - 1} && q${k} < ${before + dim + after})) {\n`;
          }
          close += '}\n}\n';
        });
        const index = out.shape.map((_, k) => `q${k} * ${dyStrides[k]}`).join(' + ') || '0';
        return `${code}acc += ${d}[${index}];\n${close}return acc;`;
      }
      const shift = mode === 'reflect' ? 0 : 1;
      out.shape.forEach((dim, k) => {
        const [before, after] = [p[2 * k], p[2 * k + 1]];
        const j = c.names[k];
        // t = 0: the element itself; 1: its mirror in the leading pad; 2: in the trailing pad
        code += `for (let t${k} = 0; t${k} < 3; t${k}++) {\nlet q${k} = ${j} + ${before};\nlet ok${k} = true;\n`;
        code += `if (t${k} === 1) {\nq${k} = ${before - shift} - ${j};\nok${k} = q${k} >= 0 && q${k} < ${before} && ${j} >= ${1 - shift};\n}\n`;
        code += `if (t${k} === 2) {\nq${k} = ${before + 2 * dim - 2 + shift} - ${j};\nok${k} = q${k} >= ${before + dim} && q${k} < ${before + dim + after} && ${j} <= ${dim - 2 + shift};\n}\n`;
        code += `if (ok${k}) {\n`;
        close += '}\n}\n';
      });
      const index = out.shape.map((_, k) => `q${k} * ${dyStrides[k]}`).join(' + ') || '0';
      return `${code}acc += ${d}[${index}];\n${close}return acc;`;
    }),
  ];
});


/** Loops over the output pixels (oy, ox) whose tap (ky, kx) lands on input pixel (iy, ix). */
function tapsOnto(g: NhwcWindow, body: string): string {
  return (
    `for (let ky = 0; ky < ${g.kh}; ky++) {\nconst ty = iy + ${g.padTop} - ky * ${g.dh};\n` +
    `if (ty >= 0 && ty % ${g.sh} === 0 && ty < ${g.outH * g.sh}) {\nconst oy = Math.floor(ty / ${g.sh});\n` +
    `for (let kx = 0; kx < ${g.kw}; kx++) {\nconst tx = ix + ${g.padLeft} - kx * ${g.dw};\n` +
    `if (tx >= 0 && tx % ${g.sw} === 0 && tx < ${g.outW * g.sw}) {\nconst ox = Math.floor(tx / ${g.sw});\n${body}}\n}\n}\n}\n`
  );
}

const inputPixel = (g: NhwcWindow, c: number): string =>
  `const c = i % ${c};\nconst ix = Math.floor(i / ${c}) % ${g.w};\nconst iy = Math.floor(i / ${c * g.w}) % ${g.h};\nconst b = Math.floor(i / ${c * g.w * g.h});\n`;

function backpropInput(ctx: LowerContext, depthwise: boolean): TensorRef[] {
  const [dy, filter, x] = ctx.inputs;
  const out = ctx.outputs[0];
  const [kh, kw, cin, m] = filter.shape;
  const g = nhwcWindow(x.shape, kh, kw, ctx.attrs, ctx.where);
  const cout = depthwise ? cin * m : m;
  return [
    ctx.kernel(out.shape, out.dtype, [dy, filter], ([d, f]) => {
      const dyAt = `((b * ${g.outH} + oy) * ${g.outW} + ox) * ${cout}`;
      const inner = depthwise
        ? `for (let mm = 0; mm < ${m}; mm++) {\nacc += ${d}[${dyAt} + c * ${m} + mm] * ${f}[((ky * ${kw} + kx) * ${cin} + c) * ${m} + mm];\n}\n`
        : `for (let mm = 0; mm < ${m}; mm++) {\nacc += ${d}[${dyAt} + mm] * ${f}[((ky * ${kw} + kx) * ${cin} + c) * ${m} + mm];\n}\n`;
      return `${inputPixel(g, cin)}let acc = 0.0;\n${tapsOnto(g, inner)}return acc;`;
    }),
  ];
}

function backpropFilter(ctx: LowerContext, depthwise: boolean): TensorRef[] {
  const [x, dy, filter] = ctx.inputs;
  const out = ctx.outputs[0];
  const [kh, kw, cin, m] = filter.shape;
  const g = nhwcWindow(x.shape, kh, kw, ctx.attrs, ctx.where);
  const cout = depthwise ? cin * m : m;
  return [
    ctx.kernel(out.shape, out.dtype, [x, dy], ([x0, d]) => {
      let code = `const mm = i % ${m};\nconst c = Math.floor(i / ${m}) % ${cin};\nconst kx = Math.floor(i / ${m * cin}) % ${kw};\nconst ky = Math.floor(i / ${m * cin * kw});\n`;
      const oc = depthwise ? `c * ${m} + mm` : 'mm';
      code += `let acc = 0.0;\nfor (let b = 0; b < ${g.n}; b++) {\nfor (let oy = 0; oy < ${g.outH}; oy++) {\n`;
      code += `const iy = oy * ${g.sh} - ${g.padTop} + ky * ${g.dh};\nif (iy >= 0 && iy < ${g.h}) {\nfor (let ox = 0; ox < ${g.outW}; ox++) {\n`;
      code += `const ix = ox * ${g.sw} - ${g.padLeft} + kx * ${g.dw};\nif (ix >= 0 && ix < ${g.w}) {\n`;
      code += `acc += ${x0}[((b * ${g.h} + iy) * ${g.w} + ix) * ${cin} + c] * ${d}[((b * ${g.outH} + oy) * ${g.outW} + ox) * ${cout} + ${oc}];\n`;
      return `${code}}\n}\n}\n}\n}\nreturn acc;`;
    }),
  ];
}

registerGpujsKernel('conv2dBackpropInput', (ctx) => backpropInput(ctx, false));
registerGpujsKernel('depthwiseConv2dBackpropInput', (ctx) => backpropInput(ctx, true));
registerGpujsKernel('conv2dBackpropFilter', (ctx) => backpropFilter(ctx, false));
registerGpujsKernel('depthwiseConv2dBackpropFilter', (ctx) => backpropFilter(ctx, true));

/**
 * Statements leaving in `at` the flat input index of the first maximum of pool window (oy, ox) for
 * channel c (rows then columns, strict >, as the cpu kernels), or -1 for an empty window.
 */
function argmaxOf(g: NhwcWindow, c: number, x: string): string {
  return (
    `const wy = oy * ${g.sh} - ${g.padTop};\nconst wx = ox * ${g.sw} - ${g.padLeft};\nlet best = 0.0;\nlet at = -1;\n` +
    `for (let ky = 0; ky < ${g.kh}; ky++) {\nconst yy = wy + ky;\nif (yy >= 0 && yy < ${g.h}) {\n` +
    `for (let kx = 0; kx < ${g.kw}; kx++) {\nconst xx = wx + kx;\nif (xx >= 0 && xx < ${g.w}) {\n` +
    `const src = ((b * ${g.h} + yy) * ${g.w} + xx) * ${c} + ch;\nconst v = ${x}[src];\nif (v > best || at < 0) {\nbest = v;\nat = src;\n}\n}\n}\n}\n}\n`
  );
}

function poolGeometry(ctx: LowerContext, x: number[]): NhwcWindow {
  const [kh, kw] = ctx.attrs.ksize as number[];
  return nhwcWindow(x, kh, kw, { ...ctx.attrs, dilations: [1, 1] }, ctx.where);
}

/** Loops over the pool windows (oy, ox) that contain input pixel (iy, ix). */
function windowsOver(g: NhwcWindow, body: string): string {
  const ny = Math.ceil(g.kh / g.sh);
  const nx = Math.ceil(g.kw / g.sw);
  return (
    `const oyHi = Math.floor((iy + ${g.padTop}) / ${g.sh});\nconst oxHi = Math.floor((ix + ${g.padLeft}) / ${g.sw});\n` +
    `for (let ty = 0; ty < ${ny}; ty++) {\nconst oy = oyHi - ty;\nif (oy >= 0 && oy < ${g.outH} && oy * ${g.sh} - ${g.padTop} + ${g.kh} > iy) {\n` +
    `for (let tx = 0; tx < ${nx}; tx++) {\nconst ox = oxHi - tx;\nif (ox >= 0 && ox < ${g.outW} && ox * ${g.sw} - ${g.padLeft} + ${g.kw} > ix) {\n${body}}\n}\n}\n}\n`
  );
}

registerGpujsKernel('maxPoolGrad', (ctx) => {
  const [dy, x] = ctx.inputs;
  const out = ctx.outputs[0];
  const g = poolGeometry(ctx, x.shape);
  const c = x.shape[3];
  return [
    ctx.kernel(out.shape, out.dtype, [dy, x], ([d, x0]) => {
      const pixel = `const ch = i % ${c};\nconst ix = Math.floor(i / ${c}) % ${g.w};\nconst iy = Math.floor(i / ${c * g.w}) % ${g.h};\nconst b = Math.floor(i / ${c * g.w * g.h});\n`;
      const body = `${argmaxOf(g, c, x0)}if (at === i) {\nacc += ${d}[((b * ${g.outH} + oy) * ${g.outW} + ox) * ${c} + ch];\n}\n`;
      return `${pixel}let acc = 0.0;\n${windowsOver(g, body)}return acc;`;
    }),
  ];
});

registerGpujsKernel('maxPoolGradGrad', (ctx) => {
  const [ddx, x] = ctx.inputs;
  const out = ctx.outputs[0];
  const g = poolGeometry(ctx, x.shape);
  const c = x.shape[3];
  return [
    ctx.kernel(out.shape, out.dtype, [ddx, x], ([d, x0]) => {
      const pixel = `const ch = i % ${c};\nconst ox = Math.floor(i / ${c}) % ${g.outW};\nconst oy = Math.floor(i / ${c * g.outW}) % ${g.outH};\nconst b = Math.floor(i / ${c * g.outW * g.outH});\n`;
      return `${pixel}${argmaxOf(g, c, x0)}if (at < 0) {\nreturn 0.0;\n}\nreturn ${d}[at];`;
    }),
  ];
});

registerGpujsKernel('avgPoolGrad', (ctx) => {
  const [dy, x] = ctx.inputs;
  const out = ctx.outputs[0];
  const g = poolGeometry(ctx, x.shape);
  const c = x.shape[3];
  return [
    ctx.kernel(out.shape, out.dtype, [dy], ([d]) => {
      const pixel = `const ch = i % ${c};\nconst ix = Math.floor(i / ${c}) % ${g.w};\nconst iy = Math.floor(i / ${c * g.w}) % ${g.h};\nconst b = Math.floor(i / ${c * g.w * g.h});\n`;
      const body =
        `const wy = oy * ${g.sh} - ${g.padTop};\nconst wx = ox * ${g.sw} - ${g.padLeft};\n` +
        `const count = (Math.min(wy + ${g.kh}, ${g.h}) - Math.max(wy, 0)) * (Math.min(wx + ${g.kw}, ${g.w}) - Math.max(wx, 0));\n` +
        `acc += ${d}[((b * ${g.outH} + oy) * ${g.outW} + ox) * ${c} + ch] / count;\n`;
      return `${pixel}let acc = 0.0;\n${windowsOver(g, body)}return acc;`;
    }),
  ];
});

/** stridedSliceGrad(dy, x): each x element takes the dy element stridedSlice read from it, else 0. */
registerGpujsKernel('stridedSliceGrad', (ctx) => {
  const [dy] = ctx.inputs;
  const out = ctx.outputs[0];
  const begin = ctx.attrs.begin as number[];
  const step = ctx.attrs.strides as number[];
  const dyStrides = stridesOf(dy.shape);
  return [
    ctx.kernel(out.shape, out.dtype, [dy], ([d]) => {
      const c = coordinates(out.shape, 'i', 'o');
      let code = c.code;
      const conds: string[] = [];
      out.shape.forEach((_, k) => {
        code += `const q${k} = ${c.names[k]} - ${begin[k]};\nconst j${k} = Math.floor(q${k} / ${step[k]});\n`;
        conds.push(`q${k} - j${k} * ${step[k]} === 0 && j${k} >= 0 && j${k} < ${dy.shape[k]}`);
      });
      const index = out.shape.map((_, k) => `j${k} * ${dyStrides[k]}`).join(' + ') || '0';
      return `${code}if (${conds.join(' && ') || 'true'}) {\nreturn ${d}[${index}];\n}\nreturn 0.0;`;
    }),
  ];
});
