import { GraphcError, ShapeError, TensorValue, ops } from '@graphc/graph';
import { PackedB, gemm, gemmPacked, packMatrixB, packedBSize, packedColumns } from '../../gemm';
import type { KernelContext } from '../../kernel';
import { Scratch, kernelScratch } from '../../scratch';
import { SimdCell, SimdCellSpec, simdCell } from './recurrent-simd';

/**
 * What lstm, gru and rnn share: reading the optional inputs, ONNX's activation functions, and the
 * scan over directions and time steps (scanSequences), which leaves each op only its cell.
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

/** The activation slots of each direction (ops.rnnActivations: the slots every backend reads) and their functions. */
export function activations(attrs: Record<string, unknown>, defaults: string[], dirs: number): { slots: ops.RnnActivation[][]; functions: Activation[][] } {
  const slots = ops.rnnActivations(attrs, defaults, dirs);
  return { slots, functions: slots.map((direction) => direction.map((a) => activation(a.name, a.alpha, a.beta))) };
}

export interface RecurrentSetup extends ops.RnnGeometry {
  x: TensorValue;
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
  return { seq, batch, input, hidden, dirs, layout, x, get, lengths, clip: typeof attrs.clip === 'number' ? attrs.clip : Infinity };
}

/**
 * Gate values. float32 ops keep them in float32, so their products take gemm's SIMD float32 kernel
 * (accumulating in float32, as ONNX Runtime and tfjs do); float64 ops keep float64.
 */
export type GateRows = Float32Array | Float64Array;

/** Allocates Y and the final-state outputs in the node's layout, with offsets by (t, dir, b). */
function outputs(s: RecurrentSetup, dtype: TensorValue['dtype'], ctx: KernelContext, states: number) {
  const { seq, batch, hidden, dirs, layout } = s;
  const y = ctx.alloc(dtype, layout === 1 ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden]);
  y.data.fill(0);
  const finals = Array.from({ length: states }, () => ctx.alloc(dtype, layout === 1 ? [batch, dirs, hidden] : [dirs, batch, hidden]));
  const yAt = layout === 1 ? (t: number, d: number, b: number) => ((b * seq + t) * dirs + d) * hidden : (t: number, d: number, b: number) => ((t * dirs + d) * batch + b) * hidden;
  const finalAt = layout === 1 ? (d: number, b: number) => (b * dirs + d) * hidden : (d: number, b: number) => (d * batch + b) * hidden;
  return { y, finals, yAt, finalAt };
}

/** Sets `h` ([batch, hidden], zeros) to initial state `name` ([dirs, batch, hidden], or [batch, dirs, hidden] in layout 1) of direction d, when given. */
function initialState(s: RecurrentSetup, name: string, d: number, h: GateRows): void {
  const v = s.get(name);
  if (!v) return;
  for (let b = 0; b < s.batch; b++) {
    const base = s.layout === 1 ? (b * s.dirs + d) * s.hidden : (d * s.batch + b) * s.hidden;
    for (let k = 0; k < s.hidden; k++) h[b * s.hidden + k] = v.data[base + k];
  }
}

/**
 * gates (of `total`) of direction d of R ([dirs, total * H, H]), from gate `from`, packed as R^T
 * (H x gates * H) for gemmPacked, into `scratch` (valid until its next use).
 */
export function packRecurrent(r: TensorValue, d: number, total: number, hidden: number, from: number, gates: number, scratch: Scratch): PackedB {
  const offset = (d * total + from) * hidden * hidden;
  const into = scratch('float64', packedBSize(hidden, gates * hidden)) as Float64Array;
  return packMatrixB(hidden, gates * hidden, { data: r.data, offset, rowStride: 1, colStride: hidden }, into);
}

/** rows x cols of `a` (row-major) times packed B into `out`. */
export function multiplyPacked(rows: number, a: GateRows, b: PackedB, out: GateRows): void {
  gemmPacked(rows, b.n, b.k, { data: a, offset: 0, rowStride: b.k, colStride: 1 }, b, out);
}

/** What a cell sees at one time step of one direction. */
export interface RecurrentStep {
  d: number;
  /** X_t·W^T + Wb (+ Rb for the folded gates), for every (t, b): G * H values from `xwOffset`. */
  xw: GateRows;
  /** h_prev·R^T for the first `stepGates` gates, row b from b * stepGates * H. */
  rh: GateRows;
  /** R^T of every gate of this direction, packed (gru multiplies its last gate from it itself). */
  packed: PackedB;
  /** The states as [batch, hidden], H first; the cell updates the rows of the entries it steps. */
  states: Float64Array[];
  /** Calls `visit` for every entry inside its sequence at this step, with its offsets in xw, rh and the states. */
  each(visit: (xwOffset: number, rhOffset: number, stateOffset: number) => void): void;
}

export interface RecurrentCell {
  /** Gate blocks in W, R and B. */
  gates: number;
  /** The initial-state inputs, H first. */
  initialStates: readonly string[];
  /** Leading gates whose recurrent bias adds like Wb, so it is folded into the projections. */
  foldedBiasGates: number;
  /** Leading gates of R multiplied by h_prev in the step's GEMM (gru without linearBeforeReset multiplies its last gate itself). */
  stepGates: number;
  step(s: RecurrentStep): void;
  /** The cell's SIMD form for float32 (recurrent-simd.ts), used where it applies. */
  simd?: SimdCellSpec;
}

