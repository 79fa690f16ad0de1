import { TensorValue, ops, sizeOf } from '@graphc/graph';
import { KernelPlan, NoGpuKernel, WebGpuKernelContext, WgslBinding, WgslDispatch, registerWebGpuKernel, requireDTypes } from '../kernel';
import { f32Lit, flatDispatch, grid1d, u32Lit } from '../wgsl';

/**
 * ONNX rnn, gru and lstm as a dispatch per time step in the run's one encoder (a GRU step is two: the
 * update and reset gates first, as the candidate needs every reset gate of its entry). The input
 * projections x_t W^T of all steps come first, in one dispatch (withProjection); then a thread per
 * (direction, batch entry, hidden unit) adds its gate rows' dot products over the previous state. The state (h, and c for lstm) ping-pongs between two scratch buffers; an entry past its
 * sequence length copies its state forward, so its final state is the one at its last step and its
 * later Y rows stay 0, as the CPU kernel does. Activations, alphas/betas and clip follow ONNX as the
 * CPU kernel resolves them.
 */
const WG = 64;
const U = u32Lit;
const F = f32Lit;

/** WGSL of activation `name` applied to `x` (an identifier), with the CPU kernel's branch choices. */
function activationWgsl(name: string, alpha: number, beta: number, x: string): string {
  switch (name.toLowerCase()) {
    case 'relu':
      return `select(0.0, ${x}, ${x} > 0.0)`;
    case 'tanh':
      return `tanh(clamp(${x}, -15.0, 15.0))`;
    case 'sigmoid':
      return `select(exp(${x}) / (1.0 + exp(${x})), 1.0 / (1.0 + exp(-${x})), ${x} >= 0.0)`;
    case 'affine':
      return `(${F(alpha)} * ${x} + ${F(beta)})`;
    case 'leakyrelu':
      return `select(${F(alpha)} * ${x}, ${x}, ${x} >= 0.0)`;
    case 'thresholdedrelu':
      return `select(0.0, ${x}, ${x} > ${F(alpha)})`;
    case 'scaledtanh':
      return `(${F(alpha)} * tanh(clamp(${F(beta)} * ${x}, -15.0, 15.0)))`;
    case 'hardsigmoid':
      return `max(0.0, min(1.0, ${F(alpha)} * ${x} + ${F(beta)}))`;
    case 'elu':
      return `select(${F(alpha)} * (exp(${x}) - 1.0), ${x}, ${x} >= 0.0)`;
    case 'softsign':
      return `(${x} / (1.0 + abs(${x})))`;
    case 'softplus':
      return `(max(${x}, 0.0) + log(1.0 + exp(-abs(${x}))))`;
    default:
      throw new NoGpuKernel(`recurrent activation '${name}' (the cpu kernel reports it)`);
  }
}

/** WGSL fns act0(d, x), act1(d, x), ...: slot j's activation for direction d (as the CPU's `activations`). */
function activationFns(attrs: Record<string, unknown>, defaults: string[], dirs: number): string {
  let slots: ops.RnnActivation[][];
  try {
    slots = ops.rnnActivations(attrs, defaults, dirs);
  } catch (e) {
    throw new NoGpuKernel(`${(e as Error).message} (the cpu kernel reports it)`);
  }
  const exprs = slots.flat().map((a) => activationWgsl(a.name, a.alpha, a.beta, 'x'));
  return defaults
    .map((_, j) => {
      const forDir = (d: number): string => exprs[d * defaults.length + j];
      const body = dirs === 2 ? `if (d == 0u) { return ${forDir(0)}; }\n  return ${forDir(1)};` : `return ${forDir(0)};`;
      return `fn act${j}(d: u32, x: f32) -> f32 {\n  ${body}\n}`;
    })
    .join('\n');
}

interface Recurrent extends ops.RnnGeometry {
  index: Map<string, number>;
  /** Floats per state buffer half (h, then c). */
  cells: number;
  /** Where a state buffer holds its step number (after the states): every step runs the same source. */
  counter: number;
  /** The input projections X W^T of every time step, computed before the steps (see withProjection); null: per step. */
  projection: { scratch: number; rows: number } | null;
}

