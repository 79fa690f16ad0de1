import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import type { Attrs } from '../opdef';
import { setGradient } from '../registry';
import { shapeToString } from '../shape';
import { cast } from '../ops/array/cast';
import { concat } from '../ops/array/concat';
import { expand } from '../ops/array/expand';
import { gatherElements } from '../ops/array/gather-elements';
import { reshape } from '../ops/array/reshape';
import { slice } from '../ops/array/slice';
import { stopGradient } from '../ops/control/control';
import { add, greater, greaterEqual, less, lessEqual, logicalAnd, logicalOr, mul, sub, where } from '../ops/math/binary';
import { clip } from '../ops/math/clip';
import { abs, ceil, floor, round, sign } from '../ops/math/unary';
import { gridBorders, gridTapCount } from '../ops/nn/grid-sample';
import { reduceSum } from '../ops/reduce/reduce';
import { scalarOf } from './helpers';
import { differentiateBuilt } from './subgraph';

/**
 * The gradient of gridSample w.r.t. x and grid: its forward rebuilt from primitive ops (the taps of
 * each axis as tensors of the grid, gatherElements of the pixels they name, a weighted sum), the
 * same computation as the kernels (ops.gridSampleTaps), then differentiated by those ops' gradients.
 * The tap weights are polynomials of the grid coordinate, so the grid's gradient is their
 * derivative times the pixels read; rounding (nearest) and the integer tap positions take none. x's
 * and grid's shapes must be known.
 */

/** `x` reflected at lo and hi until it lies between them: the triangle wave of ops.gridReflect. */
function reflect(x: SymbolicTensor, lo: number, hi: number): SymbolicTensor {
  const span = hi - lo;
  if (span <= 0) return add(mul(x, 0), lo);
  const u = mul(sub(x, lo), 1 / span);
  const m = sub(u, mul(floor(mul(u, 0.5)), 2));
  return add(mul(where(lessEqual(m, scalarOf(m, 1)), m, sub(scalarOf(m, 2), m)), span), lo);
}

/** Keys' cubic weights (A = -0.75) of the taps at -1, 0, 1, 2 for fraction t in [0, 1). */
function cubicWeights(t: SymbolicTensor): SymbolicTensor[] {
  const a = -0.75;
  const near = (s: SymbolicTensor) => add(mul(mul(sub(mul(s, a + 2), a + 3), s), s), 1); // |s| <= 1
  const far = (s: SymbolicTensor) => sub(mul(add(mul(sub(mul(s, a), 5 * a), s), 8 * a), s), 4 * a); // 1 < |s| < 2
  const one = scalarOf(t, 1);
  const two = scalarOf(t, 2);
  return [far(add(t, 1)), near(t), near(sub(one, t)), far(sub(two, t))];
}

/** Per point, the K tap indices (float, clamped into range) and weights of one axis: [N, P, K] each. */
function axisTaps(g: SymbolicTensor, length: number, attrs: Attrs, rank: number): { index: SymbolicTensor; weight: SymbolicTensor } {
  const mode = String(attrs.mode ?? 'linear');
  const padding = String(attrs.paddingMode ?? 'zeros');
  const align = attrs.alignCorners === true;
  const [lo, hi] = gridBorders(length, align);
  let x = add(mul(g, align ? (length - 1) / 2 : length / 2), (length - 1) / 2);
  if (mode === 'nearest') x = rank === 3 ? mul(sign(x), floor(add(abs(x), 0.5))) : round(x);
  const outside = logicalOr(less(x, scalarOf(x, lo)), greater(x, scalarOf(x, hi)));
  if (padding === 'border') x = where(outside, clip(x, 0, length - 1), x);
  else if (padding === 'reflection') x = where(outside, reflect(x, lo, hi), x);
  let first: SymbolicTensor;
  let weights: SymbolicTensor[];
  if (mode === 'nearest') {
    first = where(less(x, scalarOf(x, 0)), ceil(x), floor(x));
    weights = [add(mul(x, 0), 1)];
  } else {
    const base = stopGradient(floor(x));
    const t = sub(x, base);
    first = mode === 'cubic' ? sub(base, 1) : base;
    weights = mode === 'cubic' ? cubicWeights(t) : [sub(scalarOf(t, 1), t), t];
  }
  let index = concat(weights.map((_, k) => add(first, k)), 2);
  let weight = concat(weights, 2);
  if (padding === 'zeros') {
    const inside = logicalAnd(greaterEqual(index, scalarOf(index, 0)), lessEqual(index, scalarOf(index, length - 1)));
    weight = where(inside, weight, scalarOf(weight, 0));
  } else if (padding === 'reflection') index = round(reflect(index, lo, hi));
  return { index: stopGradient(clip(index, 0, length - 1)), weight };
}

/** gridSample(x, grid) from primitive ops; shapes known. */
export function gridSampleFromPrimitives(x: SymbolicTensor, grid: SymbolicTensor, attrs: Attrs): SymbolicTensor {
  const [N, C, ...spatial] = x.shape as number[];
  const r = spatial.length;
  const outSpatial = (grid.shape as number[]).slice(1, r + 1);
  const P = outSpatial.reduce((a, b) => a * b, 1);
  const S = spatial.reduce((a, b) => a * b, 1);
  const K = gridTapCount(String(attrs.mode ?? 'linear'));
  const combos = K ** r;
  const g = reshape(attrs.mode === 'nearest' ? stopGradient(grid) : grid, [N, P, r]);
  let flat: SymbolicTensor | null = null;
  let weight: SymbolicTensor | null = null;
  let stride = 1;
  for (let d = r - 1; d >= 0; d--) {
    // grid's last axis lists the spatial axes innermost first
    const taps = axisTaps(slice(g, [0, 0, r - 1 - d], [N, P, 1]), spatial[d], attrs, r);
    const at = [N, P, ...spatial.map((_, e) => (e === d ? K : 1))];
    const index = mul(reshape(taps.index, at), stride);
    const w = reshape(taps.weight, at);
    flat = flat ? add(flat, index) : index;
    weight = weight ? mul(weight, w) : w;
    stride *= spatial[d];
  }
  const indices = expand(reshape(cast(flat!, 'int32'), [N, 1, P * combos]), [N, C, P * combos]);
  const pixels = gatherElements(reshape(x, [N, C, S]), indices, 2);
  const weighted = mul(pixels, reshape(weight!, [N, 1, P * combos]));
  return reshape(reduceSum(reshape(weighted, [N, C, P, combos]), [3]), [N, C, ...outSpatial]);
}

setGradient('gridSample', ({ node, inputs, grads }) => {
  const [x, grid] = inputs;
  if (![...x.shape, ...grid.shape].every((d) => d !== null)) {
    throw new GradientError(`gradient of gridSample (node '${node.name}'): x ${shapeToString(x.shape)} and grid ${shapeToString(grid.shape)} must have known shapes`);
  }
  const graph = x.graph;
  const from = graph.nodes.length;
  const y = gridSampleFromPrimitives(x, grid, node.attrs);
  return differentiateBuilt(graph, from, [y], [grads[0]], [x, grid]);
});
