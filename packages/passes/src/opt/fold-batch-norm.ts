import { GraphError, Node, SymbolicTensor, shapesEqual, sizeOf } from '@graphc/graph';
import { GraphInfo } from '../analysis';
import { Rebuild } from '../rebuild';
import type { GraphPass } from './pass';

/**
 * How to scale the weights of a linear op feeding batchNorm, per op: given the per-channel
 * multiplier `k` (shape [C], C = the op's output channels), the shape to view `k` as so that
 * `weights * k` scales output channel c by k[c].
 */
interface FoldTarget {
  op: string;
  scaleShape(node: Node, channels: number): number[] | undefined;
}

const FOLD_TARGETS: FoldTarget[] = [
  // NHWC conv: filter [KH, KW, Cin, Cout], output channel = filter's last axis
  { op: 'conv2d', scaleShape: (_n, c) => [c] },
  // depthwise: filter [KH, KW, C, M], output channel c*M + m
  {
    op: 'depthwiseConv2d',
    scaleShape: (n, c) => {
      const f = n.inputs[1].shape;
      return f[2] !== null && f[3] !== null && f[2] * f[3] === c ? [f[2], f[3]] : undefined;
    },
  },
  // dense layer: output column n is column n of B, or row n of B when it is transposed
  { op: 'matmul', scaleShape: (n, c) => (n.attrs.transposeB === true ? [c, 1] : [c]) },
];

/** Whether a statistic broadcasts along the channel (last) axis only: [], [1], [C], [1, ..., C]. */
function perChannel(t: SymbolicTensor, channels: number, rank: number): boolean {
  const s = t.shape;
  if (s.length > rank || s.some((d) => d === null)) return false;
  const size = sizeOf(s as number[]);
  if (size === 1) return true;
  return s[s.length - 1] === channels && size === channels;
}

/**
 * Conv+batchnorm folding: with `k = scale / sqrt(var + eps)`, `batchNorm(conv(x, W), mean, var,
 * offset, scale)` becomes `conv(x, W * k) + (offset - mean * k)` when the weights and statistics
 * are constants (an inference graph: constant folding then computes the new weights once, and the
 * fusion pass puts the bias add and any activation into the conv's epilogue, so the block is one
 * kernel). Otherwise (variables) it becomes `conv(x, W) * k + (offset - mean * k)`: two small
 * per-channel kernels, and the scale and shift run in the conv's epilogue instead of a pass over
 * the activation. For conv2d, depthwiseConv2d and matmul that feed only the batchNorm.
 *
 * Every other batchNorm with statistics smaller than its input (an NCHW model's [C, 1, 1], a
 * batchNorm after an op it cannot fold into) becomes `x * k + (offset - mean * k)`: the fusion pass
 * then runs it with its neighbours as one multiply and one add per element.
 */