function recurrentShape(ctx: WebGpuKernelContext): Recurrent {
  const index = ops.rnnInputIndex(ctx.attrs) as Map<string, number>;
  const { seq, batch, input, hidden, dirs, layout } = ops.rnnGeometry(ctx.attrs, ctx.inputs[index.get('x')!].shape);
  const lens = index.get('sequenceLens');
  if (lens !== undefined && sizeOf(ctx.inputs[lens].shape) !== batch) throw new NoGpuKernel('sequence lengths do not match the batch (the cpu kernel reports it)');
  const floats = ctx.inputs.filter((_, i) => i !== lens);
  requireDTypes({ ...ctx, inputs: floats }, ['float32']);
  const states = ctx.node.op === 'lstm' ? 2 : 1;
  return { seq, batch, input, hidden, dirs, layout, index, cells: dirs * batch * hidden, counter: states * dirs * batch * hidden, projection: null };
}

/**
 * The input projections hoisted out of the steps: x_t W^T does not depend on the state, so one
 * dispatch computes it for every time step and batch entry (seq * batch * rows threads, where a
 * step has only dirs * batch * hidden) into scratch buffer `scratch`, and the steps read it. Each
 * value is the same dot product, in the same order, as a step would compute. Skipped (null) when
 * the projections would not fit one storage binding.
 */
function withProjection(ctx: WebGpuKernelContext, s: Recurrent, gates: number, scratch: number): Recurrent {
  const rows = s.dirs * gates * s.hidden;
  const bytes = s.seq * s.batch * rows * 4;
  if (bytes === 0 || bytes > ctx.limits.maxStorageBufferBindingSize) return s;
  return { ...s, projection: { scratch, rows } };
}

/** WGSL shared by the step kernels: coordinates of thread `e`, its length, time step and Y offset. */
function stepPrelude(s: Recurrent, ctx: WebGpuKernelContext): string {
  const { seq, batch, hidden: H, dirs, layout } = s;
  const hasLens = s.index.has('sequenceLens');
  const forward = ctx.attrs.direction !== 'reverse';
  const yAt = layout === 1 ? `((bi * ${U(seq)} + t) * ${U(dirs)} + d) * ${U(H)} + k` : `((t * ${U(dirs)} + d) * ${U(batch)} + bi) * ${U(H)} + k`;
  const xAt = layout === 1 ? `(bi * ${U(seq)} + t) * ${U(s.input)}` : `(t * ${U(batch)} + bi) * ${U(s.input)}`;
  return `let k = e % ${U(H)};
  let bi = (e / ${U(H)}) % ${U(batch)};
  let d = e / ${U(H * batch)};
  let len = ${hasLens ? `u32(clamp(lens[bi], 0i, ${seq}i))` : U(seq)};
  let step = u32(Sin[${U(s.counter)}]);
  let t = select(len - 1u - step, step, ${forward ? 'd == 0u' : 'false'});
  let xBase = ${xAt};
  let yAt = ${yAt};`;
}

/** Shared plan scaffolding: state scratch, the init dispatch, step dispatches from `steps`, the final copy. */
function recurrentPlan(
  ctx: WebGpuKernelContext,
  s: Recurrent,
  states: 1 | 2,
  stepDispatches: (cur: number, next: number) => WgslDispatch[],
  extraScratch: number[] = [],
): KernelPlan {
  const { batch, hidden: H, dirs, layout, cells, seq } = s;
  const maxPerDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const ySize = sizeOf(ctx.outputs[0].shape);
  const finalAt = layout === 1 ? `(bi * ${U(dirs)} + d) * ${U(H)} + k` : `(d * ${U(batch)} + bi) * ${U(H)} + k`;
  const decode = `let k = e % ${U(H)};\n  let bi = (e / ${U(H)}) % ${U(batch)};\n  let d = e / ${U(H * batch)};`;
  const initH = s.index.get('initialH');
  const initC = s.index.get('initialC');
  const initCount = Math.max(ySize, cells);
  const initGrid = grid1d(initCount, maxPerDim, WG);
  const initBindings: WgslBinding[] = [];
  if (initH !== undefined) initBindings.push({ ref: { input: initH }, name: 'H0', type: 'array<f32>' });
  if (initC !== undefined && states === 2) initBindings.push({ ref: { input: initC }, name: 'C0', type: 'array<f32>' });
  initBindings.push({ ref: { scratch: 0 }, name: 'S', type: 'array<f32>' }, { ref: { output: 0 }, name: 'Y', type: 'array<f32>' });
  const init: WgslDispatch = {
    bindings: initBindings,
    body: `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = ${initGrid.index};
  if (e < ${U(ySize)}) { Y[e] = 0.0; }
  if (e < ${U(cells)}) {
    ${decode}
    S[e] = ${initH !== undefined ? `H0[${finalAt}]` : '0.0'};
    ${states === 2 ? `S[${U(cells)} + e] = ${initC !== undefined ? `C0[${finalAt}]` : '0.0'};` : ''}
  }
  if (e == 0u) { S[${U(s.counter)}] = 0.0; }
}`,
    workgroups: initGrid.workgroups,
  };
  const dispatches: WgslDispatch[] = [init];
  if (s.projection) dispatches.push(projectionDispatch(s, maxPerDim));
  for (let step = 0; step < seq; step++) dispatches.push(...stepDispatches(step % 2, (step + 1) % 2));
  const last = seq % 2;
  const finalBindings: WgslBinding[] = [
    { ref: { scratch: last }, name: 'S', type: 'array<f32>' },
    { ref: { output: 1 }, name: 'YH', type: 'array<f32>' },
  ];
  if (states === 2) finalBindings.push({ ref: { output: 2 }, name: 'YC', type: 'array<f32>' });
  dispatches.push(
    flatDispatch({
      n: cells,
      maxPerDim,
      bindings: finalBindings,
      index: 'e',
      workgroupSize: WG,
      body: `${decode}
  YH[${finalAt}] = S[e];
  ${states === 2 ? `YC[${finalAt}] = S[${U(cells)} + e];` : ''}`,
    }),
  );
  const stateBytes = (s.counter + 1) * 4;
  const projectionBytes = s.projection ? [s.seq * s.batch * s.projection.rows * 4] : [];
  return { dispatches, scratch: [stateBytes, stateBytes, ...extraScratch, ...projectionBytes], hostChecks: lensCheck(ctx, s) };
}

