import { Attrs, GraphcError, ops, sizeOf, stridesOf } from '@graphc/graph';
import { floatLit } from '../helpers';
import { LowerContext, registerGpujsKernel } from '../program';

/**
 * ONNX's channels-first N-d window ops (convNchw, convTransposeNchw, the Nchw pools): one output
 * element per thread, nested literal loops over the kernel taps, taps in the padding skipped.
 * Geometry comes from the ops' own `nchwWindow` / `nchwTransposeWindow`, as in the cpu kernels.
 */

interface NchwWindow {
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  out: (number | null)[];
}

type WindowFn = (spatial: (number | null)[], kernel: (number | null)[], attrs: Attrs, where: string) => NchwWindow;

function geometryFn(name: 'nchwWindow' | 'nchwTransposeWindow'): WindowFn {
  const f = (ops as unknown as Record<string, unknown>)[name];
  if (typeof f !== 'function') throw new GraphcError(`gpujs: the graph package has no ${name}`);
  return f as WindowFn;
}

/** Statements splitting flat `i` of [N, C, ...spatial] into `n`, `ch` and spatial coordinates `o0..`. */
function split(shape: number[]): string {
  const spatial = shape.slice(2);
  const P = sizeOf(spatial);
  let code = `const pos = i % ${P};\nconst ch = Math.floor(i / ${P}) % ${shape[1]};\nconst n = Math.floor(i / ${P * shape[1]});\n`;
  const st = stridesOf(spatial);
  spatial.forEach((d, k) => (code += `const o${k} = Math.floor(pos / ${st[k]}) % ${d};\n`));
  return code;
}

/**
 * Nested loops over the taps of a window at output position `o0..`: declares input coordinates
 * `c0..` and `inside` (every coordinate within the input) and `withinPads` (within the declared
 * padding), then runs `body`.
 */
function taps(g: NchwWindow, spatial: number[], body: string): string {
  let open = '';
  let close = '';
  g.kernel.forEach((k, d) => {
    open += `for (let t${d} = 0; t${d} < ${k}; t${d}++) {\nconst c${d} = o${d} * ${g.strides[d]} - ${g.padsBegin[d]} + t${d} * ${g.dilations[d]};\n`;
    close += '}\n';
  });
  const inside = spatial.map((dim, d) => `c${d} >= 0 && c${d} < ${dim}`).join(' && ') || 'true';
  const within = spatial.map((dim, d) => `c${d} >= ${-g.padsBegin[d]} && c${d} < ${dim + g.padsEnd[d]}`).join(' && ') || 'true';
  return `${open}const inside = ${inside};\nconst withinPads = ${within};\n${body}${close}`;
}

/** Flat spatial offset of coordinates `c0..` in an input of `spatial` size. */
const spatialOffset = (spatial: number[]): string => {
  const st = stridesOf(spatial);
  return spatial.map((_, d) => `c${d} * ${st[d]}`).join(' + ') || '0';
};

registerGpujsKernel('convNchw', (ctx) => {
  const [x, w, bias] = ctx.inputs;
  const out = ctx.outputs[0];
  const spatial = x.shape.slice(2);
  const g = geometryFn('nchwWindow')(spatial, w.shape.slice(2), ctx.attrs, ctx.where);
  const groups = Number(ctx.attrs.group ?? 1);
  const [M, Cg] = w.shape;
  const Mg = M / groups;
  const K = sizeOf(g.kernel);
  const inSize = sizeOf(spatial);
  const args = bias ? [x, w, bias] : [x, w];
  return [
    ctx.kernel(out.shape, out.dtype, args, ([x0, w0, b0]) => {
      const tapIndex = g.kernel.map((_, d) => `t${d} * ${stridesOf(g.kernel)[d]}`).join(' + ') || '0';
      let code = `${split(out.shape)}const group = Math.floor(ch / ${Mg});\nlet acc = 0.0;\n`;
      code += `for (let c = 0; c < ${Cg}; c++) {\nconst xBase = (n * ${x.shape[1]} + group * ${Cg} + c) * ${inSize};\nconst wBase = (ch * ${Cg} + c) * ${K};\n`;
      code += taps(g, spatial, `if (inside) {\nacc += ${x0}[xBase + ${spatialOffset(spatial)}] * ${w0}[wBase + ${tapIndex}];\n}\n`);
      code += '}\n';
      return bias ? `${code}return acc + ${b0}[ch];` : `${code}return acc;`;
    }),
  ];
});

