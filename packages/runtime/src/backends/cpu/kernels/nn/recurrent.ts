import { GraphcError, ShapeError, TensorValue, ops } from '@graphc/graph';
import type { KernelContext } from '../../kernel';

/**
 * What lstm, gru and rnn share: reading the optional inputs, ONNX's activation functions, and the
 * loop over directions, batch entries and time steps (each entry stops at its sequence length: later
 * steps of Y are 0 and its final state is the one at its last step).
 */

export type Activation = (x: number) => number;

function activation(name: string, alpha: number, beta: number): Activation {
  switch (name.toLowerCase()) {
    case 'relu':
      return (x) => (x > 0 ? x : 0);
    case 'tanh':
      return Math.tanh;
    case 'sigmoid':
      return (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
    case 'affine':
      return (x) => alpha * x + beta;
    case 'leakyrelu':
      return (x) => (x >= 0 ? x : alpha * x);
    case 'thresholdedrelu':
      return (x) => (x > alpha ? x : 0);
    case 'scaledtanh':
      return (x) => alpha * Math.tanh(beta * x);
    case 'hardsigmoid':
      return (x) => Math.max(0, Math.min(1, alpha * x + beta));
    case 'elu':
      return (x) => (x >= 0 ? x : alpha * (Math.exp(x) - 1));
    case 'softsign':
      return (x) => x / (1 + Math.abs(x));
    case 'softplus':
      return (x) => Math.log1p(Math.exp(x));
    default:
      throw new GraphcError(`recurrent activation '${name}' is not supported (${ops.RNN_ACTIVATIONS.join(', ')})`);
  }
}

/** The activation functions of each direction (ops.rnnActivations: the slots every backend reads). */
export function activations(attrs: Record<string, unknown>, defaults: string[], dirs: number): Activation[][] {
  return ops.rnnActivations(attrs, defaults, dirs).map((slots) => slots.map((a) => activation(a.name, a.alpha, a.beta)));
}

export interface RecurrentSetup {
  seq: number;
  batch: number;
  input: number;
  hidden: number;
  dirs: number;
  layout: number;
  x: (t: number, b: number, i: number) => number;
  get: (name: string) => TensorValue | undefined;
  lengths: Int32Array;
  clip: number;
}

export function setup(inputs: TensorValue[], attrs: Record<string, unknown>, ctx: KernelContext): RecurrentSetup {
  const index = ops.rnnInputIndex(attrs);
  const get = (name: string) => {
    const i = index.get(name as never);
    return i === undefined ? undefined : inputs[i];
  };
  const x = get('x')!;
  const { seq, batch, input, hidden, dirs, layout } = ops.rnnGeometry(attrs, x.shape);
  const lens = get('sequenceLens');
  const lengths = new Int32Array(batch).fill(seq);
  if (lens) {
    if (lens.data.length !== batch) throw new ShapeError(`op '${ctx.node.op}' (node '${ctx.node.name}'): ${lens.data.length} sequence lengths for a batch of ${batch}`);
    lens.data.forEach((v, b) => {
      if (v < 0 || v > seq) throw new ShapeError(`op '${ctx.node.op}' (node '${ctx.node.name}'): sequence length ${v} is outside [0, ${seq}]`);
      lengths[b] = v;
    });
  }
  const xd = x.data;
  const at = layout === 1 ? (t: number, b: number, i: number) => xd[(b * seq + t) * input + i] : (t: number, b: number, i: number) => xd[(t * batch + b) * input + i];
  return { seq, batch, input, hidden, dirs, layout, x: at, get, lengths, clip: typeof attrs.clip === 'number' ? attrs.clip : Infinity };
}

/** Allocates Y and the final-state outputs in the node's layout, with writers by (t, dir, b, h). */
function outputs(s: RecurrentSetup, dtype: TensorValue['dtype'], ctx: KernelContext, states: number) {
  const { seq, batch, hidden, dirs, layout } = s;
  const y = ctx.alloc(dtype, layout === 1 ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden]);
  y.data.fill(0);
  const finals = Array.from({ length: states }, () => ctx.alloc(dtype, layout === 1 ? [batch, dirs, hidden] : [dirs, batch, hidden]));
  const yAt = layout === 1 ? (t: number, d: number, b: number) => ((b * seq + t) * dirs + d) * hidden : (t: number, d: number, b: number) => ((t * dirs + d) * batch + b) * hidden;
  const finalAt = layout === 1 ? (d: number, b: number) => (b * dirs + d) * hidden : (d: number, b: number) => (d * batch + b) * hidden;
  return { y, finals, yAt, finalAt };
}

/** Initial state `name` ([dirs, batch, hidden], or [batch, dirs, hidden] in layout 1) for one direction and entry, else zeros. */
function initialState(s: RecurrentSetup, name: string, d: number, b: number): Float64Array {
  const v = s.get(name);
  const h = new Float64Array(s.hidden);
  if (!v) return h;
  const base = s.layout === 1 ? (b * s.dirs + d) * s.hidden : (d * s.batch + b) * s.hidden;
  for (let k = 0; k < s.hidden; k++) h[k] = v.data[base + k];
  return h;
}

/**
 * The scan lstm, gru and rnn share. For each direction and batch entry the states start at
 * `initialStates` (initialH, and initialC for lstm), then for each of the entry's time steps, in the
 * direction's order (backward for 'reverse' and for the second direction of 'bidirectional'),
 * `cell(d, xt, states)` gets X_t of that entry in `xt` and returns the new states, H first. Y at t is
 * the new H; the final-state outputs hold each entry's states after its last step. Returns
 * [Y, final states...], allocated in the node's layout.
 */
export function scanSequences(
  s: RecurrentSetup,
  attrs: Record<string, unknown>,
  dtype: TensorValue['dtype'],
  ctx: KernelContext,
  initialStates: readonly string[],
  cell: (d: number, xt: Float64Array, states: Float64Array[]) => Float64Array[],
): TensorValue[] {
  const { y, finals, yAt, finalAt } = outputs(s, dtype, ctx, initialStates.length);
  const xt = new Float64Array(s.input);
  for (let d = 0; d < s.dirs; d++) {
    for (let bi = 0; bi < s.batch; bi++) {
      let states = initialStates.map((name) => initialState(s, name, d, bi));
      const len = s.lengths[bi];
      for (let step = 0; step < len; step++) {
        const t = d === 0 && attrs.direction !== 'reverse' ? step : len - 1 - step;
        for (let i = 0; i < s.input; i++) xt[i] = s.x(t, bi, i);
        states = cell(d, xt, states);
        y.data.set(states[0], yAt(t, d, bi));
      }
      states.forEach((state, i) => finals[i].data.set(state, finalAt(d, bi)));
    }
  }
  return [y, ...finals];
}

/** dot(row r of matrix m (at offset), vector v) over n entries. */
export function dotRow(m: TensorValue['data'], offset: number, v: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += m[offset + k] * v[k];
  return s;
}

export function clipValue(x: number, clip: number): number {
  return x > clip ? clip : x < -clip ? -clip : x;
}