/** XW[tb * rows + row] = dot(W row, x of time-batch entry tb): every step's input projections at once. */
function projectionDispatch(s: Recurrent, maxPerDim: number): WgslDispatch {
  const { rows } = s.projection!;
  return flatDispatch({
    n: s.seq * s.batch * rows,
    maxPerDim,
    bindings: [
      { ref: { input: s.index.get('x')! }, name: 'X', type: 'array<f32>' },
      { ref: { input: s.index.get('w')! }, name: 'W', type: 'array<f32>' },
      { ref: { scratch: s.projection!.scratch }, name: 'XW', type: 'array<f32>' },
    ],
    decls: dotWSource(s.input),
    index: 'e',
    workgroupSize: WG,
    body: `XW[e] = dotW(e % ${U(rows)}, (e / ${U(rows)}) * ${U(s.input)});`,
  });
}

function lensCheck(ctx: WebGpuKernelContext, s: Recurrent): KernelPlan['hostChecks'] {
  const at = s.index.get('sequenceLens');
  if (at === undefined) return [];
  return [
    {
      input: at,
      check: (value: TensorValue): string | null => {
        for (const v of value.data) {
          if (v < 0 || v > s.seq) return `op '${ctx.node.op}' (node '${ctx.node.name}'): sequence length ${v} is outside [0, ${s.seq}]`;
        }
        return null;
      },
    },
  ];
}

/** Bindings of a step dispatch: the inputs it reads, the two state buffers, Y, and any extra. */
function stepBindings(s: Recurrent, names: string[], cur: number, next: number | null, extra: WgslBinding[] = []): WgslBinding[] {
  const map: Record<string, string> = { x: 'X', w: 'W', r: 'R', b: 'B', sequenceLens: 'lens', p: 'P' };
  const bindings: WgslBinding[] = [];
  for (const n of names) {
    // hoisted projections replace the step's reads of x and W
    if (s.projection && (n === 'x' || n === 'w')) continue;
    const i = s.index.get(n);
    if (i !== undefined) bindings.push({ ref: { input: i }, name: map[n], type: n === 'sequenceLens' ? 'array<i32>' : 'array<f32>' });
  }
  if (s.projection) bindings.push({ ref: { scratch: s.projection.scratch }, name: 'XW', type: 'array<f32>' });
  bindings.push({ ref: { scratch: cur }, name: 'Sin', type: 'array<f32>' });
  if (next !== null) bindings.push({ ref: { scratch: next }, name: 'Sout', type: 'array<f32>' });
  bindings.push(...extra);
  return bindings;
}

function clipFn(ctx: WebGpuKernelContext): string {
  const clip = typeof ctx.attrs.clip === 'number' ? (ctx.attrs.clip as number) : Infinity;
  if (!Number.isFinite(clip)) return 'fn clipv(v: f32) -> f32 { return v; }';
  return `fn clipv(v: f32) -> f32 { return select(select(v, ${F(-clip)}, v < ${F(-clip)}), ${F(clip)}, v > ${F(clip)}); }`;
}