export const foldBatchNormPass: GraphPass = {
  name: 'foldBatchNorm',
  run(graph, ctx) {
    const info = new GraphInfo(graph);
    const folds = new Map<Node, { anchor: Node; target: FoldTarget; kShape: number[]; channels: number; constant: boolean }>();
    for (const bn of graph.nodes) {
      if (bn.op !== 'batchNorm' || bn.controlInputs.length > 0) continue;
      const anchor = bn.inputs[0].node;
      const target = FOLD_TARGETS.find((t) => t.op === anchor.op);
      if (!target || ctx.keep.has(anchor.name) || anchor.controlInputs.length > 0) continue;
      if (info.dataConsumers.get(anchor)!.length !== 1 || !info.onlyDataConsumers(anchor)) continue;
      const out = anchor.outputs[0].shape;
      const channels = out[out.length - 1];
      if (channels === null || channels === undefined) continue;
      if (!bn.inputs.slice(1).every((t) => perChannel(t, channels, out.length))) continue;
      const kShape = target.scaleShape(anchor, channels);
      if (!kShape) continue;
      const from = info.position.get(anchor)!;
      const to = info.position.get(bn)!;
      if (![...anchor.inputs, ...bn.inputs.slice(1)].every((t) => info.readMayMove(t, from, to))) continue;
      const constant = [anchor.inputs[1], ...bn.inputs.slice(1)].every((t) => t.node.op === 'const');
      folds.set(bn, { anchor, target, kShape, channels, constant });
    }
    // any other batchNorm whose statistics are smaller than x: x * k + shift, with k and the shift
    // computed on the statistics (folded when they are constants), instead of a square root and a
    // division per element. An NCHW model's statistics ([C, 1, 1]) land here.
    const affine = graph.nodes.filter((bn) => bn.op === 'batchNorm' && !folds.has(bn) && bn.controlInputs.length === 0 && smallerStatistics(bn));
    if (folds.size === 0 && affine.length === 0) return { graph, stats: { folded: 0, affine: 0 } };
    const absorbed = new Set([...folds.values()].map((f) => f.anchor));
    const rewritten = new Set(affine);
    const rb = new Rebuild(graph);
    for (const n of graph.nodes) {
      if (absorbed.has(n)) continue;
      if (rewritten.has(n)) {
        const [x, mean, variance, offset, scale] = n.inputs.map((t) => rb.tensor(t));
        const { k, shift } = scaleAndShift(rb, n, mean, variance, offset, scale);
        const y = rb.add('add', [rb.add('mul', [x, k], {}, `${n.name}/bn_scaled`).output(0), shift], {}, n.name).output(0);
        if (y.dtype !== n.outputs[0].dtype || !shapesEqual(y.shape, n.outputs[0].shape)) throw new GraphError(`foldBatchNorm: rewriting '${n.name}' changed its type`);
        rb.replace(n, [y]);
        continue;
      }
      const fold = folds.get(n);
      if (!fold) {
        rb.copy(n);
        continue;
      }
      const { anchor, kShape, channels } = fold;
      // constant weights and statistics: fold into the weights (constant folding computes them);
      // otherwise a per-channel scale and shift that the fusion pass puts into the op's epilogue
      const [mean, variance, offset, scale] = n.inputs.slice(1).map((t) => rb.tensor(t));
      const base = anchor.name;
      let { k, shift } = scaleAndShift(rb, n, mean, variance, offset, scale, base);
      const flat = (t: SymbolicTensor, shape: number[], name: string): SymbolicTensor =>
        sizeOf(t.shape as number[]) === 1 || shapesEqual(t.shape, shape) ? t : rb.add('reshape', [t], { shape }, name).output(0);
      k = flat(k, [channels], `${base}/bn_k_flat`);
      shift = flat(shift, [channels], `${base}/bn_shift_flat`);
      const kView = sizeOf(k.shape as number[]) === 1 ? k : flat(k, kShape, `${base}/bn_k_view`);
      const [x, w] = anchor.inputs.map((t) => rb.tensor(t));
      let y: SymbolicTensor;
      if (fold.constant) {
        const scaled = rb.add('mul', [w, kView], {}, `${base}/bn_folded_weights`).output(0);
        const linear = rb.add(anchor.op, [x, scaled, ...anchor.inputs.slice(2).map((t) => rb.tensor(t))], anchor.attrs, base).output(0);
        y = rb.add('add', [linear, shift], {}, n.name).output(0);
      } else {
        const linear = rb.add(anchor.op, [x, w, ...anchor.inputs.slice(2).map((t) => rb.tensor(t))], anchor.attrs, base).output(0);
        y = rb.add('add', [rb.add('mul', [linear, k], {}, `${base}/bn_scaled`).output(0), shift], {}, n.name).output(0);
      }
      if (y.dtype !== n.outputs[0].dtype || !shapesEqual(y.shape, n.outputs[0].shape)) {
        throw new GraphError(`foldBatchNorm: rewriting '${n.name}' changed its type`);
      }
      rb.replace(n, [y]);
    }
    return { graph: rb.finish(), stats: { folded: folds.size, affine: affine.length } };
  },
};

/** Whether every statistic of batchNorm `bn` has a known shape with fewer elements than x. */
function smallerStatistics(bn: Node): boolean {
  const x = bn.inputs[0].shape;
  if (x.some((d) => d === null)) return false;
  const size = sizeOf(x as number[]);
  return bn.inputs.slice(1).every((t) => t.shape.every((d) => d !== null) && sizeOf(t.shape as number[]) < size);
}

/** k = scale / sqrt(variance + eps) and shift = offset - mean * k, as nodes named under `base`. */
function scaleAndShift(
  rb: Rebuild,
  bn: Node,
  mean: SymbolicTensor,
  variance: SymbolicTensor,
  offset: SymbolicTensor,
  scale: SymbolicTensor,
  base = bn.name,
): { k: SymbolicTensor; shift: SymbolicTensor } {
  const dtype = bn.outputs[0].dtype;
  const eps = rb.add('const', [], { value: { dtype, shape: [], data: scalarData(dtype, (bn.attrs.varianceEpsilon as number | undefined) ?? 1e-3) } }, `${base}/bn_eps`);
  const inv = rb.add('rsqrt', [rb.add('add', [variance, eps.output(0)], {}, `${base}/bn_var_eps`).output(0)], {}, `${base}/bn_rsqrt`);
  const k = rb.add('mul', [scale, inv.output(0)], {}, `${base}/bn_k`).output(0);
  const shift = rb.add('sub', [offset, rb.add('mul', [mean, k], {}, `${base}/bn_mean_k`).output(0)], {}, `${base}/bn_shift`).output(0);
  return { k, shift };
}

function scalarData(dtype: string, value: number): Float32Array | Float64Array {
  return dtype === 'float64' ? new Float64Array([value]) : new Float32Array([value]);
}
