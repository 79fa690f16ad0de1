import { DType, Graph, SymbolicTensor, TensorValue, applyOp, getOpDef, ops, registeredOps, tensor } from '@graphc/graph';
import { gpujsUnsupportedReason } from '../../packages/runtime/src/backends/gpujs';
import { Case, rand, randomTensor } from './harness';

/**
 * One or more graphs per registered op, each checked against the cpu backend. Elementwise ops get
 * generated cases (broadcast shapes, every dtype family they take); the rest are written out.
 */

type Build = () => Case;

const feedOf = (g: Graph, name: string, v: TensorValue): SymbolicTensor => g.placeholder(v.dtype, v.shape, name);

/** Inputs for an elementwise op: the first dtype combination its inference accepts. */
function elementwiseCase(op: string, positive: boolean): Case | null {
  const def = getOpDef(op);
  const n = def.numInputs as number;
  const broadcast = [[2, 3, 4], [3, 1], [2, 1, 4]].slice(0, n);
  const same = [[2, 3, 4], [2, 3, 4], [2, 3, 4]].slice(0, n);
  const combos: DType[][] = [Array(n).fill('float32'), Array(n).fill('int32'), Array(n).fill('bool'), ['bool', 'float32', 'float32'].slice(0, n) as DType[]];
  for (const [dtypes, shapes] of combos.flatMap((c) => [[c, broadcast], [c, same]] as const)) {
    try {
      def.infer({ inputs: dtypes.map((dtype, k) => ({ dtype, shape: shapes[k] })), attrs: {}, where: '' });
    } catch {
      continue;
    }
    const g = new Graph();
    const feeds: Record<string, TensorValue> = {};
    const inputs = dtypes.map((dtype, k) => {
      const int = dtype === 'int32';
      // divisors stay away from 0; positive data for ops with a restricted domain (log, sqrt, pow)
      const lo = positive ? 0.5 : int ? (k === 1 ? 1 : -6) : -3;
      const hi = int ? 6 : 3;
      const v = randomTensor(shapes[k], 11 + k * 7 + op.length, lo, hi, dtype);
      if (int && k === 1 && !positive) v.data.forEach((x, j) => (v.data[j] = j % 2 ? -x : x));
      feeds[`in${k}`] = v;
      return feedOf(g, `in${k}`, v);
    });
    const out = applyOp(op, inputs, {}, op, g).output(0);
    return { graph: g, fetches: [out], feeds };
  }
  return null;
}

/** Matrices [..., n, n] of entries in [-spread, spread] with n + 2 added on the diagonal: far from singular. */
function wellConditioned(shape: number[], seed: number, spread = 1): TensorValue {
  const n = shape[shape.length - 1];
  const r = randomTensor(shape, seed, -spread, spread);
  return tensor(Array.from(r.data, (v, e) => (Math.floor(e / n) % n === e % n ? v + n + 2 : v)), shape);
}

function single(build: (g: Graph, feeds: Record<string, TensorValue>, feed: (name: string, v: TensorValue) => SymbolicTensor) => SymbolicTensor | SymbolicTensor[]): Build {
  return () => {
    const g = new Graph();
    const feeds: Record<string, TensorValue> = {};
    const feed = (name: string, v: TensorValue): SymbolicTensor => {
      feeds[name] = v;
      return feedOf(g, name, v);
    };
    const out = build(g, feeds, feed);
    return { graph: g, fetches: Array.isArray(out) ? out : [out], feeds };
  };
}

/**
 * matmulNBits with `bits`-bit weights in blocks of `blockSize` along k, n columns, a of `aShape`; the
 * packed words fed, constant, or computed by a kernel (an int32 add, words within 2^24). With
 * `transposeW`, a's last dimension is n (the gradient's product, a times W^T).
 */
function nbitsCase(bits: 2 | 4 | 8, blockSize: number, k: number, n: number, aShape: number[], packedFrom: 'feed' | 'const' | 'kernel', transposeW = false): Build {
  return single((g, _f, feed) => {
    const blocks = Math.ceil(k / blockSize);
    const words = (blocks * blockSize * bits) / 32;
    const r = rand(bits * 101 + k);
    const extremes = [-1, -(2 ** 31), 2 ** 31 - 1, 0, 2 ** 24 + 1, -(2 ** 24) - 3];
    const packed = tensor(
      Array.from({ length: n * words }, (_, w) => {
        if (packedFrom === 'kernel') return Math.round((r() * 2 - 1) * 2 ** 24);
        return w < extremes.length ? extremes[w] : Math.floor(r() * 2 ** 32) | 0;
      }),
      [n, words],
      'int32',
    );
    const zero = (): SymbolicTensor => feed('zero', tensor(new Array(n * words).fill(0), [n, words], 'int32'));
    const p = packedFrom === 'feed' ? feed('packed', packed) : packedFrom === 'const' ? g.constant(packed) : ops.add(feed('packed', packed), zero());
    const half = 2 ** (bits - 1);
    const scales = feed('scales', randomTensor([n, blocks], bits + 1, 0.01, 0.2));
    const zeroPoints = feed('zeroPoints', randomTensor([n, blocks], bits + 2, half - 1.5, half + 1.5));
    return ops.matmulNBits(feed('a', randomTensor(aShape, bits + 3)), p, scales, zeroPoints, { bits, blockSize, k, transposeW });
  });
}

const x234 = (seed = 1): TensorValue => randomTensor([2, 3, 4], seed);
const img = (seed = 3): TensorValue => randomTensor([2, 7, 6, 3], seed);

