import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import { setGradient } from '../registry';
import { shapeToString } from '../shape';
import { tensor } from '../tensor';
import { gatherGrad } from '../ops/array/gradient-ops';
import { pad } from '../ops/array/pad';
import { expandDims, reshape } from '../ops/array/reshape';
import { slice } from '../ops/array/slice';
import { add, equal, greater, mul, pow, sub, where } from '../ops/math/binary';
import { abs, sign, square } from '../ops/math/unary';
import { nchwWindow } from '../ops/nn/nchw-window';
import { reshapeLike } from './array';
import { scalarOf } from './helpers';

/** Closed-form gradients of lrnNchw and lpPoolNchw in ordinary ops (so they differentiate again). */

const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);

/** sum over channels [c - before, c + after] of t ([N, C, ...]), zero beyond the ends: C must be known. */
function channelWindowSum(t: SymbolicTensor, channels: number, before: number, after: number): SymbolicTensor {
  const rest = new Array<number>(t.rank - 2).fill(0);
  const padded = pad(t, [[0, 0], [before, after], ...rest.map((): [number, number] => [0, 0])]);
  let sum: SymbolicTensor | null = null;
  for (let m = 0; m <= before + after; m++) {
    const part = slice(padded, [0, m, ...rest], [-1, channels, ...rest.map(() => -1)]);
    sum = sum ? add(sum, part) : part;
  }
  return sum!;
}

/**
 * y = x D^-beta with D = bias + alpha / size * S, S_c the sum of x^2 over channels
 * [c - lo, c + hi]: dx_j = dy_j D_j^-beta - 2 alpha beta / size * x_j * sum over the channels c whose
 * window holds j (c in [j - hi, j + lo]) of dy_c x_c D_c^(-beta - 1).
 */
setGradient('lrnNchw', ({ node, inputs, grads }) => {
  const [x] = inputs;
  const dy = grads[0]!;
  const channels = x.shape[1];
  if (channels === null) throw new GradientError(`gradient of lrnNchw (node '${node.name}'): the channel count of x ${shapeToString(x.shape)} must be known`);
  const size = Number(node.attrs.size);
  const alpha = num(node.attrs.alpha, 1e-4);
  const beta = num(node.attrs.beta, 0.75);
  const bias = num(node.attrs.bias, 1);
  const lo = Math.floor((size - 1) / 2);
  const hi = Math.ceil((size - 1) / 2);
  const d = add(mul(channelWindowSum(square(x), channels, lo, hi), alpha / size), bias);
  const scale = pow(d, scalarOf(d, -beta)); // D^-beta
  const inner = channelWindowSum(mul(mul(dy, x), pow(d, scalarOf(d, -beta - 1))), channels, hi, lo);
  return [sub(mul(dy, scale), mul(mul(x, inner), (2 * alpha * beta) / size))];
});

/**
 * Per output position of a channels-first pool, the flat spatial offsets of the window's taps that
 * lie inside x (as the kernels visit them), padded to the kernel volume with masked-out entries.
 */
function windowTaps(spatial: number[], kernel: number[], attrs: Record<string, unknown>, where: string): { index: number[]; mask: number[]; positions: number; taps: number } {
  const geo = nchwWindow(spatial, kernel, attrs as never, where);
  const out = geo.out as number[];
  const s = spatial.length;
  const positions = out.reduce((p, d) => p * d, 1);
  const taps = geo.kernel.reduce((p, d) => p * d, 1);
  const strides = spatial.map((_, d) => spatial.slice(d + 1).reduce((p, v) => p * v, 1));
  const index = new Array<number>(positions * taps).fill(0);
  const mask = new Array<number>(positions * taps).fill(0);
  const pos = new Array<number>(s).fill(0);
  for (let p = 0; p < positions; p++) {
    const tap = new Array<number>(s).fill(0);
    for (let k = 0; k < taps; k++) {
      let offset = 0;
      let inside = true;
      for (let d = 0; d < s; d++) {
        const c = pos[d] * geo.strides[d] - geo.padsBegin[d] + tap[d] * geo.dilations[d];
        if (c < 0 || c >= spatial[d]) inside = false;
        offset += c * strides[d];
      }
      if (inside) {
        index[p * taps + k] = offset;
        mask[p * taps + k] = 1;
      }
      for (let d = s - 1; d >= 0; d--) {
        if (++tap[d] < geo.kernel[d]) break;
        tap[d] = 0;
      }
    }
    for (let d = s - 1; d >= 0; d--) {
      if (++pos[d] < out[d]) break;
      pos[d] = 0;
    }
  }
  return { index, mask, positions, taps };
}

/**
 * y = (sum over the window of |x|^p)^(1/p): dx_i = sign(x_i) |x_i|^(p-1) times the sum, over the
 * windows holding i, of dy y^(1-p) (0 for a window of zeros, where y has no gradient). The sum over
 * windows is the adjoint of gathering each window's taps (gatherGrad over constant tap tables).
 */
setGradient('lpPoolNchw', ({ node, inputs, outputs, grads }) => {
  const [x] = inputs;
  const [y] = outputs;
  const dy = grads[0]!;
  const spatial = x.shape.slice(2);
  if (!spatial.every((d): d is number => d !== null)) {
    throw new GradientError(`gradient of lpPoolNchw (node '${node.name}'): the spatial sizes of x ${shapeToString(x.shape)} must be known`);
  }
  const p = num(node.attrs.p, 2);
  const graph = x.graph;
  const t = windowTaps(spatial, node.attrs.kernel as number[], node.attrs, `op 'lpPoolNchw' (node '${node.name}'): `);
  const inSize = spatial.reduce((a, d) => a * d, 1);
  const positive = greater(y, scalarOf(y, 0));
  const perWindow = p === 1 ? dy : where(positive, mul(dy, pow(where(positive, y, scalarOf(y, 1)), scalarOf(y, 1 - p))), scalarOf(y, 0));
  const spread = mul(expandDims(reshape(perWindow, [-1, t.positions]), 2), graph.constant(tensor(t.mask, [t.positions, t.taps], x.dtype)));
  const indices = graph.constant(tensor(t.index, [t.positions, t.taps], 'int32'));
  const summed = reshapeLike(gatherGrad(spread, indices, reshape(x, [-1, inSize]), 1), x);
  // d|x|^p/dx / p = sign(x) |x|^(p-1): x itself for p = 2, and 0 at x = 0 whenever p > 1
  const slope = p === 2 ? x : p === 1 ? sign(x) : mul(sign(x), pow(where(equal(x, scalarOf(x, 0)), scalarOf(x, 1), abs(x)), scalarOf(x, p - 1)));
  return [mul(slope, summed)];
});
