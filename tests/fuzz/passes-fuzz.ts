/**
 * Differential fuzzer of the graph passes: a seeded random well-typed graph runs at O0 (no passes,
 * no memory plan: the reference) and at O1, O2 and O3 (passes + arena execution); every fetched
 * output must agree within float tolerance. The same seed always builds the same graph and feeds,
 * so a failure reproduces from its number: `node tests/fuzz/run.js --suite passes --seed N --count 1`.
 */
import { Graph, GraphcError, Node, OptLevel, Session, SymbolicTensor, TensorValue, evaluateNode, freezeVariables, modelFromBytes, nbitsLayout, ops, optimizeGraph, serializeGraph, tensor as makeTensor } from 'graphc';

/** mulberry32: small, fast and good enough to pick ops and values. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzCase {
  graph: Graph;
  feeds: Record<string, TensorValue>;
  fetches: SymbolicTensor[];
  /** Ops to run after initialization (variable updates ordered by control edges). */
  targets: Node[];
  hasVariables: boolean;
  description: string[];
}

type R = () => number;
const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: R, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const values = (r: R, n: number, scale = 2): number[] => Array.from({ length: n }, () => Math.round((r() * 2 - 1) * scale * 64) / 64);
const sizeOf = (s: number[]): number => s.reduce((a, b) => a * b, 1);
const known = (t: SymbolicTensor): number[] => t.shape.map((d) => d ?? 1);

/** A shape that broadcasts against `s`: a suffix of it with some dims set to 1. */
function broadcastable(r: R, s: number[]): number[] {
  const rank = int(r, 0, s.length);
  return s.slice(s.length - rank).map((d) => (r() < 0.3 ? 1 : d));
}

const UNARY = ['neg', 'abs', 'relu', 'relu6', 'sigmoid', 'tanh', 'sin', 'cos', 'square', 'floor', 'round', 'sign', 'erf', 'softplus', 'selu', 'elu', 'leakyRelu', 'gelu'];
const SAFE_UNARY: Record<string, (x: SymbolicTensor) => SymbolicTensor> = {
  exp: (x) => ops.exp(ops.tanh(x)),
  log: (x) => ops.log(ops.add(ops.abs(x), 0.5)),
  sqrt: (x) => ops.sqrt(ops.abs(x)),
  rsqrt: (x) => ops.rsqrt(ops.add(ops.abs(x), 0.25)),
  reciprocal: (x) => ops.reciprocal(ops.add(ops.abs(x), 1)),
  log1p: (x) => ops.log1p(ops.square(x)),
  expm1: (x) => ops.expm1(ops.tanh(x)),
  // x^2 + 0.5 > 0 keeps the angle off atan2's cut along the negative x axis
  atan2: (x) => ops.atan2(x, ops.add(ops.square(x), 0.5)),
};
const BINARY = ['add', 'sub', 'mul', 'maximum', 'minimum', 'squaredDifference'];
/** Unary ops whose output jumps at some inputs (see buildCase's `smooth`). */
const JUMPS = new Set(['floor', 'round', 'sign']);

function unary(op: string, x: SymbolicTensor, r: R): SymbolicTensor {
  if (op === 'leakyRelu') return ops.leakyRelu(x, pick(r, [0.1, 0.2]));
  if (op === 'elu') return ops.elu(x, 1);
  if (op === 'gelu') return ops.gelu(x, r() < 0.5);
  return (ops as unknown as Record<string, (t: SymbolicTensor) => SymbolicTensor>)[op](x);
}

/** Builds case `seed`: placeholders, constants, a random mix of ops, and a few fetches. */
/**
 * `smooth`: ops whose output jumps (sign, floor, round, the int32 cast) become tanh or identity, and
 * sqrt(|x|) sqrt(|x| + 0.25), on the same random draws. Two backends round a sum differently in its last bit; through sign that is
 * -1 against 0, a difference no tolerance can tell from a bug (the backend fuzzer builds smooth cases).
 */
