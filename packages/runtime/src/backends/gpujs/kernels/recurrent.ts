import { Attrs, GraphcError, ops, sizeOf } from '@graphc/graph';
import { floatLit } from '../helpers';
import { LowerContext, TensorRef, registerGpujsKernel } from '../program';

/**
 * ONNX's recurrent layers (rnn, gru, lstm) unrolled over the (static) sequence length: per time
 * step, kernels compute the new state [dirs, batch, hidden] from the previous one, and a kernel
 * writes that step's rows of Y. The step number reaches the kernels as a one-element constant, so
 * every step shares one compiled kernel. Entries past their sequence length keep their state and
 * leave Y at 0, as the cpu kernels do.
 */

/** An activation as an expression over the local `v`. */
function activation(name: string, alpha: number, beta: number): string {
  const a = floatLit(alpha);
  const b = floatLit(beta);
  switch (name.toLowerCase()) {
    case 'relu':
      return '(v > 0.0 ? v : 0.0)';
    case 'tanh':
      return 'gc_tanh(v)';
    case 'sigmoid':
      return 'gc_sigmoid(v)';
    case 'affine':
      return `(${a} * v + ${b})`;
    case 'leakyrelu':
      return `(v >= 0.0 ? v : ${a} * v)`;
    case 'thresholdedrelu':
      return `(v > ${a} ? v : 0.0)`;
    case 'scaledtanh':
      return `(${a} * gc_tanh(${b} * v))`;
    case 'hardsigmoid':
      return `Math.max(0.0, Math.min(1.0, ${a} * v + ${b}))`;
    case 'elu':
      return `(v >= 0.0 ? v : ${a} * (Math.exp(v) - 1.0))`;
    case 'softsign':
      return '(v / (1.0 + Math.abs(v)))';
    case 'softplus':
      return 'gc_log1p(Math.exp(v))';
    default:
      throw new GraphcError(`recurrent activation '${name}' is not supported`);
  }
}

/** Activations per direction (ops.rnnActivations: the slots every backend reads). */
function activations(attrs: Attrs, defaults: string[], dirs: number): string[][] {
  return ops.rnnActivations(attrs, defaults, dirs).map((slots) => slots.map((a) => activation(a.name, a.alpha, a.beta)));
}

/** Code applying the direction's activation `which` to local `v`, into `name`. */
function applyAct(acts: string[][], which: number, name: string): string {
  if (acts.length === 1) return `const ${name} = ${acts[0][which]};\n`;
  return `let ${name} = 0.0;\nif (d === 0) {\n${name} = ${acts[0][which]};\n} else {\n${name} = ${acts[1][which]};\n}\n`;
}

interface Setup {
  S: number;
  B: number;
  I: number;
  H: number;
  dirs: number;
  layout: number;
  reverse: boolean;
  clip: number | null;
  get(name: string): TensorRef | undefined;
}

function setup(ctx: LowerContext): Setup {
  const index = ops.rnnInputIndex(ctx.attrs) as Map<string, number>;
  const get = (name: string): TensorRef | undefined => {
    const i = index.get(name);
    return i === undefined ? undefined : ctx.inputs[i];
  };
  const g = ops.rnnGeometry(ctx.attrs, get('x')!.shape);
  return {
    S: g.seq,
    B: g.batch,
    I: g.input,
    H: g.hidden,
    dirs: g.dirs,
    layout: g.layout,
    reverse: ctx.attrs.direction === 'reverse',
    clip: typeof ctx.attrs.clip === 'number' ? ctx.attrs.clip : null,
    get,
  };
}

/**
 * Statements of a state kernel over [dirs, B, width]: `d`, `b`, `k` (0 <= k < width), the entry's
 * length `len`, the step `s`, whether the entry is `active`, and its time index `t`.
 */
function stepHeader(st: Setup, width: number, lens: string, step: string): string {
  const fwd = st.reverse ? 'false' : 'd === 0';
  return (
    `const k = i % ${width};\nconst b = Math.floor(i / ${width}) % ${st.B};\nconst d = Math.floor(i / ${width * st.B});\n` +
    `const len = Math.floor(${lens}[b] + 0.5);\nconst s = Math.floor(${step}[0] + 0.5);\nconst active = s < len;\n` +
    `let t = len - 1 - s;\nif (${fwd}) {\nt = s;\n}\n`
  );
}