export const EXPLICIT: Record<string, Build[]> = {
  matmul: [
    single((_g, _f, feed) => ops.matmul(feed('a', randomTensor([5, 7], 1)), feed('b', randomTensor([7, 3], 2)))),
    single((_g, _f, feed) => ops.matmul(feed('a', randomTensor([7, 5], 1)), feed('b', randomTensor([3, 7], 2)), { transposeA: true, transposeB: true })),
    single((_g, _f, feed) => ops.matmul(feed('a', randomTensor([2, 1, 4, 6], 1)), feed('b', randomTensor([3, 6, 5], 2)))),
  ],
  conv2d: [
    single((_g, _f, feed) => ops.conv2d(feed('x', img()), feed('w', randomTensor([3, 3, 3, 4], 5)), 2, 'SAME')),
    single((_g, _f, feed) => ops.conv2d(feed('x', img()), feed('w', randomTensor([2, 3, 3, 2], 5)), [1, 2], 'VALID', { dilations: [2, 1] })),
    single((_g, _f, feed) => ops.conv2d(feed('x', img()), feed('w', randomTensor([3, 3, 3, 2], 5)), 1, [[1, 0], [2, 1]])),
  ],
  depthwiseConv2d: [
    single((_g, _f, feed) => ops.depthwiseConv2d(feed('x', img()), feed('w', randomTensor([3, 3, 3, 2], 5)), 2, 'SAME')),
    single((_g, _f, feed) => ops.depthwiseConv2d(feed('x', img()), feed('w', randomTensor([2, 2, 3, 1], 5)), 1, 'VALID', { dilations: 2 })),
  ],
  maxPool: [single((_g, _f, feed) => ops.maxPool(feed('x', img()), 3, 2, 'SAME')), single((_g, _f, feed) => ops.maxPool(feed('x', img()), [2, 3], [2, 1], 'VALID'))],
  avgPool: [single((_g, _f, feed) => ops.avgPool(feed('x', img()), 3, 2, 'SAME')), single((_g, _f, feed) => ops.avgPool(feed('x', img()), 2, 2, 'VALID'))],
  batchNorm: [
    single((_g, _f, feed) =>
      ops.batchNorm(feed('x', img()), feed('m', randomTensor([3], 2)), feed('v', randomTensor([3], 3, 0.5, 2)), feed('o', randomTensor([3], 4)), feed('s', randomTensor([3], 5)), 1e-3),
    ),
    single((_g, _f, feed) => ops.batchNorm(feed('x', x234()), feed('m', randomTensor([3, 1], 2)), feed('v', randomTensor([1, 4], 3, 0.5, 2)), null, null, 1e-5)),
  ],
  softmax: [single((_g, _f, feed) => ops.softmax(feed('x', x234()))), single((_g, _f, feed) => ops.softmax(feed('x', randomTensor([2, 5, 3], 2, -20, 20)), 1))],
  logSoftmax: [single((_g, _f, feed) => ops.logSoftmax(feed('x', x234()))), single((_g, _f, feed) => ops.logSoftmax(feed('x', x234(2)), 0))],
  sparseSoftmaxCrossEntropyWithLogitsGrad: [
    single((_g, _f, feed) =>
      ops.sparseSoftmaxCrossEntropyWithLogitsGrad(feed('y', tensor([0, 3, 2, 1, 3, 0], [2, 3], 'int32')), feed('x', x234()), feed('dy', randomTensor([2, 3], 5))),
    ),
  ],
  sparseSoftmaxCrossEntropyWithLogits: [
    single((_g, _f, feed) => ops.sparseSoftmaxCrossEntropyWithLogits(feed('y', tensor([0, 3, 2, 1, 3, 0], [2, 3], 'int32')), feed('x', x234()))),
  ],
  softmaxCrossEntropyWithLogits: [
    single((_g, _f, feed) => ops.softmaxCrossEntropyWithLogits(feed('y', randomTensor([6, 4], 8, 0, 1)), feed('x', randomTensor([6, 4], 9)))),
  ],
  dropout: [
    () => {
      const g = new Graph();
      const x = g.placeholder('float32', [4, 50], 'x');
      return { graph: g, fetches: [ops.dropout(x, 0.3, 42)], feeds: { x: randomTensor([4, 50], 1) }, runs: 2 };
    },
  ],
  randomUniform: [
    () => {
      const g = new Graph();
      return { graph: g, fetches: [ops.randomUniform([3, 40], -2, 5, 'float32', 7, { graph: g })], runs: 2 };
    },
  ],
  randomNormal: [
    () => {
      const g = new Graph();
      return { graph: g, fetches: [ops.randomNormal([3, 40], 1, 2, 'float32', 9, { graph: g })], runs: 2 };
    },
  ],
  multinomial: [
    () => {
      const g = new Graph();
      const logits = g.placeholder('float32', [3, 6], 'logits');
      // the draws come from the cpu's generator; a class of -inf logit is never drawn
      const x = tensor([0, 1, 2, 0.5, -1, -Infinity, 3, 3, 3, 3, 3, 3, -2, 4, 0, 0, 1, -Infinity], [3, 6]);
      return { graph: g, fetches: [ops.multinomial(logits, 50, { seed: 11 })], feeds: { logits: x }, runs: 2 };
    },
  ],
  truncatedNormal: [
    () => {
      const g = new Graph();
      return { graph: g, fetches: [ops.truncatedNormal([3, 40], 0, 1, 'float32', 3, { graph: g })], runs: 2 };
    },
  ],
  reduceSum: [
    single((_g, _f, feed) => ops.reduceSum(feed('x', x234()), [0, 2])),
    single((_g, _f, feed) => ops.reduceSum(feed('x', x234()), 1, true)),
    single((_g, _f, feed) => ops.reduceSum(feed('x', randomTensor([3, 5000], 4)), 1)),
    single((_g, _f, feed) => ops.reduceSum(feed('x', randomTensor([3, 4], 4, -5, 5, 'int32')))),
  ],
  reduceMean: [single((_g, _f, feed) => ops.reduceMean(feed('x', x234()), [1, 2])), single((_g, _f, feed) => ops.reduceMean(feed('x', randomTensor([4100], 4))))],
  reduceMax: [single((_g, _f, feed) => ops.reduceMax(feed('x', x234()), [0, 2], true)), single((_g, _f, feed) => ops.reduceMax(feed('x', randomTensor([2, 3000], 4)), 1))],
  reduceMin: [single((_g, _f, feed) => ops.reduceMin(feed('x', x234()), 2))],
  reduceProd: [single((_g, _f, feed) => ops.reduceProd(feed('x', randomTensor([2, 3, 4], 4, 0.5, 1.5)), 1))],
  argMax: [single((_g, _f, feed) => ops.argMax(feed('x', x234()), 1)), single((_g, _f, feed) => ops.argMax(feed('x', x234()), -1, 'int32'))],
  argMin: [single((_g, _f, feed) => ops.argMin(feed('x', x234()), 0))],
  sumToShapeOf: [single((_g, _f, feed) => ops.sumToShapeOf(feed('x', x234()), feed('l', randomTensor([3, 1], 2))))],
  broadcastToShapeOf: [single((_g, _f, feed) => ops.broadcastToShapeOf(feed('x', randomTensor([3, 1], 2)), feed('l', x234())))],
  transpose: [single((_g, _f, feed) => ops.transpose(feed('x', img()), [0, 3, 1, 2])), single((_g, _f, feed) => ops.transpose(feed('x', x234())))],
  slice: [single((_g, _f, feed) => ops.slice(feed('x', img()), [1, 2, 0, 1], [1, -1, 4, 2]))],
  split: [single((_g, _f, feed) => ops.split(feed('x', x234()), [1, -1], 2)), single((_g, _f, feed) => ops.split(feed('x', x234()), 3, 1))],
  tile: [single((_g, _f, feed) => ops.tile(feed('x', randomTensor([2, 1, 3], 2)), [2, 3, 1]))],
  pad: [
    single((_g, _f, feed) => ops.pad(feed('x', x234()), [[1, 0], [0, 2], [2, 1]], 1.5)),
    single((_g, _f, feed) => ops.pad(feed('x', x234()), [[0, 1], [2, 2], [3, 3]], 0, 'reflect')),
    single((_g, _f, feed) => ops.pad(feed('x', x234()), [[2, 1], [3, 3], [0, 4]], 0, 'symmetric')),
    single((_g, _f, feed) => ops.pad(feed('x', x234()), [[3, 1], [0, 5], [2, 0]], 0, 'edge')),
    single((_g, _f, feed) => ops.pad(feed('x', x234()), [[3, 2], [4, 1], [0, 9]], 0, 'wrap')),
  ],
  concat: [
    single((_g, _f, feed) => ops.concat([feed('a', x234(1)), feed('b', randomTensor([2, 1, 4], 2)), feed('c', x234(3))], 1)),
    single((_g, _f, feed) => ops.concat(Array.from({ length: 9 }, (_, k) => feed(`p${k}`, randomTensor([2, k % 3 + 1], k))), -1)),
  ],
  gather: [
    single((_g, _f, feed) => ops.gather(feed('x', randomTensor([5, 4], 1)), feed('i', tensor([4, 0, -1, 2, 2, 1], [2, 3], 'int32')))),
    single((_g, _f, feed) => ops.gather(feed('x', x234()), feed('i', tensor([3, 0, 1], [3], 'int32')), 2)),
  ],
  oneHot: [
    single((_g, _f, feed) => ops.oneHot(feed('i', tensor([0, 2, 5, -1, 1, 3], [2, 3], 'int32')), 4)),
    single((_g, _f, feed) => ops.oneHot(feed('i', tensor([0, 2, 1], [3], 'int32')), 3, 5, -1, 0)),
  ],
  fill: [
    () => {
      const g = new Graph();
      return { graph: g, fetches: [ops.fill([2, 3], 7.5, 'float32', { graph: g }), ops.fill([4], 3, 'int32', { graph: g })] };
    },
  ],
  range: [
    () => {
      const g = new Graph();
      return { graph: g, fetches: [ops.range(1, 2, 0.25, undefined, { graph: g }), ops.range(5, 0, -2, undefined, { graph: g })] };
    },
  ],
  cast: [
    single((_g, _f, feed) => ops.cast(feed('x', x234()), 'int32')),
    single((_g, _f, feed) => ops.cast(feed('x', x234()), 'bool')),
    single((_g, _f, feed) => ops.cast(feed('x', randomTensor([5], 2, -9, 9, 'int32')), 'float32')),
  ],
  leakyRelu: [single((_g, _f, feed) => ops.leakyRelu(feed('x', x234()), 0.1))],
  elu: [single((_g, _f, feed) => ops.elu(feed('x', x234()), 0.7))],
  gelu: [single((_g, _f, feed) => ops.gelu(feed('x', x234()))), single((_g, _f, feed) => ops.gelu(feed('x', x234()), true))],
  reshape: [single((_g, _f, feed) => ops.add(ops.reshape(feed('x', x234()), [4, -1]), 1))],
  expandDims: [single((_g, _f, feed) => ops.mul(ops.expandDims(feed('x', x234()), 1), 2))],
  squeeze: [single((_g, _f, feed) => ops.neg(ops.squeeze(feed('x', randomTensor([2, 1, 3], 1)))))],
  identity: [single((_g, _f, feed) => ops.identity(feed('x', x234())))],
  stopGradient: [single((_g, _f, feed) => ops.exp(ops.stopGradient(feed('x', x234()))))],
  fusedElementwise: [
    single((_g, _f, feed) =>
      ops.fusedElementwise(
        [feed('a', x234()), feed('b', randomTensor([4], 2)), feed('c', randomTensor([3, 1], 3))],
        [
          { op: 'add', attrs: {}, args: [{ input: 0 }, { input: 1 }] },
          { op: 'gelu', attrs: { approximate: false }, args: [{ step: 0 }] },
          { op: 'greater', attrs: {}, args: [{ step: 1 }, { input: 2 }] },
          { op: 'where', attrs: {}, args: [{ step: 2 }, { step: 1 }, { input: 2 }] },
        ],
      ),
    ),
    // more inputs than one gpu.js webgpu kernel binds: a kernel per statement, broadcasting at the end
    single((_g, _f, feed) =>
      ops.fusedElementwise(
        Array.from({ length: 9 }, (_, k) => feed(`in${k}`, k === 8 ? x234(9) : randomTensor(k % 2 ? [4] : [3, 1], 10 + k))),
        [
          { op: 'mul', attrs: {}, args: [{ input: 0 }, { input: 1 }] },
          { op: 'add', attrs: {}, args: [{ step: 0 }, { input: 2 }] },
          { op: 'sub', attrs: {}, args: [{ step: 1 }, { input: 3 }] },
          { op: 'maximum', attrs: {}, args: [{ step: 2 }, { input: 4 }] },
          { op: 'mul', attrs: {}, args: [{ step: 3 }, { input: 5 }] },
          { op: 'tanh', attrs: {}, args: [{ step: 4 }] },
          { op: 'add', attrs: {}, args: [{ step: 5 }, { input: 6 }] },
          { op: 'mul', attrs: {}, args: [{ step: 6 }, { input: 7 }] },
          { op: 'add', attrs: {}, args: [{ step: 7 }, { input: 8 }] },
        ],
      ),
    ),
    // nine inputs, the [2, 3, 4] one joining only at a later statement (earlier steps are [3, 4])
    single((_g, _f, feed) =>
      ops.fusedElementwise(
        Array.from({ length: 9 }, (_, k) => feed(`in${k}`, k === 8 ? x234(9) : randomTensor(k % 2 ? [4] : [3, 1], 20 + k))),
        [
          { op: 'mul', attrs: {}, args: [{ input: 0 }, { input: 1 }] },
          { op: 'add', attrs: {}, args: [{ step: 0 }, { input: 2 }] },
          { op: 'sub', attrs: {}, args: [{ step: 1 }, { input: 3 }] },
          { op: 'mul', attrs: {}, args: [{ step: 2 }, { input: 4 }] },
          { op: 'add', attrs: {}, args: [{ step: 3 }, { input: 8 }] },
          { op: 'minimum', attrs: {}, args: [{ step: 4 }, { input: 5 }] },
          { op: 'add', attrs: {}, args: [{ step: 5 }, { input: 6 }] },
          { op: 'mul', attrs: {}, args: [{ step: 6 }, { input: 7 }] },
        ],
      ),
    ),
  ],
  fusedMatmul: [
    single((g, _f, feed) =>
      applyOp(
        'fusedMatmul',
        [feed('a', randomTensor([5, 7], 1)), feed('b', randomTensor([7, 3], 2)), feed('bias', randomTensor([3], 3))],
        {
          transposeA: false,
          transposeB: false,
          epilogue: [
            { op: 'add', attrs: {}, args: [{ input: 0 }, { input: 1 }] },
            { op: 'relu', attrs: {}, args: [{ step: 0 }] },
          ] as never,
        },
        'fm',
        g,
      ).output(0),
    ),
  ],
  fusedConv2d: [
    single((g, _f, feed) =>
      applyOp(
        'fusedConv2d',
        [feed('x', img()), feed('w', randomTensor([3, 3, 3, 4], 5)), feed('bias', randomTensor([4], 3))],
        { strides: [1, 1], padding: 'SAME', dilations: [1, 1], epilogue: [{ op: 'add', attrs: {}, args: [{ input: 0 }, { input: 1 }] }] as never },
        'fc',
        g,
      ).output(0),
    ),
  ],
  fusedDepthwiseConv2d: [
    single((g, _f, feed) =>
      applyOp(
        'fusedDepthwiseConv2d',
        [feed('x', img()), feed('w', randomTensor([3, 3, 3, 1], 5))],
        { strides: [2, 2], padding: 'VALID', dilations: [1, 1], epilogue: [{ op: 'sigmoid', attrs: {}, args: [{ input: 0 }] }] as never },
        'fd',
        g,
      ).output(0),
    ),
  ],
  reshapeToShapeOf: [single((_g, _f, feed) => ops.exp(ops.reshapeToShapeOf(feed('x', x234()), feed('l', randomTensor([4, 6], 2)))))],
  sliceGrad: [single((_g, _f, feed) => ops.sliceGrad(feed('dy', randomTensor([1, 3, 4, 2], 1)), feed('x', img()), [1, 2, 0, 1], [1, 3, 4, 2]))],
  gatherGrad: [
    single((_g, _f, feed) => ops.gatherGrad(feed('dy', randomTensor([2, 3, 4], 1)), feed('i', tensor([4, 0, -1, 2, 2, 1], [2, 3], 'int32')), feed('p', randomTensor([5, 4], 2)))),
    single((_g, _f, feed) => ops.gatherGrad(feed('dy', randomTensor([2, 3, 3], 1)), feed('i', tensor([3, 0, 3], [3], 'int32')), feed('p', x234()), 2)),
  ],
  padGrad: [
    single((_g, _f, feed) => ops.padGrad(feed('dy', randomTensor([3, 5, 7], 1)), feed('x', x234()), [1, 0, 0, 2, 2, 1], 'constant')),
    single((_g, _f, feed) => ops.padGrad(feed('dy', randomTensor([3, 7, 10], 1)), feed('x', x234()), [0, 1, 2, 2, 3, 3], 'reflect')),
    single((_g, _f, feed) => ops.padGrad(feed('dy', randomTensor([5, 9, 8], 1)), feed('x', x234()), [2, 1, 3, 3, 0, 4], 'symmetric')),
    single((_g, _f, feed) => ops.padGrad(feed('dy', randomTensor([6, 8, 6], 1)), feed('x', x234()), [3, 1, 0, 5, 2, 0], 'edge')),
    single((_g, _f, feed) => ops.padGrad(feed('dy', randomTensor([6, 3, 7], 1)), feed('x', randomTensor([1, 3, 2], 2)), [3, 2, 0, 0, 1, 4], 'edge')),
    single((_g, _f, feed) => ops.padGrad(feed('dy', randomTensor([7, 8, 13], 1)), feed('x', x234()), [3, 2, 4, 1, 0, 9], 'wrap')),
  ],
  tileGrad: [single((_g, _f, feed) => ops.tileGrad(feed('dy', randomTensor([4, 3, 3], 1)), feed('x', randomTensor([2, 1, 3], 2)), [2, 3, 1]))],
  conv2dBackpropInput: [
    single((_g, _f, feed) => ops.conv2dBackpropInput(feed('dy', randomTensor([2, 4, 3, 4], 1)), feed('w', randomTensor([3, 3, 3, 4], 5)), feed('x', img()), { strides: [2, 2], padding: 'SAME', dilations: [1, 1] })),
    single((_g, _f, feed) => ops.conv2dBackpropInput(feed('dy', randomTensor([2, 5, 2, 2], 1)), feed('w', randomTensor([2, 3, 3, 2], 5)), feed('x', img()), { strides: [1, 2], padding: 'VALID', dilations: [2, 1] })),
  ],
  conv2dBackpropFilter: [
    single((_g, _f, feed) => ops.conv2dBackpropFilter(feed('x', img()), feed('dy', randomTensor([2, 4, 3, 4], 1)), feed('w', randomTensor([3, 3, 3, 4], 5)), { strides: [2, 2], padding: 'SAME', dilations: [1, 1] })),
  ],
  depthwiseConv2dBackpropInput: [
    single((_g, _f, feed) => ops.depthwiseConv2dBackpropInput(feed('dy', randomTensor([2, 4, 3, 6], 1)), feed('w', randomTensor([3, 3, 3, 2], 5)), feed('x', img()), { strides: [2, 2], padding: 'SAME', dilations: [1, 1] })),
  ],
  depthwiseConv2dBackpropFilter: [
    single((_g, _f, feed) => ops.depthwiseConv2dBackpropFilter(feed('x', img()), feed('dy', randomTensor([2, 5, 4, 6], 1)), feed('w', randomTensor([2, 2, 3, 2], 5)), { strides: [1, 1], padding: 'VALID', dilations: [2, 2] })),
  ],
  maxPoolGrad: [
    single((_g, _f, feed) => ops.maxPoolGrad(feed('dy', randomTensor([2, 4, 3, 3], 1)), feed('x', img()), { ksize: [3, 3], strides: [2, 2], padding: 'SAME' })),
    single((_g, _f, feed) => ops.maxPoolGrad(feed('dy', randomTensor([2, 6, 4, 3], 1)), feed('x', img()), { ksize: [2, 3], strides: [1, 1], padding: 'VALID' })),
  ],
  avgPoolGrad: [single((_g, _f, feed) => ops.avgPoolGrad(feed('dy', randomTensor([2, 4, 3, 3], 1)), feed('x', img()), { ksize: [3, 3], strides: [2, 2], padding: 'SAME' }))],
  maxPoolGradGrad: [single((_g, _f, feed) => ops.maxPoolGradGrad(feed('ddx', img(9)), feed('x', img()), { ksize: [3, 3], strides: [2, 2], padding: 'SAME' }))],
  // ONNX ops, built by name (applyOp) so the cases need nothing but the registry
  expand: [single((g, _f, feed) => applyOp('expand', [feed('x', randomTensor([3, 1], 1))], { shape: [2, 1, 4] }, 'e', g).output(0))],
  stridedSlice: [
    single((g, _f, feed) => applyOp('stridedSlice', [feed('x', x234())], { begin: [1, 2, 0], strides: [-1, -1, 2], size: [2, 3, 2] }, 's', g).output(0)),
  ],
  shapeOf: [single((g, _f, feed) => ops.add(ops.cast(applyOp('shapeOf', [feed('x', x234())], { start: 1 }, 's', g).output(0), 'float32'), 0.5))],
  tfIdfVectorizer: [
    single((_g, _f, feed) =>
      ops.tfIdfVectorizer(feed('x', tensor([1, 0, 1, 3, 0, 2, 2, 2, 1, 0, 1, 4, 4, 3, 1, 0, 1, 1, 3, 0, 2, 1, 0, 1], [2, 12], 'int32')), {
        ngrams: [[1], [3], [0, 1], [2, 2], [1, 0, 1], [3, 0, 2]],
        indexes: [3, 0, 2, 2, 1, 4],
        mode: 'TFIDF',
        weights: [0.5, 1.5, 2, 0.25, 3, 0.75],
        maxSkipCount: 2,
      }),
    ),
    single((_g, _f, feed) => ops.tfIdfVectorizer(feed('x', tensor([4, 4, 1, 4, 4, 4, 0, 1], [8], 'int64')), { ngrams: [[4], [4, 4], [0, 1]], mode: 'IDF', weights: [2, 3, 5], minGramLength: 2 })),
  ],
  trilu: [
    single((g, _f, feed) => applyOp('trilu', [feed('x', x234())], { upper: true, k: 1 }, 't', g).output(0)),
    single((g, _f, feed) => applyOp('trilu', [feed('x', x234())], { upper: false, k: -1 }, 't', g).output(0)),
  ],
  reverseSequence: [
    single((g, _f, feed) => applyOp('reverseSequence', [feed('x', randomTensor([4, 3, 2], 1)), feed('l', tensor([4, 0, 2], [3], 'int32'))], { timeAxis: 0, batchAxis: 1 }, 'r', g).output(0)),
    single((g, _f, feed) => applyOp('reverseSequence', [feed('x', randomTensor([3, 4, 2], 1)), feed('l', tensor([1, 4, 3], [3], 'int32'))], { timeAxis: 1, batchAxis: 0 }, 'r', g).output(0)),
  ],
  gatherElements: [
    single((g, _f, feed) => applyOp('gatherElements', [feed('x', x234()), feed('i', tensor([2, 0, -1, 1, 0, 0, 1, 2], [2, 2, 2], 'int32'))], { axis: 1 }, 'ge', g).output(0)),
  ],
  scatterElements: [
    single((g, _f, feed) => applyOp('scatterElements', [feed('x', x234()), feed('i', tensor([2, 0, 2, 1, 0, 0, 1, 2], [2, 2, 2], 'int32')), feed('u', randomTensor([2, 2, 2], 4))], { axis: 1 }, 'se', g).output(0)),
    single((g, _f, feed) => applyOp('scatterElements', [feed('x', x234()), feed('i', tensor([2, 0, 2, 1, 0, 0, 1, 2], [2, 2, 2], 'int32')), feed('u', randomTensor([2, 2, 2], 4))], { axis: 1, reduction: 'add' }, 'se', g).output(0)),
  ],
  gatherNd: [
    single((g, _f, feed) => applyOp('gatherNd', [feed('x', x234()), feed('i', tensor([1, 2, 0, -1, 1, 0], [3, 2], 'int32'))], { batchDims: 0 }, 'gn', g).output(0)),
    single((g, _f, feed) => applyOp('gatherNd', [feed('x', x234()), feed('i', tensor([1, 2, 0, 2], [2, 2, 1], 'int32'))], { batchDims: 1 }, 'gn', g).output(0)),
  ],
  scatterNd: [
    single((g, _f, feed) => applyOp('scatterNd', [feed('x', x234()), feed('i', tensor([1, 2, 0, 0, 1, 2], [3, 2], 'int32')), feed('u', randomTensor([3, 4], 4))], { reduction: 'add' }, 'sn', g).output(0)),
  ],
  cumSum: [
    single((g, _f, feed) => applyOp('cumSum', [feed('x', x234())], { axis: 1 }, 'c', g).output(0)),
    single((g, _f, feed) => applyOp('cumSum', [feed('x', x234())], { axis: -1, exclusive: true, reverse: true }, 'c', g).output(0)),
  ],
  topK: [
    single((g, _f, feed) => applyOp('topK', [feed('x', tensor([3, 1, 3, 2, 0, 5, 5, 1, -2, 4, 0, 4], [2, 6]))], { axis: -1, k: 4, largest: true }, 'tk', g).outputTensors),
    single((g, _f, feed) => applyOp('topK', [feed('x', x234())], { axis: 1, k: 2, largest: false }, 'tk', g).outputTensors),
  ],
  convNchw: [
    single((g, _f, feed) => applyOp('convNchw', [feed('x', randomTensor([2, 4, 7, 6], 1)), feed('w', randomTensor([6, 2, 3, 3], 2)), feed('b', randomTensor([6], 3))], { group: 2, pads: [1, 0, 1, 2], strides: [2, 1] }, 'c', g).output(0)),
    single((g, _f, feed) => applyOp('convNchw', [feed('x', randomTensor([1, 3, 9], 1)), feed('w', randomTensor([2, 3, 3], 2))], { dilations: [2], autoPad: 'SAME_UPPER' }, 'c', g).output(0)),
  ],
  convTransposeNchw: [
    single((g, _f, feed) => applyOp('convTransposeNchw', [feed('x', randomTensor([2, 4, 3, 4], 1)), feed('w', randomTensor([4, 3, 3, 2], 2)), feed('b', randomTensor([6], 3))], { group: 2, strides: [2, 2], pads: [1, 0, 0, 1], outputPadding: [1, 0] }, 'ct', g).output(0)),
  ],
  maxPoolNchw: [
    single((g, _f, feed) => applyOp('maxPoolNchw', [feed('x', randomTensor([2, 3, 7, 6], 1))], { kernel: [3, 2], strides: [2, 2], pads: [1, 0, 1, 1], withIndices: true }, 'mp', g).outputTensors),
    single((g, _f, feed) => applyOp('maxPoolNchw', [feed('x', randomTensor([1, 2, 8, 5], 1))], { kernel: [2, 2], strides: [3, 2], ceilMode: true, dilations: [2, 1] }, 'mp', g).outputTensors),
  ],
  avgPoolNchw: [
    single((g, _f, feed) => applyOp('avgPoolNchw', [feed('x', randomTensor([2, 3, 7, 6], 1))], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], countIncludePad: true }, 'ap', g).output(0)),
    single((g, _f, feed) => applyOp('avgPoolNchw', [feed('x', randomTensor([2, 3, 7, 6], 1))], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 'ap', g).output(0)),
  ],
  lpPoolNchw: [single((g, _f, feed) => applyOp('lpPoolNchw', [feed('x', randomTensor([2, 3, 6, 6], 1))], { kernel: [2, 2], strides: [2, 2], p: 3 }, 'lp', g).output(0))],
  layerNorm: [
    single((g, _f, feed) => applyOp('layerNorm', [feed('x', x234()), feed('s', randomTensor([4], 2)), feed('b', randomTensor([4], 3))], { axis: -1, epsilon: 1e-5 }, 'ln', g).outputTensors),
    single((g, _f, feed) => applyOp('layerNorm', [feed('x', x234()), feed('s', randomTensor([3, 1], 2))], { axis: 1 }, 'ln', g).outputTensors),
  ],
  rmsNorm: [
    single((g, _f, feed) => applyOp('rmsNorm', [feed('x', x234()), feed('s', randomTensor([4], 2))], { axis: -1, epsilon: 1e-5 }, 'rms', g).outputTensors),
    single((g, _f, feed) => applyOp('rmsNorm', [feed('x', x234()), feed('s', randomTensor([3, 1], 2))], { axis: 1 }, 'rms', g).outputTensors),
  ],
  lrnNchw: [single((g, _f, feed) => applyOp('lrnNchw', [feed('x', randomTensor([2, 5, 3, 2], 1))], { size: 3, alpha: 0.001, beta: 0.75, bias: 1.5 }, 'lrn', g).output(0))],
  nllLoss: [
    single((g, _f, feed) => applyOp('nllLoss', [feed('x', randomTensor([3, 4, 2], 1)), feed('t', tensor([0, 3, 1, 1, 2, 0], [3, 2], 'int32'))], { reduction: 'none' }, 'nll', g).output(0)),
    single((g, _f, feed) => applyOp('nllLoss', [feed('x', randomTensor([4, 3], 1)), feed('t', tensor([0, 2, 1, 2], [4], 'int32')), feed('w', randomTensor([3], 2, 0.5, 2))], { reduction: 'mean', ignoreIndex: 1 }, 'nll', g).output(0)),
    single((g, _f, feed) => applyOp('nllLoss', [feed('x', randomTensor([4, 3], 1)), feed('t', tensor([0, 2, 1, 2], [4], 'int32'))], { reduction: 'sum' }, 'nll', g).output(0)),
  ],
  einsum: [
    single((g, _f, feed) => applyOp('einsum', [feed('a', randomTensor([2, 3, 4], 1)), feed('b', randomTensor([2, 4, 5], 2))], { equation: 'bij,bjk->bik' }, 'es', g).output(0)),
    single((g, _f, feed) => applyOp('einsum', [feed('a', randomTensor([3, 3], 1))], { equation: 'ii->i' }, 'es', g).output(0)),
    single((g, _f, feed) => applyOp('einsum', [feed('a', randomTensor([2, 3, 4], 1)), feed('b', randomTensor([4], 2))], { equation: '...j,j->...' }, 'es', g).output(0)),
  ],
  // packed words over int32's whole range (sign bit set, extremes) as a feed and as a constant, both
  // cut into 16-bit halves on the host; words within 2^24 computed by a kernel, cut on the device
  matmulNBits: [
    nbitsCase(4, 16, 40, 5, [3, 40], 'feed'),
    nbitsCase(2, 16, 40, 3, [2, 2, 40], 'const'),
    nbitsCase(8, 8, 20, 3, [3, 20], 'kernel'),
    nbitsCase(4, 16, 40, 5, [3, 5], 'const', true),
    nbitsCase(2, 16, 37, 3, [2, 2, 3], 'feed', true),
  ],
  det: [single((_g, _f, feed) => applyOp('det', [feed('x', randomTensor([2, 4, 4], 1))], {}, 'det', _g).output(0)), single((_g, _f, feed) => applyOp('det', [feed('x', tensor([0, 1, 2, 1, 0, 3, 4, -3, 8], [3, 3]))], {}, 'det', _g).output(0))],
  customGradient: [single((g, _f, feed) => ops.customGradient((v) => ({ value: ops.tanh(v), gradient: (dy) => dy }))(feed('x', randomTensor([3, 4], 1))))],
  matrixSolve: [
    single((g, _f, feed) => ops.matrixSolve(feed('a', wellConditioned([2, 4, 4], 1)), feed('b', randomTensor([2, 4, 3], 2)))),
    // a zero first pivot, solved transposed; the second matrix is singular (NaN throughout)
    single((g, _f, feed) => ops.matrixSolve(feed('a', tensor([0, 1, 2, 1, 0, 3, 4, -3, 8, 1, 2, 3, 2, 4, 6, 1, 0, 1], [2, 3, 3])), feed('b', randomTensor([2, 3, 2], 3)), { adjoint: true })),
  ],
  matrixTriangularSolve: [
    single((g, _f, feed) => ops.matrixTriangularSolve(feed('a', wellConditioned([2, 4, 4], 4)), feed('b', randomTensor([2, 4, 2], 5)))),
    single((g, _f, feed) => ops.matrixTriangularSolve(feed('a', wellConditioned([5, 5], 6)), feed('b', randomTensor([5, 3], 7)), { lower: false, adjoint: true })),
  ],
  cholesky: [
    single((g, _f, feed) => {
      const x = feed('x', randomTensor([2, 4, 4], 8, -1, 1));
      return ops.cholesky(ops.add(ops.matmul(x, x, { transposeB: true }), g.constant(wellConditioned([4, 4], 9, 0))));
    }),
    // the second matrix is not positive definite
    single((g, _f, feed) => ops.cholesky(feed('a', tensor([4, 2, 2, 3, 1, 2, 2, 1], [2, 2, 2])))),
  ],
  resize: [
    single((g, _f, feed) => applyOp('resize', [feed('x', randomTensor([1, 2, 3, 4], 1))], { sizes: [1, 2, 5, 7], mode: 'linear' }, 'rs', g).output(0)),
    single((g, _f, feed) => applyOp('resize', [feed('x', randomTensor([1, 2, 4, 4], 1))], { sizes: [1, 2, 7, 3], mode: 'cubic', coordinateTransformationMode: 'align_corners', excludeOutside: true }, 'rs', g).output(0)),
    single((g, _f, feed) => applyOp('resize', [feed('x', randomTensor([2, 5, 3], 1))], { sizes: [2, 8, 5], mode: 'nearest', coordinateTransformationMode: 'asymmetric', nearestMode: 'floor' }, 'rs', g).output(0)),
    single((g, _f, feed) => applyOp('resize', [feed('x', randomTensor([1, 1, 4, 4], 1))], { sizes: [1, 1, 3, 3], mode: 'linear', coordinateTransformationMode: 'tf_crop_and_resize', roi: [0, 0, 0.4, -0.2, 1, 1, 1.3, 0.8], extrapolationValue: 9 }, 'rs', g).output(0)),
  ],
  gridSample: [
    ['linear', 'zeros', false, [2, 3, 4, 5], [2, 3, 4, 2]],
    ['nearest', 'reflection', true, [1, 2, 4, 3], [1, 5, 3, 2]],
    ['nearest', 'border', false, [1, 2, 3, 4], [1, 4, 3, 2]],
    ['cubic', 'border', true, [1, 2, 4, 4], [1, 3, 3, 2]],
    ['cubic', 'reflection', false, [1, 1, 5, 3], [1, 4, 2, 2]],
    ['linear', 'reflection', false, [1, 2, 3, 4, 3], [1, 2, 3, 2, 3]],
    ['nearest', 'zeros', false, [1, 1, 3, 4, 3], [1, 2, 3, 2, 3]],
  ].map(([mode, paddingMode, alignCorners, xs, gs]) =>
    single((g, _f, feed) =>
      applyOp('gridSample', [feed('x', randomTensor(xs as number[], 1)), feed('grid', randomTensor(gs as number[], 2, -1.3, 1.3))], { mode, paddingMode, alignCorners } as never, 'gs', g).output(0),
    ),
  ),
  maxUnpool: [
    single((g, _f, feed) => applyOp('maxUnpool', [feed('x', randomTensor([1, 2, 2, 2], 1)), feed('i', tensor([0, 3, 9, 14, 16, 19, 26, 31], [1, 2, 2, 2], 'int64'))], { outputShape: [1, 2, 4, 4] }, 'mu', g).output(0)),
    // indices over [1, 1, 3, 3], padded to [1, 1, 4, 5]; index 4 is written twice, the later value wins
    single((g, _f, feed) => applyOp('maxUnpool', [feed('x', randomTensor([1, 1, 2, 2], 2)), feed('i', tensor([4, 0, 8, 4], [1, 1, 2, 2], 'int32'))], { outputShape: [1, 1, 4, 5], indexShape: [1, 1, 3, 3] }, 'mu', g).output(0)),
  ],
  // rois inside, partly more than a pixel outside, across the last row and column, reversed; adaptive and fixed sampling
  ...(() => {
    const rois = tensor([0.4, 0.3, 4.6, 3.7, -2.6, 1.2, 2.3, 6.1, 3.3, 2.2, 6.8, 5.9, 1.1, 1.3, 1.5, 1.6, 3.9, 3.1, 1.2, 0.7, -9, -9, 11, 12], [6, 4]);
    const batch = tensor([1, 0, 1, 0, 1, 0], [6], 'int64');
    const configs = [
      { mode: 'avg', outputHeight: 2, outputWidth: 3, samplingRatio: 2, spatialScale: 1, coordinateTransformationMode: 'half_pixel' },
      { mode: 'avg', outputHeight: 3, outputWidth: 2, samplingRatio: 0, spatialScale: 0.8, coordinateTransformationMode: 'output_half_pixel' },
      { mode: 'max', outputHeight: 2, outputWidth: 2, samplingRatio: 0, spatialScale: 1, coordinateTransformationMode: 'half_pixel' },
      { mode: 'max', outputHeight: 2, outputWidth: 3, samplingRatio: 3, spatialScale: 1.2, coordinateTransformationMode: 'output_half_pixel' },
    ];
    return {
      roiAlign: configs.map((attrs) =>
        single((g, _f, feed) => applyOp('roiAlign', [feed('x', randomTensor([2, 3, 5, 6], 1)), feed('rois', rois), feed('b', batch)], attrs, 'ra', g).output(0)),
      ),
      roiAlignGrad: configs.map((attrs) =>
        single((g, _f, feed) =>
          applyOp('roiAlignGrad', [feed('dy', randomTensor([6, 3, attrs.outputHeight, attrs.outputWidth], 2)), feed('x', randomTensor([2, 3, 5, 6], 1)), feed('rois', rois), feed('b', batch)], attrs, 'rag', g).output(0),
        ),
      ),
    };
  })(),
  rnn: [
    single((g, _f, feed) => applyOp('rnn', [feed('x', randomTensor([4, 2, 3], 1)), feed('w', randomTensor([1, 5, 3], 2, -0.5, 0.5)), feed('r', randomTensor([1, 5, 5], 3, -0.5, 0.5)), feed('b', randomTensor([1, 10], 4, -0.3, 0.3))],
      { inputs: ['x', 'w', 'r', 'b'], hiddenSize: 5 }, 'rnn', g).outputTensors),
    single((g, _f, feed) => applyOp('rnn', [feed('x', randomTensor([2, 4, 3], 1)), feed('w', randomTensor([2, 5, 3], 2, -0.5, 0.5)), feed('r', randomTensor([2, 5, 5], 3, -0.5, 0.5)), feed('l', tensor([4, 2], [2], 'int32')), feed('h0', randomTensor([2, 2, 5], 5))],
      { inputs: ['x', 'w', 'r', 'sequenceLens', 'initialH'], hiddenSize: 5, direction: 'bidirectional', layout: 1, activations: ['Relu', 'LeakyRelu'], activationAlpha: [0.3] }, 'rnn', g).outputTensors),
  ],
  gru: [
    single((g, _f, feed) => applyOp('gru', [feed('x', randomTensor([3, 2, 4], 1)), feed('w', randomTensor([1, 9, 4], 2, -0.5, 0.5)), feed('r', randomTensor([1, 9, 3], 3, -0.5, 0.5)), feed('b', randomTensor([1, 18], 4, -0.3, 0.3))],
      { inputs: ['x', 'w', 'r', 'b'], hiddenSize: 3 }, 'gru', g).outputTensors),
    single((g, _f, feed) => applyOp('gru', [feed('x', randomTensor([3, 2, 4], 1)), feed('w', randomTensor([2, 9, 4], 2, -0.5, 0.5)), feed('r', randomTensor([2, 9, 3], 3, -0.5, 0.5)), feed('b', randomTensor([2, 18], 4, -0.3, 0.3)), feed('l', tensor([2, 3], [2], 'int32'))],
      { inputs: ['x', 'w', 'r', 'b', 'sequenceLens'], hiddenSize: 3, direction: 'bidirectional', linearBeforeReset: true, clip: 0.8 }, 'gru', g).outputTensors),
  ],
  lstm: [
    single((g, _f, feed) => applyOp('lstm', [feed('x', randomTensor([3, 2, 4], 1)), feed('w', randomTensor([1, 12, 4], 2, -0.5, 0.5)), feed('r', randomTensor([1, 12, 3], 3, -0.5, 0.5)), feed('b', randomTensor([1, 24], 4, -0.3, 0.3))],
      { inputs: ['x', 'w', 'r', 'b'], hiddenSize: 3 }, 'lstm', g).outputTensors),
    single((g, _f, feed) => applyOp('lstm', [feed('x', randomTensor([3, 2, 4], 1)), feed('w', randomTensor([1, 12, 4], 2, -0.5, 0.5)), feed('r', randomTensor([1, 12, 3], 3, -0.5, 0.5)), feed('l', tensor([1, 3], [2], 'int32')), feed('h0', randomTensor([1, 2, 3], 5)), feed('c0', randomTensor([1, 2, 3], 6)), feed('p', randomTensor([1, 9], 7, -0.5, 0.5))],
      { inputs: ['x', 'w', 'r', 'sequenceLens', 'initialH', 'initialC', 'p'], hiddenSize: 3, direction: 'reverse', inputForget: true }, 'lstm', g).outputTensors),
  ],
  stridedSliceGrad: [
    single((g, _f, feed) => applyOp('stridedSliceGrad', [feed('dy', randomTensor([2, 3, 2], 1)), feed('x', x234())], { begin: [1, 2, 0], strides: [-1, -1, 2], size: [2, 3, 2] }, 'ssg', g).output(0)),
  ],
  variable: [
    () => {
      const g = new Graph();
      const v = g.variable(randomTensor([3, 4], 1), 'v');
      return { graph: g, fetches: [ops.mul(v, 2)], init: [g.globalVariablesInitializer()] };
    },
  ],
  assignAdd: [
    () => {
      const g = new Graph();
      const v = g.variable(randomTensor([3, 4], 1), 'v');
      const x = g.placeholder('float32', [4], 'x');
      return { graph: g, fetches: [ops.assignAdd(v, x)], init: [g.globalVariablesInitializer()], feeds: { x: randomTensor([4], 2) }, runs: 3 };
    },
  ],
  assignSub: [
    () => {
      const g = new Graph();
      const v = g.variable(randomTensor([3, 4], 1), 'v');
      const after = ops.assignSub(v, 0.5);
      return { graph: g, fetches: [after, v], init: [g.globalVariablesInitializer()], runs: 2 };
    },
  ],
  fusedAssign: [
    // Adam's first moment, m = b1 m + (1 - b1) g: the old value, a broadcast row and a scalar
    () => {
      const g = new Graph();
      const v = g.variable(randomTensor([3, 4], 1), 'v');
      const x = g.placeholder('float32', [4], 'x');
      const [after] = ops.fusedAssign(v, [x, g.constant(tensor([0.9], []))], [
        { op: 'mul', attrs: {}, args: [{ input: 0 }, { input: 2 }] },
        { op: 'sub', attrs: {}, args: [{ input: 2 }, { step: 0 }] },
        { op: 'mul', attrs: {}, args: [{ step: 1 }, { input: 1 }] },
        { op: 'add', attrs: {}, args: [{ step: 0 }, { step: 2 }] },
      ]);
      return { graph: g, fetches: [after, v], init: [g.globalVariablesInitializer()], feeds: { x: randomTensor([4], 2) }, runs: 3 };
    },
    // a chained update, as Adam's: m = 0.9 m + x and w -= 0.1 m (the new m) in one kernel
    () => {
      const g = new Graph();
      const w = g.variable(randomTensor([3, 4], 1), 'w');
      const m = g.variable(randomTensor([3, 4], 3), 'm');
      const x = g.placeholder('float32', [4], 'x');
      const [wNew, mNew] = ops.fusedAssign(
        w,
        [m, x, g.constant(tensor([0.9], [])), g.constant(tensor([0.1], []))],
        [
          { op: 'mul', attrs: {}, args: [{ input: 1 }, { input: 3 }] },
          { op: 'add', attrs: {}, args: [{ step: 0 }, { input: 2 }] },
          { op: 'mul', attrs: {}, args: [{ step: 1 }, { input: 4 }] },
          { op: 'sub', attrs: {}, args: [{ input: 0 }, { step: 2 }] },
        ],
        [{ input: 1, step: 1 }],
      );
      return { graph: g, fetches: [wNew, mNew, w, m], init: [g.globalVariablesInitializer()], feeds: { x: randomTensor([4], 2) }, runs: 3 };
    },
    // more inputs than one gpu.js webgpu kernel binds: a kernel per statement, then the write
    () => {
      const g = new Graph();
      const v = g.variable(randomTensor([2, 3], 1), 'v');
      const feeds: Record<string, TensorValue> = {};
      const inputs = Array.from({ length: 7 }, (_, k) => {
        feeds[`in${k}`] = randomTensor(k % 2 ? [3] : [2, 3], 10 + k);
        return g.placeholder('float32', feeds[`in${k}`].shape, `in${k}`);
      });
      const program = inputs.map((_, k) => ({ op: k % 2 ? 'mul' : 'add', attrs: {}, args: [k === 0 ? { input: 0 } : { step: k - 1 }, { input: k + 1 }] }));
      return { graph: g, fetches: ops.fusedAssign(v, inputs, program), init: [g.globalVariablesInitializer()], feeds, runs: 2 };
    },
  ],
  assign: [
    () => {
      const g = new Graph();
      const v = g.variable(randomTensor([2, 3], 1), 'v');
      const x = g.placeholder('float32', [2, 3], 'x');
      return { graph: g, fetches: [ops.assign(v, ops.mul(ops.add(v, x), 0.5))], init: [g.globalVariablesInitializer()], feeds: { x: randomTensor([2, 3], 2) }, runs: 3 };
    },
  ],
};