export function buildCase(seed: number, options: { smooth?: boolean; dtype?: 'float32' | 'float64' } = {}): FuzzCase {
  const r = rng(seed);
  // float64 (the gradient fuzzer's central differences want it): feeds, constants and variables
  const dtype = options.dtype ?? 'float32';
  const tensor = (v: number[], shape: number[]): TensorValue => makeTensor(v, shape, dtype);
  const g = new Graph();
  const description: string[] = [];
  const base = Array.from({ length: int(r, 1, 4) }, () => int(r, 1, 4));
  const pool: SymbolicTensor[] = [];
  const feeds: Record<string, TensorValue> = {};
  const nInputs = int(r, 1, 3);
  for (let i = 0; i < nInputs; i++) {
    const shape = i === 0 ? base : broadcastable(r, base);
    const declared = shape.map((d, k) => (k === 0 && r() < 0.3 ? null : d));
    const p = g.placeholder(dtype, declared, `x${i}`);
    feeds[p.name] = tensor(values(r, sizeOf(shape)), shape);
    pool.push(p);
  }
  const constant = (shape: number[]): SymbolicTensor => {
    const special = r();
    const v = special < 0.1 ? new Array(sizeOf(shape)).fill(pick(r, [0, 1, -1, 2])) : values(r, sizeOf(shape));
    return g.constant(tensor(v, shape));
  };
  let hasVariables = false;
  const targets: Node[] = [];
  const steps = int(r, 3, 18);
  for (let s = 0; s < steps; s++) {
    const x = r() < 0.6 ? pool[pool.length - 1 - Math.floor(r() * Math.min(3, pool.length))] : pick(r, pool);
    const kind = r();
    try {
      let y: SymbolicTensor | undefined;
      if (r() < 0.12) {
        // data movement and windows: what layout and view rules, and the backends' index math, meet
        y = arrayOp(r, x, constant, description);
      } else if (kind < 0.25) {
        const drawn = pick(r, UNARY);
        const op = options.smooth && JUMPS.has(drawn) ? 'tanh' : drawn;
        // an ulp of a large argument moves sin and cos anywhere (sin(7084934) against
        // sin(7084935)), so smooth cases, compared across backends, bound the argument
        y = options.smooth && (op === 'sin' || op === 'cos') ? unary(op, ops.mul(ops.tanh(x), 4), r) : unary(op, x, r);
        description.push(op);
      } else if (kind < 0.32) {
        const op = pick(r, Object.keys(SAFE_UNARY));
        // sqrt(|x|) has a cusp at 0 (an infinite slope, and 0 * inf = NaN through a where's other branch)
        y = op === 'sqrt' && options.smooth ? ops.sqrt(ops.add(ops.abs(x), 0.25)) : SAFE_UNARY[op](x);
        description.push(op);
      } else if (kind < 0.55) {
        const op = pick(r, BINARY);
        const other = r() < 0.5 ? pick(r, pool) : constant(broadcastable(r, known(x)));
        y = (ops as unknown as Record<string, (a: SymbolicTensor, b: SymbolicTensor) => SymbolicTensor>)[op](...((r() < 0.5 ? [x, other] : [other, x]) as [SymbolicTensor, SymbolicTensor]));
        description.push(op);
      } else if (kind < 0.6) {
        y = ops.div(x, ops.add(ops.abs(pick(r, pool)), 1));
        description.push('div');
      } else if (kind < 0.64) {
        y = ops.where(ops.less(x, pick(r, pool)), x, ops.mul(x, 0.5));
        description.push('where');
      } else if (kind < 0.68) {
        // rule bait: identities and double ops
        const bait = pick(r, ['mul1', 'add0', 'negneg', 'identity', 'transpose2', 'reshape2', 'square', 'cast']);
        description.push(bait);
        if (bait === 'mul1') y = ops.mul(x, 1);
        else if (bait === 'add0') y = ops.add(0, x) as SymbolicTensor;
        else if (bait === 'negneg') y = ops.neg(ops.neg(x));
        else if (bait === 'identity') y = ops.identity(x);
        else if (bait === 'square') y = ops.mul(x, x);
        else if (bait === 'cast') y = options.smooth ? ops.identity(ops.mul(x, 3)) : ops.cast(ops.cast(ops.mul(x, 3), 'int32'), dtype);
        else if (bait === 'transpose2' && x.rank >= 2) {
          const perm = [...Array(x.rank).keys()].reverse();
          y = ops.transpose(ops.transpose(x, perm), perm);
        } else if (bait === 'reshape2' && x.shape.every((d) => d !== null)) y = ops.reshape(ops.reshape(x, [-1]), known(x));
      } else if (kind < 0.75 && x.rank >= 2 && x.shape[x.rank - 1] !== null) {
        // dense layer: matmul + bias + activation, maybe through batchNorm
        const k = x.shape[x.rank - 1] as number;
        const n = int(r, 1, 5);
        const W = r() < 0.3 ? g.variable(tensor(values(r, k * n, 1), [k, n])) : constant([k, n]);
        hasVariables ||= W.node.op === 'variable';
        const x2 = x.rank === 2 ? x : ops.reshape(x, [-1, k]);
        const transposed = r() < 0.2;
        const form = r();
        // some layers' weights quantized, as an int4 LLM export's (matmulNBits: 2, 4 or 8 bits, a block past k)
        let h = form < 0.15 ? quantizedLayer(r, g, x2, k, n) : transposed ? ops.matmul(x2, ops.transpose(W), { transposeB: true }) : ops.matmul(x2, W);
        if (form < 0.15) description.push('matmulNBits');
        if (r() < 0.4) {
          h = ops.batchNorm(h, constant([n]), ops.add(ops.abs(constant([n])), 0.5), constant([n]), constant([n]), 1e-3);
          description.push('matmul+bn');
        } else {
          h = ops.add(h, constant([n]));
          description.push('matmul+bias');
        }
        y = unary(pick(r, ['relu', 'gelu', 'tanh', 'sigmoid']), h, r);
      } else if (kind < 0.8) {
        // conv block on an NHWC view of x
        const view = nhwcView(r, x, x.shape.every((d) => d !== null) ? sizeOf(known(x)) : 0, [1, 2, 3]);
        if (view) {
          const { img, c } = view;
          if (r() < 0.35) {
            // the same block channels-first, as an ONNX file from PyTorch has it: the layout rules
            // turn it back into NHWC ops, and the transposes cancel or sink through what follows
            const depthwise = r() < 0.25;
            const cout = depthwise ? c : int(r, 1, 4);
            const kh = int(r, 1, 3);
            let out = ops.convNchw(ops.transpose(img, [0, 3, 1, 2]), constant([cout, depthwise ? 1 : c, kh, kh]), r() < 0.6 ? constant([cout]) : null, {
              group: depthwise ? c : 1,
              ...(r() < 0.5 ? { autoPad: 'SAME_UPPER' as const } : { pads: [int(r, 0, 1), int(r, 0, 1), int(r, 0, 1), int(r, 0, 1)] }),
            });
            const stat = () => constant([cout, 1, 1]);
            if (r() < 0.4) out = ops.batchNorm(out, stat(), ops.add(ops.abs(stat()), 0.5), stat(), stat(), 1e-3);
            out = ops.relu(ops.add(out, r() < 0.5 ? stat() : constant(out.shape as number[])));
            if (r() < 0.3 && (out.shape[2] as number) >= 2 && (out.shape[3] as number) >= 2) {
              // ceil mode and PyTorch's counted padding (which counts only where there is padding)
              const ceilMode = r() < 0.5;
              out = r() < 0.5 ? ops.maxPoolNchw(out, [2, 2], { strides: [1, 2], ceilMode }) : ops.avgPoolNchw(out, [2, 2], { strides: [2, 2], ceilMode, countIncludePad: r() < 0.5 });
            }
            const [n, , h, w] = out.shape as number[];
            // a channel scale through a view (squeeze-and-excitation), a pad, an upsampling
            if (r() < 0.25) out = ops.mul(out, ops.reshape(ops.sigmoid(ops.mean(out, [2, 3])), [n, cout, 1, 1]));
            if (r() < 0.2 && h >= 2 && w >= 2) out = ops.pad(out, [[0, 0], [0, 0], [1, 0], [1, 1]], 0.5, pick(r, ['constant', 'reflect', 'edge'] as const));
            if (r() < 0.15) out = ops.resize(out, [n, cout, 2 * (out.shape[2] as number), out.shape[3] as number], { mode: pick(r, ['nearest', 'linear'] as const) });
            // channels split and merged again in another order (YOLOv8's C2f), every other row
            if (r() < 0.2 && cout >= 2) {
              const [first, rest] = ops.split(out, [1, cout - 1], 1);
              out = ops.concat([rest, ops.tanh(first)], 1);
            }
            if (r() < 0.15) out = ops.softmax(out, 1); // over channels, as a segmentation head
            if (r() < 0.15 && (out.shape[2] as number) >= 2) out = ops.stridedSlice(out, [0, 0, 1, 0], [1, 1, 2, 1], [n, cout, Math.floor((out.shape[2] as number) / 2), out.shape[3] as number]);
            // back to NHWC, or left channels-first for the next steps to read
            y = r() < 0.5 ? ops.transpose(out, [0, 2, 3, 1]) : out;
            description.push(depthwise ? 'nchw-depthwise-block' : 'nchw-conv-block');
          } else {
            const kh = int(r, 1, 3);
            const cout = int(r, 1, 4);
            const depthwise = r() < 0.25;
            const w = constant([kh, kh, c, depthwise ? 1 : cout]);
            let out = depthwise ? ops.depthwiseConv2d(img, w, 1, 'SAME') : ops.conv2d(img, w, 1, pick(r, ['SAME', 'VALID']));
            const co = out.shape[3] as number;
            if (r() < 0.6) out = ops.batchNorm(out, constant([co]), ops.add(ops.abs(constant([co])), 0.5), constant([co]), constant([co]), 1e-3);
            if (r() < 0.4) out = ops.add(out, constant(out.shape as number[]));
            y = ops.relu(out);
            description.push(depthwise ? 'depthwise-block' : 'conv-block');
          }
        }
      } else if (kind < 0.84) {
        const axis = int(r, 0, Math.max(0, x.rank - 1));
        const op = pick(r, ['reduceSum', 'reduceMean', 'reduceMax']);
        y = (ops as unknown as Record<string, (t: SymbolicTensor, a: number[], k: boolean) => SymbolicTensor>)[op](x, x.rank ? [axis] : [], true);
        description.push(op);
      } else if (kind < 0.87 && x.rank >= 1) {
        y = ops.softmax(x, -1);
        description.push('softmax');
      } else if (kind < 0.9) {
        // constant subgraph for folding
        const c = ops.exp(ops.mul(constant(broadcastable(r, known(x))), 0.5));
        y = ops.mul(x, c);
        description.push('const-subgraph');
      } else if (kind < 0.93) {
        // common subexpressions
        const a = ops.sigmoid(x);
        const b = ops.sigmoid(x);
        y = ops.add(a, b);
        description.push('cse');
      } else if (kind < 0.96 && x.rank >= 1 && x.shape.every((d) => d !== null)) {
        const other = ops.tanh(x);
        y = ops.concat([x, other], x.rank - 1);
        description.push('concat');
      } else if (kind < 0.975) {
        // an update whose value is elementwise in the variable itself (fused into the update at O2),
        // broadcasting a pool tensor or a constant, read before and after the update
        const shape = known(x);
        const v = g.variable(tensor(values(r, sizeOf(shape)), shape));
        hasVariables = true;
        const before = ops.mul(v, 2);
        const other = x.shape.every((d) => d !== null) && r() < 0.5 ? x : constant(broadcastable(r, shape));
        const update = g.controlDependencies([before], () => {
          const value = ops.tanh(ops.add(ops.mul(v, 0.5), other));
          return r() < 0.4 ? ops.assign(v, value) : r() < 0.5 ? ops.assignAdd(v, value) : ops.assignSub(v, value);
        });
        // sometimes a second variable updated from the first's new value alone (chained into one
        // kernel at O2), at times with a read of the first variable in between (which keeps them apart)
        let last = update;
        if (r() < 0.5) {
          const w = g.variable(tensor(values(r, sizeOf(shape)), shape));
          const between = r() < 0.3 ? ops.sigmoid(v) : null;
          last = ops.assignSub(w, ops.mul(update, between ?? 0.25));
        }
        const after = g.controlDependencies([last], () => ops.mul(v, 1.5));
        y = ops.add(ops.add(after, before), last);
        targets.push(last.node);
        description.push('fused-update');
      } else if (kind < 0.985) {
        // a variable updated in place, read before and after the update (ordered by control edges)
        const shape = known(x);
        const v = g.variable(tensor(values(r, sizeOf(shape)), shape));
        hasVariables = true;
        const before = ops.mul(v, 2);
        const update = g.controlDependencies([before], () => ops.assignAdd(v, constant(shape)));
        // read after the update: a view of the variable, or elementwise ops on it that wait on the update
        const after = g.controlDependencies([update], () => (r() < 0.5 ? ops.identity(v) : ops.tanh(ops.mul(v, 1.5))));
        y = ops.add(ops.mul(after, 3), before);
        targets.push(update.node);
        description.push('variable-update');
      } else if (kind < 0.993) {
        // reads of a variable on both sides of a write that only graph order separates: a pass must
        // not move the first read past the write (fusion) or merge the two reads (CSE)
        const shape = known(x);
        const v = g.variable(tensor(values(r, sizeOf(shape)), shape));
        hasVariables = true;
        const early = ops.mul(v, 2);
        const update = ops.assignAdd(v, constant(shape));
        const late = ops.mul(v, 2);
        y = ops.add(ops.add(ops.tanh(early), update), late);
        description.push('variable-order');
      } else if (kind < 0.996) {
        // run-time branch on the data, one branch reading another tensor of the pool (captured)
        const other = pick(r, pool);
        y = ops.cond(ops.greater(ops.reduceSum(x), 0), () => ops.mul(x, ops.sigmoid(other)), () => ops.sub(ops.tanh(x), 1));
        description.push('cond');
      } else if (kind < 0.999) {
        // a loop run 0-3 times over a pool tensor, adding another one each time (captured)
        const other = pick(r, pool);
        const times = int(r, 0, 3);
        [, y] = ops.whileLoop((i) => ops.less(i, times), (i, acc) => [ops.add(i, 1), ops.tanh(ops.add(acc, other))], [ops.cast(0, 'int32'), x]);
        description.push('whileLoop');
      } else {
        y = ops.add(x, ops.reduceMean(x, undefined, true));
        description.push('mean-center');
      }
      if (y) pool.push(y);
    } catch (e) {
      if (!(e instanceof GraphcError)) throw e;
    }
  }
  const fetches = [pool[pool.length - 1]];
  for (let i = 0; i < int(r, 0, 2); i++) {
    const t = pick(r, pool);
    if (!fetches.includes(t)) fetches.push(t);
  }
  // a quarter of the float32 cases also get a wide block, on draws of its own (so the cases above
  // stay as they were): products of 1,024 values or more, whose fused epilogues the kernels apply
  // to blocks of their output in the SIMD kernels' memory
  const wide = rng(seed ^ 0x5bd1e995);
  if (dtype === 'float32' && !options.smooth && wide() < 0.25) {
    fetches.push(wideBlock(wide, g, feeds, description));
  }
  return { graph: g, feeds, fetches, targets, hasVariables, description };
}