/** The WGSL of dot(W row, x at xBase), as a step and the projection dispatch compute it. */
function dotWSource(I: number): string {
  return `fn dotW(row: u32, xBase: u32) -> f32 {
  var acc = 0.0;
  for (var i = 0u; i < ${U(I)}; i++) { acc += W[row * ${U(I)} + i] * X[xBase + i]; }
  return acc;
}`;
}

/** dot(W row, x_t) (read from the projections where hoisted) and dot(R row, h) helpers over the bound X, W, R, XW. */
function dots(s: Recurrent): string {
  const { input: I, hidden: H } = s;
  const dotW = s.projection
    ? `fn dotW(row: u32, xBase: u32) -> f32 { return XW[(xBase / ${U(I)}) * ${U(s.projection.rows)} + row]; }`
    : dotWSource(I);
  return `
${dotW}
fn dotR(row: u32, hBase: u32) -> f32 {
  var acc = 0.0;
  for (var j = 0u; j < ${U(H)}; j++) { acc += R[row * ${U(H)} + j] * Sin[hBase + j]; }
  return acc;
}`;
}

/**
 * One step kernel's source around `compute` (which has the prelude's names, `hBase` and `e` in scope).
 * The step number comes from the state buffer read, and a kernel that writes the next state writes
 * the next number there, so every step of a node shares one pipeline.
 */
function stepSource(ctx: WebGpuKernelContext, s: Recurrent, helpers: string, copyState: string | null, compute: string): { body: string; workgroups: [number, number, number] } {
  const grid = grid1d(s.cells, ctx.limits.maxComputeWorkgroupsPerDimension, WG);
  return {
    body: `${helpers}
${clipFn(ctx)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = ${grid.index};
  ${copyState !== null ? `if (e == 0u) { Sout[${U(s.counter)}] = Sin[${U(s.counter)}] + 1.0; }` : ''}
  if (e >= ${U(s.cells)}) { return; }
  ${stepPrelude(s, ctx)}
  let hBase = e - k;
  if (step >= len) {
    ${copyState ?? ''}
    return;
  }
  ${compute}
}`,
    workgroups: grid.workgroups,
  };
}

/** ONNX RNN: H_t = f(clip(X_t W^T + H_{t-1} R^T + Wb + Rb)). */
registerWebGpuKernel('rnn', (ctx) => {
  const s = withProjection(ctx, recurrentShape(ctx), 1, 2);
  const H = s.hidden;
  const hasB = s.index.has('b');
  const helpers = `${activationFns(ctx.attrs, ['Tanh'], s.dirs)}\n${dots(s)}`;
  return recurrentPlan(ctx, s, 1, (cur, next) => {
    const src = stepSource(
      ctx,
      s,
      helpers,
      'Sout[e] = Sin[e];',
      `let row = d * ${U(H)} + k;
  var v = dotW(row, xBase) + dotR(row, hBase);
  ${hasB ? `v += B[d * ${U(2 * H)} + k] + B[d * ${U(2 * H)} + ${U(H)} + k];` : ''}
  let h = act0(d, clipv(v));
  Sout[e] = h;
  Y[yAt] = h;`,
    );
    return [{ bindings: stepBindings(s, ['x', 'w', 'r', 'b', 'sequenceLens'], cur, next, [{ ref: { output: 0 }, name: 'Y', type: 'array<f32>' }]), ...src }];
  });
});

/** ONNX LSTM: gates i, o, f, c; peepholes i, o, f; `inputForget` couples f = 1 - i. */
registerWebGpuKernel('lstm', (ctx) => {
  const s = withProjection(ctx, recurrentShape(ctx), 4, 2);
  const H = s.hidden;
  const C = s.cells;
  const hasB = s.index.has('b');
  const hasP = s.index.has('p');
  const coupled = ctx.attrs.inputForget === true;
  const helpers = `${activationFns(ctx.attrs, ['Sigmoid', 'Tanh', 'Tanh'], s.dirs)}\n${dots(s)}`;
  const gate = (j: number): string =>
    `dotW(d * ${U(4 * H)} + ${U(j * H)} + k, xBase) + dotR(d * ${U(4 * H)} + ${U(j * H)} + k, hBase)${hasB ? ` + B[d * ${U(8 * H)} + ${U(j * H)} + k] + B[d * ${U(8 * H)} + ${U(4 * H + j * H)} + k]` : ''}`;
  const peep = (j: number, c: string): string => (hasP ? ` + P[d * ${U(3 * H)} + ${U(j * H)} + k] * ${c}` : '');
  return recurrentPlan(ctx, s, 2, (cur, next) => {
    const src = stepSource(
      ctx,
      s,
      helpers,
      `Sout[e] = Sin[e]; Sout[${U(C)} + e] = Sin[${U(C)} + e];`,
      `let cPrev = Sin[${U(C)} + e];
  let iGate = act0(d, clipv(${gate(0)}${peep(0, 'cPrev')}));
  let fGate = ${coupled ? '1.0 - iGate' : `act0(d, clipv(${gate(2)}${peep(2, 'cPrev')}))`};
  let cand = act1(d, clipv(${gate(3)}));
  let c = fGate * cPrev + iGate * cand;
  let oGate = act0(d, clipv(${gate(1)}${peep(1, 'c')}));
  let h = oGate * act2(d, c);
  Sout[e] = h;
  Sout[${U(C)} + e] = c;
  Y[yAt] = h;`,
    );
    return [{ bindings: stepBindings(s, ['x', 'w', 'r', 'b', 'sequenceLens', 'p'], cur, next, [{ ref: { output: 0 }, name: 'Y', type: 'array<f32>' }]), ...src }];
  });
});