/**
 * The scan lstm, gru and rnn share, as GEMMs: per direction, one product X·W^T gives every step's
 * input projections, then each step multiplies the batch's states by R^T (packed once) and the
 * cell updates the states elementwise. Entries run in the direction's order (backward for
 * 'reverse' and the second direction of 'bidirectional') and stop at their sequence length: later
 * steps of Y are 0 and the final-state outputs hold each entry's states after its last step.
 * Returns [Y, final states...], allocated in the node's layout.
 */
export function scanSequences(s: RecurrentSetup, attrs: Record<string, unknown>, dtype: TensorValue['dtype'], ctx: KernelContext, cell: RecurrentCell): TensorValue[] {
  const { seq, batch, input, hidden: H, dirs, layout, lengths } = s;
  const gh = cell.gates * H;
  const stepWidth = cell.stepGates * H;
  const xw = gateScratch(dtype, seq * batch * gh);
  // h·R^T for the JavaScript cell (the SIMD cell has its own, in its memory)
  let jsRh: GateRows | undefined;
  const jsRows = (): GateRows => (jsRh ??= dtype === 'float32' ? new Float32Array(batch * stepWidth) : new Float64Array(batch * stepWidth));
  const w = s.get('w')!.data;
  const r = s.get('r')!;
  const bias = s.get('b')?.data;
  const { y, finals, yAt, finalAt } = outputs(s, dtype, ctx, cell.initialStates.length);
  // X is [seq * batch, input] in memory order either way; the row of (t, b) depends on the layout
  const xwRow = layout === 1 ? (t: number, b: number) => b * seq + t : (t: number, b: number) => t * batch + b;
  const time = new Int32Array(batch);
  const rows = new Int32Array(batch);
  for (let d = 0; d < dirs; d++) {
    if (bias) fillBias(xw.subarray(0, seq * batch * gh), bias, d, gh, cell.foldedBiasGates * H);
    const x = { data: s.x.data, offset: 0, rowStride: input, colStride: 1 };
    gemm(seq * batch, gh, input, x, { data: w, offset: d * gh * input, rowStride: 1, colStride: input }, xw, 0, bias !== undefined);
    const packed = packRecurrent(r, d, cell.gates, H, 0, cell.gates, stepPack);
    const stepProduct = cell.stepGates < cell.gates ? packedColumns(packed, 0, stepWidth) : packed;
    const simd: SimdCell | null = cell.simd && xw instanceof Float32Array ? simdCell(cell.simd, d, batch, H, packed) : null;
    const states = simd ? simd.states : cell.initialStates.map(() => new Float64Array(batch * H));
    cell.initialStates.forEach((name, i) => initialState(s, name, d, states[i]));
    const reverse = d === 1 || attrs.direction === 'reverse';
    const each = (visit: (xwOffset: number, rhOffset: number, stateOffset: number) => void) => {
      for (let b = 0; b < batch; b++) if (time[b] >= 0) visit(xwRow(time[b], b) * gh, b * stepWidth, b * H);
    };
    for (let step = 0; step < seq; step++) {
      let active = false;
      for (let b = 0; b < batch; b++) {
        const len = lengths[b];
        time[b] = step >= len ? -1 : reverse ? len - 1 - step : step;
        rows[b] = time[b] < 0 ? -1 : xwRow(time[b], b);
        active ||= step < len;
      }
      if (!active) break;
      const rh = simd ? simd.rh : jsRows();
      multiplyPacked(batch, states[0], stepProduct, rh);
      if (simd) simd.step(xw as Float32Array, rows);
      else cell.step({ d, xw, rh, packed, states: states as Float64Array[], each });
      for (let b = 0; b < batch; b++) if (time[b] >= 0) y.data.set(states[0].subarray(b * H, (b + 1) * H), yAt(time[b], d, b));
    }
    states.forEach((state, i) => {
      for (let b = 0; b < batch; b++) finals[i].data.set(state.subarray(b * H, (b + 1) * H), finalAt(d, b));
    });
  }
  return [y, ...finals];
}

/** X·W^T for every step, and R^T packed for the steps' products, kept across calls. */
const gateScratch = kernelScratch();
const stepPack = kernelScratch();

/** Fills every row of xw with direction d's Wb, plus its Rb over the first `folded` columns (the projections then add onto it). */
function fillBias(xw: GateRows, bias: TensorValue['data'], d: number, gh: number, folded: number): void {
  for (let j = 0; j < gh; j++) xw[j] = bias[d * 2 * gh + j] + (j < folded ? bias[d * 2 * gh + gh + j] : 0);
  for (let filled = gh; filled < xw.length; filled *= 2) xw.copyWithin(filled, 0, Math.min(filled, xw.length - filled));
}

export function clipValue(x: number, clip: number): number {
  return x > clip ? clip : x < -clip ? -clip : x;
}