/**
 * A conv2d, depthwise conv or dense layer over a new float32 placeholder, large enough that its output
 * has 1,024 values or more, then an epilogue: a bias or batch norm (a row of C), maybe a residual
 * (shaped like C) or a per-pixel scale (broadcast otherwise: not a row), and an activation (relu,
 * relu6, a clip between scalars, sigmoid, gelu, or none).
 */
function wideBlock(r: R, g: Graph, feeds: Record<string, TensorValue>, description: string[]): SymbolicTensor {
  const constant = (shape: number[]): SymbolicTensor => g.constant(makeTensor(values(r, sizeOf(shape), 0.5), shape, 'float32'));
  const placeholder = (shape: number[]): SymbolicTensor => {
    const name = `wide${Object.keys(feeds).length}`;
    feeds[name] = makeTensor(values(r, sizeOf(shape)), shape, 'float32');
    return g.placeholder('float32', shape, name);
  };
  const kind = pick(r, ['conv', 'depthwise', 'dense'] as const);
  let out: SymbolicTensor;
  if (kind === 'dense') {
    const [m, k, n] = [int(r, 64, 300), int(r, 1, 80), pick(r, [8, 12, 16, 33, 40])];
    out = ops.matmul(placeholder([m, k]), constant([k, n]), {});
  } else {
    const c = kind === 'depthwise' ? pick(r, [4, 8, 12, 16]) : int(r, 1, 12);
    const x = placeholder([int(r, 1, 2), int(r, 6, 20), int(r, 6, 20), c]);
    const kh = int(r, 1, 3);
    const stride = r() < 0.7 ? 1 : 2;
    const padding = pick(r, ['SAME', 'VALID'] as const);
    out = kind === 'depthwise' ? ops.depthwiseConv2d(x, constant([kh, kh, c, 1]), stride, 'SAME') : ops.conv2d(x, constant([kh, kh, c, pick(r, [5, 8, 16, 24])]), stride, padding);
  }
  const shape = out.shape as number[];
  const n = shape[shape.length - 1];
  out = r() < 0.3 ? ops.batchNorm(out, constant([n]), ops.add(ops.abs(constant([n])), 0.5), constant([n]), constant([n]), 1e-3) : ops.add(out, constant([n]));
  const extra = r();
  if (extra < 0.3) out = ops.add(out, constant(shape));
  else if (extra < 0.4 && shape.length === 4) out = ops.mul(out, constant([...shape.slice(0, 3), 1]));
  const activation = pick(r, ['relu', 'relu6', 'clip', 'sigmoid', 'gelu', 'none'] as const);
  if (activation === 'clip') out = ops.clip(out, -0.5, 0.75);
  else if (activation !== 'none') out = (ops[activation] as (t: SymbolicTensor) => SymbolicTensor)(out);
  description.push(`wide-${kind}+${activation}`);
  return out;
}