registerGpujsKernel('convTransposeNchw', (ctx) => {
  const [x, w, bias] = ctx.inputs;
  const out = ctx.outputs[0];
  const spatial = x.shape.slice(2);
  const outSpatial = out.shape.slice(2);
  const g = geometryFn('nchwTransposeWindow')(spatial, w.shape.slice(2), ctx.attrs, ctx.where);
  const groups = Number(ctx.attrs.group ?? 1);
  const C = x.shape[1];
  const Cg = C / groups;
  const Mg = w.shape[1];
  const K = sizeOf(g.kernel);
  const inSize = sizeOf(spatial);
  const inStrides = stridesOf(spatial);
  const kStrides = stridesOf(g.kernel);
  const args = bias ? [x, w, bias] : [x, w];
  return [
    ctx.kernel(out.shape, out.dtype, args, ([x0, w0, b0]) => {
      let code = `${split(out.shape)}const group = Math.floor(ch / ${Mg});\nconst m = ch % ${Mg};\nlet acc = 0.0;\n`;
      code += `for (let c = 0; c < ${Cg}; c++) {\nconst cin = group * ${Cg} + c;\nconst xBase = (n * ${C} + cin) * ${inSize};\nconst wBase = (cin * ${Mg} + m) * ${K};\n`;
      let open = '';
      let close = '';
      const conds: string[] = [];
      g.kernel.forEach((k, d) => {
        // output o = i * stride - padBegin + t * dilation  =>  i = (o + padBegin - t * dilation) / stride
        open += `for (let t${d} = 0; t${d} < ${k}; t${d}++) {\nconst s${d} = o${d} + ${g.padsBegin[d]} - t${d} * ${g.dilations[d]};\nconst c${d} = Math.floor(s${d} / ${g.strides[d]});\n`;
        close += '}\n';
        conds.push(`s${d} >= 0 && s${d} - c${d} * ${g.strides[d]} === 0 && c${d} < ${spatial[d]}`);
      });
      const xOff = spatial.map((_, d) => `c${d} * ${inStrides[d]}`).join(' + ') || '0';
      const tOff = g.kernel.map((_, d) => `t${d} * ${kStrides[d]}`).join(' + ') || '0';
      code += `${open}if (${conds.join(' && ') || 'true'}) {\nacc += ${x0}[xBase + ${xOff}] * ${w0}[wBase + ${tOff}];\n}\n${close}}\n`;
      void outSpatial;
      return bias ? `${code}return acc + ${b0}[ch];` : `${code}return acc;`;
    }),
  ];
});

type PoolKind = 'max' | 'avg' | 'lp';

function pool(ctx: LowerContext, kind: PoolKind) {
  const [x] = ctx.inputs;
  const out = ctx.outputs[0];
  const spatial = x.shape.slice(2);
  const g = geometryFn('nchwWindow')(spatial, ctx.attrs.kernel as number[], ctx.attrs, ctx.where);
  const inSize = sizeOf(spatial);
  const includePad = ctx.attrs.countIncludePad === true;
  const p = Number(ctx.attrs.p ?? 2);
  const colMajor = ctx.attrs.storageOrder === 1;
  const body = (result: 'value' | 'index') => ([x0]: string[]) => {
    let code = `${split(out.shape)}const xBase = (n * ${x.shape[1]} + ch) * ${inSize};\n`;
    code += 'let acc = 0.0;\nlet count = 0.0;\nlet at = -1;\n';
    let tap: string;
    if (kind === 'max') tap = `if (inside) {\nconst v = ${x0}[xBase + ${spatialOffset(spatial)}];\nif (at < 0 || v > acc || v !== v) {\nacc = v;\nat = ${reported(spatial, colMajor)};\n}\n}\n`;
    else if (kind === 'avg') tap = `if (inside) {\nacc += ${x0}[xBase + ${spatialOffset(spatial)}];\ncount = count + 1.0;\n}\n${includePad ? 'if (!inside && withinPads) {\ncount = count + 1.0;\n}\n' : ''}`;
    else tap = `if (inside) {\nacc += Math.pow(Math.abs(${x0}[xBase + ${spatialOffset(spatial)}]), ${floatLit(p)});\n}\n`;
    code += taps(g, spatial, tap);
    if (kind === 'max') return result === 'index' ? `${code}return (n * ${x.shape[1]} + ch) * ${inSize} + Math.max(at, 0);` : `${code}return acc;`;
    if (kind === 'avg') return `${code}return acc / count;`;
    return `${code}return Math.pow(acc, ${floatLit(1 / p)});`;
  };
  const results = [ctx.kernel(out.shape, out.dtype, [x], body('value'))];
  if (ctx.outputs.length > 1) results.push(ctx.kernel(ctx.outputs[1].shape, ctx.outputs[1].dtype, [x], body('index')));
  return results;
}

/** The index maxPool reports for tap coordinates `c0..`: row-major, or column-major with storageOrder 1. */
function reported(spatial: number[], colMajor: boolean): string {
  if (!colMajor) return spatialOffset(spatial);
  let stride = 1;
  return spatial.map((d, k) => {
    const t = `c${k} * ${stride}`;
    stride *= d;
    return t;
  }).join(' + ') || '0';
}

registerGpujsKernel('maxPoolNchw', (ctx) => pool(ctx, 'max'));
registerGpujsKernel('avgPoolNchw', (ctx) => pool(ctx, 'avg'));
registerGpujsKernel('lpPoolNchw', (ctx) => pool(ctx, 'lp'));