/** dot(row `row` of a [rows, n] block at `base`, x_t of entry b) */
const xAt = (st: Setup, x: string, i: string): string =>
  st.layout === 1 ? `${x}[(b * ${st.S} + t) * ${st.I} + ${i}]` : `${x}[(t * ${st.B} + b) * ${st.I} + ${i}]`;

function dotX(st: Setup, w: string, row: string, x: string): string {
  return `for (let q = 0; q < ${st.I}; q++) {\nacc += ${w}[(${row}) * ${st.I} + q] * ${xAt(st, x, 'q')};\n}\n`;
}

function dotH(st: Setup, r: string, row: string, h: string, scale = ''): string {
  return `for (let q = 0; q < ${st.H}; q++) {\nacc += ${r}[(${row}) * ${st.H} + q] * ${scale}${h}[(d * ${st.B} + b) * ${st.H} + q];\n}\n`;
}

const clipped = (st: Setup, v: string): string => (st.clip === null ? v : `Math.min(Math.max(${v}, ${floatLit(-st.clip)}), ${floatLit(st.clip)})`);

/** An initial state input in the node's layout as [dirs, B, H], else zeros. */
function initial(ctx: LowerContext, st: Setup, name: string): TensorRef {
  const v = st.get(name);
  const shape = [st.dirs, st.B, st.H];
  if (!v) return ctx.constant(new Float32Array(sizeOf(shape)), shape, 'float32');
  if (st.layout === 0) return v;
  return ctx.kernel(shape, v.dtype, [v], ([x0]) => `const k = i % ${st.H};\nconst b = Math.floor(i / ${st.H}) % ${st.B};\nconst d = Math.floor(i / ${st.H * st.B});\nreturn ${x0}[(b * ${st.dirs} + d) * ${st.H} + k];`);
}

/** Y with step `s`'s new state written into its rows (layout 0 [S, dirs, B, H], 1 [B, S, dirs, H]). */
function writeY(ctx: LowerContext, st: Setup, y: TensorRef, h: TensorRef, lens: TensorRef, step: TensorRef): TensorRef {
  const fwd = st.reverse ? 'false' : 'd === 0';
  return ctx.kernel(y.shape, y.dtype, [y, h, lens, step], ([y0, h0, l0, s0]) => {
    const coords =
      st.layout === 1
        ? `const k = i % ${st.H};\nconst d = Math.floor(i / ${st.H}) % ${st.dirs};\nconst t = Math.floor(i / ${st.H * st.dirs}) % ${st.S};\nconst b = Math.floor(i / ${st.H * st.dirs * st.S});\n`
        : `const k = i % ${st.H};\nconst b = Math.floor(i / ${st.H}) % ${st.B};\nconst d = Math.floor(i / ${st.H * st.B}) % ${st.dirs};\nconst t = Math.floor(i / ${st.H * st.B * st.dirs});\n`;
    let code = `${coords}const len = Math.floor(${l0}[b] + 0.5);\nconst s = Math.floor(${s0}[0] + 0.5);\n`;
    code += `let at = len - 1 - t;\nif (${fwd}) {\nat = t;\n}\nif (t < len && at === s) {\nreturn ${h0}[(d * ${st.B} + b) * ${st.H} + k];\n}\nreturn ${y0}[i];`;
    return code;
  });
}

/** A final state [dirs, B, H] in the node's layout. */
function final(ctx: LowerContext, st: Setup, state: TensorRef, out: { dtype: TensorRef['dtype']; shape: number[] }): TensorRef {
  if (st.layout === 0) return ctx.alias(state, out.shape, out.dtype);
  return ctx.kernel(out.shape, out.dtype, [state], ([s0]) => `const k = i % ${st.H};\nconst d = Math.floor(i / ${st.H}) % ${st.dirs};\nconst b = Math.floor(i / ${st.H * st.dirs});\nreturn ${s0}[(d * ${st.B} + b) * ${st.H} + k];`);
}

