import { TensorValue, tensor } from 'graphc';

/** Deterministic float64 values in [lo, hi) of `shape`, kept at least `gap` away from 0 when asked. */
export function values(shape: number[], seed: number, lo = -2, hi = 2, gap = 0): TensorValue {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    let v = lo + (s / 4294967296) * (hi - lo);
    if (gap && Math.abs(v) < gap) v = v < 0 ? -gap - Math.abs(v) : gap + v;
    out[i] = v;
  }
  return tensor(out, shape, 'float64');
}

/** Distinct values (a permutation of a spaced grid), so max/min/pool never tie. */
export function distinct(shape: number[], seed: number, spacing = 0.1): TensorValue {
  const n = shape.reduce((a, b) => a * b, 1);
  const order = Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return tensor(order.map((k) => (k - n / 2) * spacing), shape, 'float64');
}

/** The shape of each input of an ONNX lstm, gru or rnn (op) by its name, for the given sizes and attrs' direction and layout. */
export function recurrentShapes(op: 'lstm' | 'gru' | 'rnn', attrs: Record<string, unknown>, seq: number, batch: number, input: number, hidden: number): Record<string, number[]> {
  const gates = { lstm: 4, gru: 3, rnn: 1 }[op];
  const dirs = attrs.direction === 'bidirectional' ? 2 : 1;
  const state = attrs.layout === 1 ? [batch, dirs, hidden] : [dirs, batch, hidden];
  return {
    x: attrs.layout === 1 ? [batch, seq, input] : [seq, batch, input],
    w: [dirs, gates * hidden, input],
    r: [dirs, gates * hidden, hidden],
    b: [dirs, 2 * gates * hidden],
    initialH: state,
    initialC: state,
    p: [dirs, 3 * hidden],
  };
}