/**
 * ONNX GRU: gates z, r, h. A step is two dispatches: the update and reset gates of every unit into
 * a scratch buffer, then the candidate (R_h applied to r * h, or before the reset with
 * `linearBeforeReset`) and the new state.
 */
registerWebGpuKernel('gru', (ctx) => {
  // scratch 2 holds the gates of a step, so the projections go to 3
  const s = withProjection(ctx, recurrentShape(ctx), 3, 3);
  const H = s.hidden;
  const hasB = s.index.has('b');
  const lbr = ctx.attrs.linearBeforeReset === true;
  const acts = activationFns(ctx.attrs, ['Sigmoid', 'Tanh'], s.dirs);
  const wb = (j: string): string => (hasB ? ` + B[d * ${U(6 * H)} + ${j}]` : '');
  const rb = (j: string): string => (hasB ? ` + B[d * ${U(6 * H)} + ${U(3 * H)} + ${j}]` : '');
  const gatesBinding: WgslBinding = { ref: { scratch: 2 }, name: 'G', type: 'array<f32>' };
  // G[(entry * 2 + gate) * H + k], entry = d * batch + bi = e / H
  const gateStep = (cur: number): WgslDispatch => {
    const src = stepSource(
      ctx,
      s,
      `${acts}\n${dots(s)}`,
      null,
      `let z = act0(d, clipv(dotW(d * ${U(3 * H)} + k, xBase) + dotR(d * ${U(3 * H)} + k, hBase)${wb('k')}${rb('k')}));
  let r = act0(d, clipv(dotW(d * ${U(3 * H)} + ${U(H)} + k, xBase) + dotR(d * ${U(3 * H)} + ${U(H)} + k, hBase)${wb(`${U(H)} + k`)}${rb(`${U(H)} + k`)}));
  G[hBase * 2u + k] = z;
  G[hBase * 2u + ${U(H)} + k] = r;`,
    );
    return { bindings: stepBindings(s, ['x', 'w', 'r', 'b', 'sequenceLens'], cur, null, [gatesBinding]), ...src };
  };
  const stateStep = (cur: number, next: number): WgslDispatch => {
    const rowH = `d * ${U(3 * H)} + ${U(2 * H)} + k`;
    const recurrent = lbr
      ? `r * (dotR(${rowH}, hBase)${rb(`${U(2 * H)} + k`)})`
      : `resetDot(${rowH}, hBase)${rb(`${U(2 * H)} + k`)}`;
    const src = stepSource(
      ctx,
      s,
      `${acts}\n${dots(s)}
fn resetDot(row: u32, hBase: u32) -> f32 {
  var acc = 0.0;
  for (var j = 0u; j < ${U(H)}; j++) { acc += R[row * ${U(H)} + j] * (G[hBase * 2u + ${U(H)} + j] * Sin[hBase + j]); }
  return acc;
}`,
      'Sout[e] = Sin[e];',
      `let z = G[hBase * 2u + k];
  let r = G[hBase * 2u + ${U(H)} + k];
  let cand = act1(d, clipv(dotW(${rowH}, xBase)${wb(`${U(2 * H)} + k`)} + ${recurrent}));
  let h = (1.0 - z) * cand + z * Sin[e];
  Sout[e] = h;
  Y[yAt] = h;`,
    );
    return { bindings: stepBindings(s, ['x', 'w', 'r', 'b', 'sequenceLens'], cur, next, [gatesBinding, { ref: { output: 0 }, name: 'Y', type: 'array<f32>' }]), ...src };
  };
  return recurrentPlan(ctx, s, 1, (cur, next) => [gateStep(cur), stateStep(cur, next)], [s.cells * 2 * 4]);
});
