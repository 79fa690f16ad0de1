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

export const RNN_ACTIVATIONS = ['Relu', 'Tanh', 'Sigmoid', 'Affine', 'LeakyRelu', 'ThresholdedRelu', 'ScaledTanh', 'HardSigmoid', 'Elu', 'Softsign', 'Softplus'];

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
  const hidden = Number(ctx.attrs.hiddenSize);
  const direction = String(ctx.attrs.direction ?? 'forward');
  if (!['forward', 'reverse', 'bidirectional'].includes(direction)) throw new ShapeError(`${ctx.where}direction '${direction}' is not forward, reverse or bidirectional`);
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const layout = Number(ctx.attrs.layout ?? 0);
  const x = ctx.inputs[idx.get('x')!].shape;
  const w = ctx.inputs[idx.get('w')!].shape;
  const r = ctx.inputs[idx.get('r')!].shape;
  if (!Number.isInteger(hidden) || hidden < 1) throw new ShapeError(`${ctx.where}hiddenSize must be a positive integer`);
  if (x.length !== 3) throw new ShapeError(`${ctx.where}x ${shapeToString(x)} must have rank 3`);
  const fits = (s: (number | null)[], want: (number | null)[]): boolean => s.length === want.length && s.every((d, i) => d === null || want[i] === null || d === want[i]);
  if (!fits(w, [dirs, gates * hidden, x[2]]) || !fits(r, [dirs, gates * hidden, hidden])) {
    throw new ShapeError(`${ctx.where}w ${shapeToString(w)} / r ${shapeToString(r)} do not fit ${dirs} direction(s), ${gates} gates of ${hidden} and ${x[2]} inputs`);
  }
  const [seq, batch] = layout === 1 ? [x[1], x[0]] : [x[0], x[1]];
  const y = layout === 1 ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden];
  const h = layout === 1 ? [batch, dirs, hidden] : [dirs, batch, hidden];
  const out: OutputInfo[] = [
    { dtype, shape: y },
    { dtype, shape: h },
  ];
  if (outputs === 3) out.push({ dtype, shape: [...h] });
  return out;
}