/**
 * `x`, of `size` elements, seen as one NHWC image of c channels, c drawn from those of `channels`
 * dividing `size`: [1, h, w, c] with h the largest divisor of the pixels up to their square root.
 * Undefined when the size is unknown (0; the draw is still taken, so the cases stay as they were).
 */
function nhwcView(r: R, x: SymbolicTensor, size: number, channels: number[]): { img: SymbolicTensor; h: number; w: number; c: number } | undefined {
  const c = pick(r, channels.filter((d) => size % d === 0));
  if (size <= 0) return undefined;
  const pixels = size / c;
  let h = 1;
  for (let d = 1; d * d <= pixels; d++) if (pixels % d === 0) h = d;
  return { img: ops.reshape(x, [1, h, pixels / h, c]), h, w: pixels / h, c };
}

/**
 * One array or nn op on `x`: a random transpose, slice, pad (any mode),
 * reverse, tile, gather of constant indices, split, pooling over an NHWC view, logSoftmax,
 * reduceLogSumExp, reduceMin over several axes, l2Normalize, a strided or dilated conv2d (named or
 * explicit padding), a batched matmul (broadcast batch, maybe transposed), sparse softmax cross
 * entropy with constant labels, layerNorm, rmsNorm or an einsum. Undefined where x does not suit the draw.
 */