function recurrent(ctx: LowerContext, kind: 'rnn' | 'gru' | 'lstm'): TensorRef[] {
  const st = setup(ctx);
  const { S, B, I, H, dirs } = st;
  const x = st.get('x')!;
  const w = st.get('w')!;
  const r = st.get('r')!;
  const bias = st.get('b');
  const peep = st.get('p');
  const lens = st.get('sequenceLens') ?? ctx.constant(new Float32Array(B).fill(S), [B], 'int32');
  const acts = activations(ctx.attrs, kind === 'lstm' ? ['Sigmoid', 'Tanh', 'Tanh'] : kind === 'gru' ? ['Sigmoid', 'Tanh'] : ['Tanh'], dirs);
  const G = kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1;
  const GH = G * H;
  const linearBeforeReset = ctx.attrs.linearBeforeReset === true;
  const dt = x.dtype;
  // x_t W^T plus the biases, for every step at once: [S, dirs, B, G*H]. The recurrent bias of GRU's
  // candidate stays out when linearBeforeReset puts it under the reset gate.
  const xw = ctx.kernel([S, dirs, B, GH], dt, bias ? [x, w, bias] : [x, w], ([x0, w0, b0]) => {
    let code = `const j = i % ${GH};\nconst b = Math.floor(i / ${GH}) % ${B};\nconst d = Math.floor(i / ${GH * B}) % ${dirs};\nconst t = Math.floor(i / ${GH * B * dirs});\n`;
    code += `let acc = 0.0;\n${dotX(st, w0, `d * ${GH} + j`, x0)}`;
    if (bias) {
      code += `acc += ${b0}[d * ${2 * GH} + j];\n`;
      const rb = `acc += ${b0}[d * ${2 * GH} + ${GH} + j];\n`;
      code += kind === 'gru' && linearBeforeReset ? `if (j < ${2 * H}) {\n${rb}}\n` : rb;
    }
    return `${code}return acc;`;
  });
  void I;
  const yOut = ctx.outputs[0];
  let y = ctx.constant(new Float32Array(sizeOf(yOut.shape)), yOut.shape, yOut.dtype);
  let h = initial(ctx, st, 'initialH');
  let c = kind === 'lstm' ? initial(ctx, st, 'initialC') : undefined;
  const stateShape = [dirs, B, H];
  /** the precomputed x W^T + b of gate row `row` at (t, d, b) */
  const xwAt = (xn: string, row: string): string => `${xn}[((t * ${dirs} + d) * ${B} + b) * ${GH} + ${row}]`;
  for (let step = 0; step < S; step++) {
    const s = ctx.constant([step], [1], 'float32');
    if (kind === 'rnn') {
      h = ctx.kernel(stateShape, dt, [xw, r, lens, s, h], ([xn, r0, l0, s0, hp]) => {
        let code = `${stepHeader(st, H, l0, s0)}if (!active) {\nreturn ${hp}[i];\n}\nlet acc = ${xwAt(xn, 'k')};\n`;
        code += dotH(st, r0, `d * ${H} + k`, hp);
        return `${code}const v = ${clipped(st, 'acc')};\n${applyAct(acts, 0, 'res')}return res;`;
      });
    } else if (kind === 'gru') {
      // z and r gates of every hidden unit: [dirs, B, 2H]
      const zr = ctx.kernel([dirs, B, 2 * H], dt, [xw, r, lens, s, h], ([xn, r0, l0, s0, hp]) => {
        let code = `${stepHeader(st, 2 * H, l0, s0)}if (!active) {\nreturn 0.0;\n}\nlet acc = ${xwAt(xn, 'k')};\n`;
        code += dotH(st, r0, `d * ${GH} + k`, hp);
        return `${code}const v = ${clipped(st, 'acc')};\n${applyAct(acts, 0, 'res')}return res;`;
      });
      const args = linearBeforeReset && bias ? [xw, r, lens, s, h, zr, bias] : [xw, r, lens, s, h, zr];
      h = ctx.kernel(stateShape, dt, args, ([xn, r0, l0, s0, hp, g0, b0]) => {
        const gate = (j: string): string => `${g0}[(d * ${B} + b) * ${2 * H} + ${j}]`;
        let code = `${stepHeader(st, H, l0, s0)}if (!active) {\nreturn ${hp}[i];\n}\nlet acc = 0.0;\n`;
        if (linearBeforeReset) {
          const rb = bias ? ` + ${b0}[d * ${2 * GH} + ${GH + 2 * H} + k]` : '';
          code += dotH(st, r0, `d * ${GH} + ${2 * H} + k`, hp) + `const rec = ${gate(`${H} + k`)} * (acc${rb});\n`;
        } else {
          code += `for (let q = 0; q < ${H}; q++) {\nacc += ${r0}[(d * ${GH} + ${2 * H} + k) * ${H} + q] * ${gate(`${H} + q`)} * ${hp}[(d * ${B} + b) * ${H} + q];\n}\nconst rec = acc;\n`;
        }
        code += `const v = ${clipped(st, `${xwAt(xn, `${2 * H} + k`)} + rec`)};\n${applyAct(acts, 1, 'cand')}`;
        return `${code}const z = ${gate('k')};\nreturn (1.0 - z) * cand + z * ${hp}[i];`;
      });
    } else {
      const coupled = ctx.attrs.inputForget === true;
      const pAt = (pn: string | undefined, j: number, cv: string): string => (pn ? ` + ${pn}[d * ${3 * H} + ${j * H} + k] * ${cv}` : '');
      const gate = (xn: string, r0: string, hp: string, g: number, extra: string, name: string, which: number): string =>
        `acc = ${xwAt(xn, `${g * H} + k`)};\n${dotH(st, r0, `d * ${GH} + ${g * H} + k`, hp)}v = ${clipped(st, `acc${extra}`)};\n${applyAct(acts, which, name)}`;
      const prev = c!;
      const cNew = ctx.kernel(stateShape, dt, peep ? [xw, r, lens, s, h, prev, peep] : [xw, r, lens, s, h, prev], ([xn, r0, l0, s0, hp, cp, pn]) => {
        let code = `${stepHeader(st, H, l0, s0)}if (!active) {\nreturn ${cp}[i];\n}\nlet acc = 0.0;\nlet v = 0.0;\nconst cprev = ${cp}[i];\n`;
        code += gate(xn, r0, hp, 0, pAt(pn, 0, 'cprev'), 'ig', 0);
        code += coupled ? 'const fg = 1.0 - ig;\n' : gate(xn, r0, hp, 2, pAt(pn, 2, 'cprev'), 'fg', 0);
        code += gate(xn, r0, hp, 3, '', 'cand', 1);
        return `${code}return fg * cprev + ig * cand;`;
      });
      h = ctx.kernel(stateShape, dt, peep ? [xw, r, lens, s, h, cNew, peep] : [xw, r, lens, s, h, cNew], ([xn, r0, l0, s0, hp, cn, pn]) => {
        let code = `${stepHeader(st, H, l0, s0)}if (!active) {\nreturn ${hp}[i];\n}\nlet acc = 0.0;\nlet v = 0.0;\nconst cnew = ${cn}[i];\n`;
        code += gate(xn, r0, hp, 1, pAt(pn, 1, 'cnew'), 'og', 0);
        return `${code}v = cnew;\n${applyAct(acts, 2, 'hc')}return og * hc;`;
      });
      c = cNew;
    }
    y = writeY(ctx, st, y, h, lens, s);
  }
  const results = [y];
  if (ctx.outputs[1]) results.push(final(ctx, st, h, ctx.outputs[1]));
  if (kind === 'lstm' && ctx.outputs[2]) results.push(final(ctx, st, c!, ctx.outputs[2]));
  return results;
}

registerGpujsKernel('rnn', (ctx) => recurrent(ctx, 'rnn'));
registerGpujsKernel('gru', (ctx) => recurrent(ctx, 'gru'));
registerGpujsKernel('lstm', (ctx) => recurrent(ctx, 'lstm'));