/** Ops covered by other cases (graph sources, control, and ops every case uses). */
export const COVERED_ELSEWHERE = new Set(['placeholder', 'const', 'noOp']);

/** Every registered op and the cases that check it. */
/** NaN, infinities and signed zeros against ordinary values, both ways round. */
const SPECIAL = tensor([NaN, Infinity, -Infinity, 0, -0, 1.5, -2, NaN, 3], [9]);
const SPECIAL_OTHER = tensor([1, NaN, 2, Infinity, -Infinity, NaN, -3, -Infinity, 3], [9]);

/** Ops whose results on NaN and infinities are tested: the ones that test for them or must propagate NaN. */
const SPECIAL_VALUE_CASES: Record<string, Build> = {
  isNaN: single((_g, _f, feed) => ops.isNaN(feed('x', SPECIAL))),
  isInf: single((_g, _f, feed) => [ops.isInf(feed('x', SPECIAL)), ops.isInf(feed('y', SPECIAL), { detectNegative: false }), ops.isInf(feed('z', SPECIAL), { detectPositive: false })]),
  maximum: single((_g, _f, feed) => ops.maximum(feed('a', SPECIAL), feed('b', SPECIAL_OTHER))),
  minimum: single((_g, _f, feed) => ops.minimum(feed('a', SPECIAL), feed('b', SPECIAL_OTHER))),
};

export function allCases(): { op: string; build: Build; variant: number }[] {
  const out: { op: string; build: Build; variant: number }[] = [];
  for (const def of registeredOps()) {
    const explicit = EXPLICIT[def.name];
    if (explicit) explicit.forEach((build, variant) => out.push({ op: def.name, build, variant }));
    else if (def.elementwise && typeof def.numInputs === 'number') {
      out.push({ op: def.name, variant: 0, build: () => elementwiseCase(def.name, false)! });
      out.push({ op: def.name, variant: 1, build: () => elementwiseCase(def.name, true)! });
    }
    const special = SPECIAL_VALUE_CASES[def.name];
    if (special) out.push({ op: def.name, variant: 2, build: special });
  }
  return out;
}

/** Registered ops with no case at all (declared-unsupported ones aside): a new op must come with one. */
export function uncoveredOps(): string[] {
  return registeredOps()
    .map((d) => d.name)
    .filter((name) => !COVERED_ELSEWHERE.has(name) && !gpujsUnsupportedReason(name) && !EXPLICIT[name] && !(getOpDef(name).elementwise && elementwiseCase(name, false)));
}