function arrayOp(r: R, x: SymbolicTensor, constant: (shape: number[]) => SymbolicTensor, description: string[]): SymbolicTensor | undefined {
  const fixed = x.shape.every((d) => d !== null);
  const shape = known(x);
  const op = pick(r, ['transpose', 'slice', 'pad', 'reverse', 'tile', 'gather', 'split', 'pool', 'logSoftmax', 'logSumExp', 'reduceMin', 'l2Normalize', 'stridedConv', 'batchMatmul', 'crossEntropy', 'layerNorm', 'rmsNorm', 'einsum']);
  description.push(op);
  const axes = (): number[] => [...Array(x.rank).keys()].filter(() => r() < 0.5);
  if (op === 'transpose' && x.rank >= 2) {
    const perm = [...Array(x.rank).keys()];
    for (let i = perm.length - 1; i > 0; i--) {
      const j = int(r, 0, i);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    return ops.transpose(x, perm);
  }
  if (op === 'slice' && fixed && x.rank >= 1) {
    const begin = shape.map((d) => int(r, 0, d - 1));
    const size = shape.map((d, k) => (r() < 0.3 ? -1 : int(r, 1, d - begin[k])));
    return ops.slice(x, begin, size);
  }
  if (op === 'pad' && x.rank >= 1) {
    const mode = pick(r, ['constant', 'reflect', 'symmetric', 'edge', 'wrap'] as const);
    // reflect needs pads below the dimension, symmetric up to it, edge and wrap an element
    const most = (d: number) => (mode === 'reflect' ? d - 1 : (mode === 'edge' || mode === 'wrap') && d > 0 ? 2 : d);
    const pads = shape.map((d, k) => (x.shape[k] === null ? [0, 0] : [0, 1].map(() => int(r, 0, Math.min(2, most(d))))));
    return ops.pad(x, pads, pick(r, [0, 1.5]), mode);
  }
  if (op === 'reverse' && x.rank >= 1) return ops.reverse(x, axes());
  if (op === 'tile' && fixed && x.rank >= 1) return ops.tile(x, shape.map(() => int(r, 1, 2)));
  if (op === 'gather' && fixed && x.rank >= 1) {
    const axis = int(r, 0, x.rank - 1);
    const n = int(r, 1, 4);
    const indices = Array.from({ length: n }, () => int(r, 0, shape[axis] - 1));
    return ops.gather(x, makeTensor(indices, [n], 'int32'), axis);
  }
  if (op === 'split' && fixed && x.rank >= 1) {
    const axis = int(r, 0, x.rank - 1);
    if (shape[axis] < 2) return undefined;
    const first = int(r, 1, shape[axis] - 1);
    const [a, b] = ops.split(x, [first, shape[axis] - first], axis);
    return ops.add(ops.reduceSum(a, [axis], true), b);
  }
  if (op === 'pool' && fixed) {
    // an NHWC view of x, as the conv block takes it
    const { img, h, w } = nhwcView(r, x, sizeOf(shape), [1, 2, 3])!;
    const k = int(r, 1, 3);
    const s = int(r, 1, 2);
    const padding = pick(r, ['SAME', 'VALID'] as const);
    if (padding === 'VALID' && (k > h || k > w)) return undefined;
    return r() < 0.5 ? ops.maxPool(img, k, s, padding) : ops.avgPool(img, k, s, padding);
  }
  if (op === 'logSoftmax' && x.rank >= 1) return ops.logSoftmax(x, int(r, 0, x.rank - 1));
  if (op === 'logSumExp' && x.rank >= 1) return ops.reduceLogSumExp(x, axes(), r() < 0.5);
  if (op === 'reduceMin' && x.rank >= 1) return ops.reduceMin(x, axes(), true);
  if (op === 'l2Normalize' && x.rank >= 1) return ops.l2Normalize(ops.add(x, constant(broadcastable(r, shape))), [x.rank - 1]);
  if (op === 'stridedConv' && fixed) {
    // strides and dilations over an NHWC view, explicit or named padding
    const { img, h, w, c } = nhwcView(r, x, sizeOf(shape), [1, 2])!;
    const k = int(r, 1, 3);
    const s2 = int(r, 1, 2);
    const d2 = s2 === 1 ? int(r, 1, 2) : 1;
    const padding = r() < 0.5 ? 'SAME' : [[0, 0], [int(r, 0, 1), int(r, 0, 1)], [int(r, 0, 1), int(r, 0, 1)], [0, 0]];
    const reach = (k - 1) * d2 + 1;
    if (padding !== 'SAME' && (reach > h + 2 || reach > w + 2)) return undefined;
    return ops.conv2d(img, constant([k, k, c, int(r, 1, 3)]), s2, padding as 'SAME', { dilations: d2 });
  }
  if (op === 'batchMatmul' && fixed && x.rank >= 3) {
    // a batch of products, the other operand's batch dimensions broadcast
    const k = shape[x.rank - 1];
    const n = int(r, 1, 4);
    const other = constant([...broadcastable(r, shape.slice(0, x.rank - 2)), k, n]);
    return r() < 0.5 ? ops.matmul(x, other) : ops.matmul(ops.transpose(other, [...Array(other.rank - 2).keys(), other.rank - 1, other.rank - 2]), x, { transposeB: true });
  }
  if (op === 'crossEntropy' && fixed && x.rank >= 1) {
    const classes = shape[x.rank - 1];
    const rows = sizeOf(shape) / classes;
    const labels = makeTensor(Array.from({ length: rows }, () => int(r, 0, classes - 1)), [rows], 'int32');
    return ops.sparseSoftmaxCrossEntropyWithLogits(labels, ops.reshape(x, [rows, classes]));
  }
  if (op === 'layerNorm' && x.rank >= 1 && x.shape[x.rank - 1] !== null) {
    const c = x.shape[x.rank - 1] as number;
    return ops.layerNorm(x, ops.add(ops.abs(constant([c])), 0.5), constant([c]));
  }
  if (op === 'rmsNorm' && x.rank >= 1 && x.shape[x.rank - 1] !== null) {
    return ops.rmsNorm(x, ops.add(ops.abs(constant([x.shape[x.rank - 1] as number])), 0.5));
  }
  if (op === 'einsum' && x.rank === 2 && fixed) return ops.einsum('ij,jk->ik', x, constant([shape[1], int(r, 1, 3)]));
  return undefined;
}

export interface CaseResult {
  seed: number;
  ok: boolean;
  detail?: string;
}

/** Whether `got` equals `want` within float tolerance (relative to the tensor's magnitude); NaN and infinities must match. */
export function compareValues(got: TensorValue, want: TensorValue): string | undefined {
  if (got.dtype !== want.dtype) return `dtype ${got.dtype} vs ${want.dtype}`;
  if (got.shape.join() !== want.shape.join()) return `shape [${got.shape}] vs [${want.shape}]`;
  let scale = 1;
  for (let i = 0; i < want.data.length; i++) if (Number.isFinite(want.data[i])) scale = Math.max(scale, Math.abs(want.data[i]));
  for (let i = 0; i < want.data.length; i++) {
    const a = got.data[i];
    const b = want.data[i];
    if (Number.isNaN(b) || Number.isNaN(a)) {
      if (Number.isNaN(a) !== Number.isNaN(b)) return `element ${i}: ${a} vs ${b}`;
      continue;
    }
    if (!Number.isFinite(b) || !Number.isFinite(a)) {
      if (a !== b) return `element ${i}: ${a} vs ${b}`;
      continue;
    }
    if (Math.abs(a - b) > 2e-4 * scale + 1e-4 * Math.abs(b)) return `element ${i}: ${a} vs ${b} (scale ${scale})`;
  }
  return undefined;
}

async function runAt(c: FuzzCase, level: OptLevel, graph = c.graph): Promise<TensorValue[]> {
  const sess = new Session(graph, { optimize: level });
  const fetches = [...c.fetches.map((f) => f.name), ...c.targets.map((t) => t.name)];
  try {
    if (c.hasVariables || c.targets.length) await sess.run(graph.globalVariablesInitializer());
    // two runs: the arena is reused, so a plan that leaks state between runs shows up
    await sess.run(fetches, c.feeds);
    const out = await sess.run(fetches, c.feeds);
    return out.slice(0, c.fetches.length) as TensorValue[];
  } finally {
    sess.close();
  }
}

/**
 * The feeds with every placeholder declared with an unknown first dimension grown by `extra` rows
 * (its rows repeated), or undefined where no placeholder has one.
 */
/** x [m, k] times a random quantized W [k, n]: full-range packed words, scales in [0.05, 0.3], zero points in [0, 2^bits). */
function quantizedLayer(r: () => number, g: Graph, x: SymbolicTensor, k: number, n: number): SymbolicTensor {
  const bits = pick(r, [2, 4, 8] as const);
  const blockSize = (32 / bits) * int(r, 1, 2);
  const { words, blocks } = nbitsLayout({ bits, blockSize, k });
  const packed = g.constant(makeTensor(Array.from({ length: n * words }, () => Math.floor(r() * 2 ** 32) | 0), [n, words], 'int32'));
  const scales = g.constant(makeTensor(Array.from({ length: n * blocks }, () => 0.05 + r() / 4), [n, blocks], 'float32'));
  const zeroPoints = g.constant(makeTensor(Array.from({ length: n * blocks }, () => Math.floor(r() * 2 ** bits)), [n, blocks], 'float32'));
  return ops.matmulNBits(x, packed, scales, zeroPoints, { bits, blockSize, k });
}

export function otherBatch(c: FuzzCase, extra: number): Record<string, TensorValue> | undefined {
  const grown: Record<string, TensorValue> = {};
  let any = false;
  for (const [name, v] of Object.entries(c.feeds)) {
    if (c.graph.tensor(name).shape[0] !== null || v.shape.length === 0) {
      grown[name] = v;
      continue;
    }
    const shape = [v.shape[0] + extra, ...v.shape.slice(1)];
    const data = new (v.data.constructor as new (n: number) => TensorValue['data'])(sizeOf(shape));
    for (let i = 0; i < data.length; i++) data[i] = v.data[i % v.data.length];
    grown[name] = { dtype: v.dtype, shape, data };
    any = true;
  }
  return any ? grown : undefined;
}

/**
 * How the runs after other batches went: they ran, were refused, or the graph has no unknown batch
 * dimension; how often the case's plan was optimized with its batch unknown, and how often its first
 * run was on the unspecialized plan.
 */
export const outcomes = { otherBatchRan: 0, otherBatchRefused: 0, noUnknownBatch: 0, batchUnknownToPasses: 0, ranUnspecialized: 0, trainedOnFourBatches: 0 };

/**
 * Runs `fetches` in `sess` on the case's batch grown by each of `extras` rows in turn: how many ran,
 * and where it stopped, at the first the graph has no unknown batch for ('none') or refuses
 * ('refused'); no `stopped` when all ran.
 */
async function runOtherBatches(sess: Session, c: FuzzCase, fetches: string[], extras: number[]): Promise<{ ran: number; stopped?: 'none' | 'refused' }> {
  let ran = 0;
  for (const extra of extras) {
    const other = otherBatch(c, extra);
    if (!other) return { ran, stopped: 'none' };
    try {
      await sess.run(fetches, other);
      ran++;
    } catch (e) {
      // a graph that fixes its batch elsewhere (a reshape, a broadcast with a fixed input) has no other batch
      if (!(e instanceof GraphcError)) throw e;
      return { ran, stopped: 'refused' };
    }
  }
  return { ran };
}

/**
 * O2 in a session that keeps `maxPlans` plans and first ran the fetches on larger batches, `extras`
 * rows more (where the graph has an unknown batch dimension): with one extra, the case's plan runs in
 * the arena that batch grew, compiled with the constants the first plan folded, after the first plan
 * was freed; with three, the third batch's passes saw the batch dimension unknown (VaryingDims), and
 * the case's batch, the fourth shape, first runs on the plan of the graph they made, unspecialized
 * where its tensors are small, then (`run: 'second'`) on a plan specialized from it. The values of
 * that run; `outcomes` counts the first runs only.
 */
async function runAfterOtherBatches(c: FuzzCase, extras: number[], maxPlans: number, run: 'first' | 'second'): Promise<TensorValue[]> {
  const sess = new Session(c.graph, { optimize: 2, maxPlans });
  const fetches = c.fetches.map((f) => f.name);
  try {
    if (c.hasVariables) await sess.run(c.graph.globalVariablesInitializer());
    const { ran, stopped } = await runOtherBatches(sess, c, fetches, extras);
    const first = (await sess.run(fetches, c.feeds)) as TensorValue[];
    if (run === 'second') return (await sess.run(fetches, c.feeds)) as TensorValue[];
    outcomes.otherBatchRan += ran;
    if (stopped === 'none') outcomes.noUnknownBatch++;
    if (stopped === 'refused') outcomes.otherBatchRefused++;
    const plan = sess.plans().at(-1)!;
    if (plan.feeds.some((f) => f.shape.includes(null))) outcomes.batchUnknownToPasses++;
    if (plan.outputInfo.size === 0) outcomes.ranUnspecialized++;
    return first;
  } finally {
    sess.close();
  }
}

/**
 * A case that trains (targets, or ops writing variables) run at `level` in one session on batches of
 * 3, 5 and 1 more rows, then its own: the last run's fetches, or undefined where the graph has no
 * unknown batch or refuses another. The O0 sequence is the reference: the variables moved the same.
 * At O2 the third batch's passes saw the batch unknown (VaryingDims), and the case's plan reuses
 * the graph they made.
 */
async function runTrainingOnBatches(c: FuzzCase, level: OptLevel): Promise<TensorValue[] | undefined> {
  const sess = new Session(c.graph, { optimize: level });
  const fetches = [...c.fetches.map((f) => f.name), ...c.targets.map((t) => t.name)];
  try {
    await sess.run(c.graph.globalVariablesInitializer());
    if ((await runOtherBatches(sess, c, fetches, [3, 5, 1])).stopped) return undefined;
    return ((await sess.run(fetches, c.feeds)) as TensorValue[]).slice(0, c.fetches.length);
  } finally {
    sess.close();
  }
}

/**
 * The whole graph optimized once as `graphc optimize` does (placeholder shapes still partly
 * unknown, variables and initializers kept), then run unoptimized.
 */
export function optimizedModel(c: FuzzCase, level: OptLevel): Graph {
  const g = c.graph;
  const keep = new Set([
    ...c.fetches.map((f) => f.node.name),
    ...c.targets.map((t) => t.name),
    ...g.placeholders().map((p) => p.name),
    ...g.variables().map((v) => v.name),
    ...[...g.variableInitializers.values()].map((n) => n.name),
  ]);
  return optimizeGraph(g, { level, keep, evaluate: evaluateNode, verify: true }).graph;
}

/**
 * The case's fetches run once at O0 on the cpu (variables initialized): the reference the other
 * fuzzers compare with; `{ skipped }` with the reason when the graph cannot run there (a feed that
 * does not fit its unknown dimensions).
 */
export async function referenceOutputs(c: FuzzCase): Promise<TensorValue[] | { skipped: string }> {
  const session = new Session(c.graph, { optimize: 0 });
  try {
    if (c.hasVariables) await session.run(c.graph.globalVariablesInitializer());
    return await session.run(c.fetches, c.feeds);
  } catch (e) {
    if (e instanceof GraphcError) return { skipped: e.message };
    throw e;
  } finally {
    session.close();
  }
}

/** Whether an op other than a variable's initializer writes a variable. */
export function writesVariables(graph: Graph): boolean {
  const initializers = new Set(graph.variableInitializers.values());
  return graph.nodes.some((n) => /^assign/.test(n.op) && !initializers.has(n));
}

/** `graph` through the model.json format in memory: serialized, its JSON text parsed, loaded back. */
function savedAndLoaded(graph: Graph): Graph {
  const { json, weights } = serializeGraph(graph);
  return modelFromBytes(JSON.parse(JSON.stringify(json)), weights).graph;
}

export const LEVELS: OptLevel[] = [1, 2, 3];

/** Builds and checks one case at every level against O0. */
export async function runCase(seed: number): Promise<CaseResult> {
  const c = buildCase(seed);
  const where = `seed ${seed} [${c.description.join(', ')}]`;
  let reference: TensorValue[];
  try {
    reference = await runAt(c, 0);
  } catch (e) {
    // a graph O0 cannot run (an op the CPU lacks, a feed that does not fit) is no test
    if (e instanceof GraphcError) return { seed, ok: true, detail: `skipped: ${(e as Error).message}` };
    throw e;
  }
  const variants: [string, () => Promise<TensorValue[]>][] = [
    ...LEVELS.map((level): [string, () => Promise<TensorValue[]>] => [`O${level}`, () => runAt(c, level)]),
    // where no run changes a variable: O2 after plans for other batch sizes (runAfterOtherBatches)
    ...(c.targets.length || writesVariables(c.graph)
      ? []
      : ([
          ['O2 after another batch', () => runAfterOtherBatches(c, [3], 1, 'first')],
          ['O2 after three other batches, first run', () => runAfterOtherBatches(c, [3, 5, 1], 4, 'first')],
          ['O2 after three other batches, second run', () => runAfterOtherBatches(c, [3, 5, 1], 4, 'second')],
        ] as [string, () => Promise<TensorValue[]>][])),
    ['model O2', async () => runAt(c, 0, optimizedModel(c, 2))],
    // and that optimized graph (fused programs, folded constants) written as model.json and read back
    ['model O2 saved and loaded', async () => runAt(c, 0, savedAndLoaded(optimizedModel(c, 2)))],
    // frozen as `graphc optimize --freeze` does (variables become constants, then folded), where
    // no op writes a variable
    ...(writesVariables(c.graph) ? [] : [['model O2 frozen', async () => runAt(c, 2, freezeVariables(c.graph, new Map()).graph)] as [string, () => Promise<TensorValue[]>]]),
  ];
  for (const [name, run] of variants) {
    let got: TensorValue[];
    try {
      got = await run();
    } catch (e) {
      return { seed, ok: false, detail: `${where}: ${name} failed: ${(e as Error).message}` };
    }
    for (let i = 0; i < reference.length; i++) {
      const diff = compareValues(got[i], reference[i]);
      if (diff) return { seed, ok: false, detail: `${where}: ${name} fetch ${c.fetches[i].name}: ${diff}` };
    }
  }
  // a case that trains, on four batches: against the same four at O0
  const trained = c.targets.length || writesVariables(c.graph) ? await runTrainingOnBatches(c, 0) : undefined;
  if (trained) {
    outcomes.trainedOnFourBatches++;
    let got: TensorValue[];
    try {
      got = (await runTrainingOnBatches(c, 2))!;
    } catch (e) {
      return { seed, ok: false, detail: `${where}: O2 training on four batches failed: ${(e as Error).message}` };
    }
    for (let i = 0; i < trained.length; i++) {
      const diff = compareValues(got[i], trained[i]);
      if (diff) return { seed, ok: false, detail: `${where}: O2 training on four batches fetch ${c.fetches[i].name}: ${diff}` };
    }
  }
  return { seed, ok: true };
}
