import { ShapeError } from '../../errors';
import type { InferContext, OutputInfo } from '../../opdef';
import { shapeToString } from '../../shape';
import { requireFloat } from '../infer-helpers';

/** The inputs an ONNX recurrent op may have, in order; a node lists the ones it has in attr `inputs`. */
export const RNN_INPUTS = ['x', 'w', 'r', 'b', 'sequenceLens', 'initialH', 'initialC', 'p'] as const;
export type RnnInputName = (typeof RNN_INPUTS)[number];

/** Index of each named input among a node's inputs (absent ones are missing from the map). */
export function rnnInputIndex(attrs: Record<string, unknown>): Map<RnnInputName, number> {
  const names = (Array.isArray(attrs.inputs) ? attrs.inputs : ['x', 'w', 'r']) as RnnInputName[];
  return new Map(names.map((n, i) => [n, i]));
}

/** A recurrent op's sizes, read the same way by inference and every backend. */
export interface RnnGeometry<D extends number | null = number> {
  seq: D;
  batch: D;
  input: D;
  hidden: number;
  dirs: number;
  /** 0: x is [seq, batch, input]; 1: [batch, seq, input]. */
  layout: number;
}

/** The sizes of a recurrent op with attrs `attrs` on input x of shape `x` (rank 3). */
export function rnnGeometry<D extends number | null>(attrs: Record<string, unknown>, x: readonly D[]): RnnGeometry<D> {
  const layout = Number(attrs.layout ?? 0);
  const seq: D = layout === 1 ? x[1] : x[0];
  const batch: D = layout === 1 ? x[0] : x[1];
  return { seq, batch, input: x[2], hidden: Number(attrs.hiddenSize), dirs: attrs.direction === 'bidirectional' ? 2 : 1, layout };
}

export const RNN_ACTIVATIONS = ['Relu', 'Tanh', 'Sigmoid', 'Affine', 'LeakyRelu', 'ThresholdedRelu', 'ScaledTanh', 'HardSigmoid', 'Elu', 'Softsign', 'Softplus'];

/** One activation slot of a recurrent op: the lower-cased ONNX name and its alpha and beta. */
export interface RnnActivation {
  name: string;
  alpha: number;
  beta: number;
}

// ONNX's defaults for the activations that take alpha (and beta), and how many of the two each takes
const ACTIVATION_DEFAULTS: Record<string, [number, number]> = {
  leakyrelu: [0.01, 0],
  thresholdedrelu: [1, 0],
  scaledtanh: [1, 1],
  hardsigmoid: [0.2, 0.5],
  elu: [1, 0],
  affine: [1, 0],
};
const ACTIVATION_PARAMS: Record<string, number> = { leakyrelu: 1, thresholdedrelu: 1, elu: 1, scaledtanh: 2, hardsigmoid: 2, affine: 2 };

/**
 * The activation slots of each direction (`defaults`: the op's, e.g. Sigmoid, Tanh, Tanh for LSTM),
 * from attrs `activations`, `activationAlpha` and `activationBeta`: alphas and betas are consumed in
 * order by the activations that take them. Every backend's kernel and the gradient read them here.
 */
export function rnnActivations(attrs: Record<string, unknown>, defaults: string[], dirs: number, where = ''): RnnActivation[][] {
  const given = Array.isArray(attrs.activations) ? (attrs.activations as string[]) : [];
  const list = given.length ? given : dirs === 2 ? [...defaults, ...defaults] : defaults;
  if (list.length !== defaults.length * dirs) throw new ShapeError(`${where}expected ${defaults.length * dirs} activations, got ${list.length}`);
  const alphas = [...((attrs.activationAlpha as number[] | undefined) ?? [])];
  const betas = [...((attrs.activationBeta as number[] | undefined) ?? [])];
  const slots = list.map((raw): RnnActivation => {
    const name = String(raw).toLowerCase();
    const [da, db] = ACTIVATION_DEFAULTS[name] ?? [0, 0];
    const uses = ACTIVATION_PARAMS[name] ?? 0;
    const alpha = uses >= 1 && alphas.length ? alphas.shift()! : da;
    const beta = uses >= 2 && betas.length ? betas.shift()! : db;
    return { name, alpha, beta };
  });
  return Array.from({ length: dirs }, (_, d) => slots.slice(d * defaults.length, (d + 1) * defaults.length));
}

/**
 * Shared inference of lstm, gru and rnn (ONNX layouts): x [seq, batch, in] (or [batch, seq, in] with
 * layout 1), w [dirs, gates * hidden, in]; outputs Y [seq, dirs, batch, hidden] (layout 1:
 * [batch, seq, dirs, hidden]), Y_h, and for lstm Y_c, [dirs, batch, hidden] ([batch, dirs, hidden]).
 */
export function inferRecurrent(ctx: InferContext, gates: number, outputs: number): OutputInfo[] {
  const idx = rnnInputIndex(ctx.attrs);
  const names = [...idx.keys()];
  if (names.length !== ctx.inputs.length || !['x', 'w', 'r'].every((n) => idx.has(n as RnnInputName)) || names.some((n) => !RNN_INPUTS.includes(n))) {
    throw new ShapeError(`${ctx.where}attr 'inputs' must name each input (x, w, r required; then b, sequenceLens, initialH, initialC, p)`);
  }
  const dtype = requireFloat(ctx, 0);
  for (const [n, i] of idx) {
    if (n !== 'sequenceLens' && ctx.inputs[i].dtype !== dtype) throw new ShapeError(`${ctx.where}input '${n}' must be ${dtype}`);
  }
  const direction = String(ctx.attrs.direction ?? 'forward');
  if (!['forward', 'reverse', 'bidirectional'].includes(direction)) throw new ShapeError(`${ctx.where}direction '${direction}' is not forward, reverse or bidirectional`);
  const x = ctx.inputs[idx.get('x')!].shape;
  const { seq, batch, hidden, dirs, layout } = rnnGeometry(ctx.attrs, x);
  const w = ctx.inputs[idx.get('w')!].shape;
  const r = ctx.inputs[idx.get('r')!].shape;
  if (!Number.isInteger(hidden) || hidden < 1) throw new ShapeError(`${ctx.where}hiddenSize must be a positive integer`);
  if (x.length !== 3) throw new ShapeError(`${ctx.where}x ${shapeToString(x)} must have rank 3`);
  const fits = (s: (number | null)[], want: (number | null)[]): boolean => s.length === want.length && s.every((d, i) => d === null || want[i] === null || d === want[i]);
  if (!fits(w, [dirs, gates * hidden, x[2]]) || !fits(r, [dirs, gates * hidden, hidden])) {
    throw new ShapeError(`${ctx.where}w ${shapeToString(w)} / r ${shapeToString(r)} do not fit ${dirs} direction(s), ${gates} gates of ${hidden} and ${x[2]} inputs`);
  }
  const y = layout === 1 ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden];
  const h = layout === 1 ? [batch, dirs, hidden] : [dirs, batch, hidden];
  const out: OutputInfo[] = [
    { dtype, shape: y },
    { dtype, shape: h },
  ];
  if (outputs === 3) out.push({ dtype, shape: [...h] });
  return out;
}
