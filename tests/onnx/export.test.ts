/**
 * Export: a graph built with the TS API, written with exportOnnx and run in onnxruntime-node, gives
 * the outputs graphc's own session gives. One case per op with an ONNX export rule (a test below
 * checks that none is missing), plus saveOnnx/convert round trips.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DType, Graph, Session, SymbolicTensor, TensorValue, UnsupportedOpError, exportOnnx, importOnnx, ops, registeredOps, saveOnnx, tensor, train } from 'graphc';
import { OrtRequest, compare, runInOrt, runInOrtBatch } from '../../scripts/conformance-harness';

/** Deterministic values: a linear congruential generator, so cases never depend on Math.random. */
function values(shape: number[], seed: number, lo = -2, hi = 2, dtype: DType = 'float32'): TensorValue {
  let s = seed * 2654435761 + 1;
  const n = shape.reduce((a, d) => a * d, 1);
  const data = Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    const u = s / 2147483648;
    const v = lo + u * (hi - lo);
    return dtype === 'float32' || dtype === 'float64' ? v : dtype === 'bool' ? (u < 0.5 ? 1 : 0) : Math.floor(v);
  });
  return tensor(data, shape, dtype);
}

interface Case {
  ops: string[];
  build: (g: Graph) => { outputs: SymbolicTensor[]; feeds: Record<string, TensorValue> };
  /** Wider tolerance for long float32 reductions. */
  rtol?: number;
}

function placeholder(g: Graph, feeds: Record<string, TensorValue>, name: string, v: TensorValue): SymbolicTensor {
  feeds[name] = v;
  return g.placeholder(v.dtype, v.shape, name);
}

/** One case per op: `f(x...)` over placeholders of the given values. */
function unary(op: string, fn: (x: SymbolicTensor) => SymbolicTensor, v: TensorValue = values([2, 3, 4], 1)): Case {
  return {
    ops: [op],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      return { outputs: [fn(placeholder(g, feeds, 'x', v))], feeds };
    },
  };
}

function binary(op: string, fn: (a: SymbolicTensor, b: SymbolicTensor) => SymbolicTensor, a = values([2, 3, 4], 2), b = values([3, 1], 3)): Case {
  return {
    ops: [op],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      return { outputs: [fn(placeholder(g, feeds, 'a', a), placeholder(g, feeds, 'b', b))], feeds };
    },
  };
}

const positive = values([2, 3, 4], 4, 0.1, 3);
const unit = values([2, 3, 4], 5, -0.9, 0.9);
const ints = values([2, 3, 4], 6, -20, 20, 'int32');
const nonzeroInts = tensor(Array.from(values([3, 1], 7, 1, 6, 'int32').data, (v, i) => (i % 2 ? v : -v)), [3, 1], 'int32');
const img = values([2, 6, 5, 3], 8);

const CASES: Record<string, Case> = {
  neg: unary('neg', ops.neg),
  abs: unary('abs', ops.abs),
  exp: unary('exp', ops.exp),
  log: unary('log', ops.log, positive),
  log1p: unary('log1p', ops.log1p, positive),
  expm1: unary('expm1', ops.expm1),
  sqrt: unary('sqrt', ops.sqrt, positive),
  rsqrt: unary('rsqrt', ops.rsqrt, positive),
  square: unary('square', ops.square),
  reciprocal: unary('reciprocal', ops.reciprocal, positive),
  sign: unary('sign', ops.sign),
  floor: unary('floor', ops.floor),
  ceil: unary('ceil', ops.ceil),
  round: unary('round', ops.round, tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, 1.6], [8])),
  sin: unary('sin', ops.sin),
  cos: unary('cos', ops.cos),
  tan: unary('tan', ops.tan, unit),
  asin: unary('asin', ops.asin, unit),
  acos: unary('acos', ops.acos, unit),
  atan: unary('atan', ops.atan),
  sinh: unary('sinh', ops.sinh),
  cosh: unary('cosh', ops.cosh),
  asinh: unary('asinh', ops.asinh),
  acosh: unary('acosh', ops.acosh, values([2, 3], 9, 1.1, 4)),
  atanh: unary('atanh', ops.atanh, unit),
  tanh: unary('tanh', ops.tanh),
  sigmoid: unary('sigmoid', ops.sigmoid),
  relu: unary('relu', ops.relu),
  relu6: unary('relu6', ops.relu6, values([2, 3, 4], 10, -3, 9)),
  leakyRelu: unary('leakyRelu', (x) => ops.leakyRelu(x, 0.1)),
  elu: unary('elu', (x) => ops.elu(x, 0.7)),
  selu: unary('selu', ops.selu),
  celu: unary('celu', (x) => ops.celu(x, 1.3)),
  softplus: unary('softplus', ops.softplus),
  softsign: unary('softsign', ops.softsign),
  erf: unary('erf', ops.erf),
  gelu: unary('gelu', (x) => ops.add(ops.gelu(x), ops.gelu(x, true))),
  hardSigmoid: unary('hardSigmoid', (x) => ops.hardSigmoid(x, 0.3, 0.4)),
  hardSwish: unary('hardSwish', ops.hardSwish, values([2, 3, 4], 11, -5, 5)),
  thresholdedRelu: unary('thresholdedRelu', (x) => ops.thresholdedRelu(x, 0.5)),
  shrink: unary('shrink', (x) => ops.shrink(x, 0.5, 0.2)),
  isNaN: unary('isNaN', ops.isNaN, tensor([NaN, 1, -Infinity, 0], [4])),
  isInf: unary('isInf', (x) => ops.logicalOr(ops.isInf(x), ops.isInf(x, { detectNegative: false })), tensor([NaN, 1, -Infinity, Infinity], [4])),
  logicalNot: unary('logicalNot', ops.logicalNot, values([5], 12, 0, 1, 'bool')),
  roundFloat: unary('roundFloat', (x) => ops.roundFloat(x, 'float16'), values([10], 13, -1000, 1000)),
  cast: unary('cast', (x) => ops.add(ops.cast(ops.cast(x, 'int32'), 'float32'), ops.cast(ops.cast(x, 'bool'), 'float32')), tensor([-1.7, -0.2, 0, 0.3, 2.9, NaN], [6])),
  identity: unary('identity', ops.identity),
  stopGradient: unary('stopGradient', ops.stopGradient),
  dropout: unary('dropout', (x) => ops.dropout(x, 0)),
  clip: unary('clip', (x) => ops.add(ops.clip(x, -0.5, 1), ops.clip(x, tensor([-1, 0, -2, 0.5], [4]), 1))),
  add: binary('add', ops.add),
  sub: binary('sub', ops.sub),
  mul: binary('mul', ops.mul),
  div: binary('div', ops.div),
  floorDiv: {
    ops: ['floorDiv'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const a = placeholder(g, feeds, 'a', values([2, 3, 4], 14));
      const b = placeholder(g, feeds, 'b', values([3, 1], 15, 0.5, 2));
      const ia = placeholder(g, feeds, 'ia', ints);
      const ib = placeholder(g, feeds, 'ib', nonzeroInts);
      return { outputs: [ops.floorDiv(a, b), ops.floorDiv(ia, ib)], feeds };
    },
  },
  pow: binary('pow', ops.pow, positive, values([4], 16, -2, 2)),
  maximum: binary('maximum', ops.maximum),
  minimum: binary('minimum', ops.minimum),
  mod: {
    ops: ['mod', 'fmod'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const a = placeholder(g, feeds, 'a', values([2, 3, 4], 17, -5, 5));
      const b = placeholder(g, feeds, 'b', values([3, 1], 18, 0.5, 2));
      const ia = placeholder(g, feeds, 'ia', ints);
      const ib = placeholder(g, feeds, 'ib', nonzeroInts);
      return { outputs: [ops.mod(a, b), ops.mod(ia, ib), ops.fmod(a, b), ops.fmod(ia, ib)], feeds };
    },
  },
  bitShift: binary('bitShift', (a, b) => ops.add(ops.bitShift(a, b, 'left'), ops.bitShift(a, b, 'right')), values([6], 19, 0, 100, 'int32'), values([6], 20, 0, 4, 'int32')),
  squaredDifference: binary('squaredDifference', ops.squaredDifference),
  // ScatterND's add, max and min (opset 18), with a dropped negative id and an empty segment
  unsortedSegments: {
    ops: ['scatterNd', 'where', 'less', 'maximum'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([5, 3], 21));
      const ids = placeholder(g, feeds, 'ids', tensor([2, 0, -1, 2, 0], [5], 'int64'));
      return { outputs: [ops.unsortedSegmentSum(x, ids, 4), ops.unsortedSegmentMax(x, ids, 4), ops.unsortedSegmentMin(x, ids, 4), ops.unsortedSegmentMean(x, ids, 4)], feeds };
    },
  },
  // the four quadrants, both axes and the origin, broadcast [3, 3] against [3]
  atan2: binary('atan2', ops.atan2, tensor([0.5, 0, 0, 2, -2, 0, 0, -1.5, 1e-3], [3, 3]), tensor([-1, 0, 0.7], [3])),
  compare: {
    ops: ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr', 'where'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const a = placeholder(g, feeds, 'a', values([4, 3], 21, -2, 2, 'int32'));
      const b = placeholder(g, feeds, 'b', values([3], 22, -2, 2, 'int32'));
      const any = ops.logicalOr(ops.logicalAnd(ops.less(a, b), ops.lessEqual(a, b)), ops.logicalAnd(ops.greater(a, b), ops.greaterEqual(a, b)));
      return { outputs: [ops.where(ops.logicalOr(any, ops.equal(a, b)), a, b), ops.notEqual(a, b)], feeds };
    },
  },
  matmul: {
    ops: ['matmul'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const a = placeholder(g, feeds, 'a', values([2, 3, 4], 23));
      const b = placeholder(g, feeds, 'b', values([5, 4], 24));
      return { outputs: [ops.matmul(a, b, { transposeB: true }), ops.matmul(a, a, { transposeA: true })], feeds };
    },
  },
  matmulNBits: {
    // 4 bits, k = 40 past its last block of 16 (written as a MatMul of the dequantized weights)
    ops: ['matmulNBits'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const a = placeholder(g, feeds, 'a', values([2, 3, 40], 60));
      const packed = g.constant(values([5, 6], 61, -(2 ** 31), 2 ** 31 - 1, 'int32'));
      const scales = g.constant(values([5, 3], 62, 0.01, 0.2));
      const zeroPoints = g.constant(tensor(Array.from({ length: 15 }, (_, i) => (i * 7) % 16), [5, 3]));
      const y = ops.matmulNBits(a, packed, scales, zeroPoints, { bits: 4, blockSize: 16, k: 40 });
      // and W^T (the gradient's product) of y: [2, 3, 5] back to [2, 3, 40]
      return { outputs: [y, ops.matmulNBits(y, packed, scales, zeroPoints, { bits: 4, blockSize: 16, k: 40, transposeW: true })], feeds };
    },
  },
  fill: {
    ops: ['fill', 'zerosLike', 'onesLike', 'range'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([2, 3], 25));
      const r = ops.range(0, 6, 1, 'float32', { graph: g });
      return { outputs: [ops.add(ops.add(ops.fill([2, 3], 7, 'float32', { graph: g }), ops.zerosLike(x)), ops.onesLike(x)), ops.range(1, 2, 0.25, 'float32', { graph: g }), ops.reshape(r, [2, 3])], feeds };
    },
  },
  shapes: {
    ops: ['reshape', 'expandDims', 'squeeze', 'transpose', 'expand', 'shapeOf', 'concat', 'split', 'tile'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([2, 3, 4], 26));
      const e = ops.expandDims(ops.reshape(x, [6, 4]), 1);
      const [p, q] = ops.split(x, [1, -1], 1);
      const [u, v] = ops.split(x, 2, 2);
      return {
        outputs: [
          ops.squeeze(e, [1]),
          ops.transpose(x, [2, 0, 1]),
          ops.expand(ops.reshape(x, [2, 1, 3, 4]), [2, 5, 3, 4]),
          ops.shapeOf(x),
          ops.concat([p, q, p], 1),
          ops.add(u, v),
          ops.tile(x, [1, 2, 1]),
        ],
        feeds,
      };
    },
  },
  slicing: {
    ops: ['slice', 'stridedSlice', 'gather', 'gatherElements', 'gatherNd', 'scatterElements', 'scatterNd', 'oneHot', 'pad'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([4, 5], 27));
      const i = placeholder(g, feeds, 'i', tensor([3, 0, -1, 2], [4], 'int32'));
      const ie = placeholder(g, feeds, 'ie', tensor([0, 4, 1, 1, 2, 0, 3, 3], [4, 2], 'int64'));
      const ind = placeholder(g, feeds, 'ind', tensor([1, 2, 3, 0], [2, 2], 'int64'));
      return {
        outputs: [
          ops.slice(x, [1, 2], [2, -1]),
          ops.stridedSlice(x, [3, 4], [-1, -2], [4, 3]),
          ops.gather(x, i, 1),
          ops.gatherElements(x, ie, 1),
          ops.gatherNd(x, ind),
          ops.scatterElements(x, ie, ops.slice(x, [0, 0], [4, 2]), 1, 'add'),
          ops.scatterNd(x, tensor([[2], [0]], [2, 1], 'int64'), ops.slice(x, [1, 0], [2, 5])),
          ops.oneHot(i, 5, 2, -1),
          ops.add(ops.pad(x, [[1, 2], [0, 1]], 3), ops.pad(x, [[1, 2], [0, 1]], 0, 'reflect')),
          ops.pad(x, [[5, 0], [2, 6]], 0, 'edge'),
          ops.pad(x, [[5, 0], [2, 11]], 0, 'wrap'),
          ops.pad(ops.reshape(x, [-1, 5]), [[0, 0], [1, 3]], 0, 'wrap'),
        ],
        feeds,
      };
    },
  },
  misc: {
    ops: ['trilu', 'topK', 'nonZero', 'reverseSequence', 'cumSum', 'einsum', 'det'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([3, 4, 4], 28));
      const [tv, ti] = ops.topK(x, 3, 1, false);
      return {
        outputs: [
          ops.add(ops.triu(x, 1), ops.tril(x, -1)),
          tv,
          ti,
          ops.nonZero(ops.greater(x, 0.5)),
          ops.reverseSequence(x, tensor([4, 1, 2], [3], 'int32'), 1, 0),
          ops.cumSum(x, 2, { exclusive: true, reverse: true }),
          ops.einsum('bij,bjk->bik', x, x),
          ops.det(x),
        ],
        feeds,
      };
    },
  },
  customGradient: unary('customGradient', (x) => ops.customGradient((v) => ({ value: ops.sigmoid(v), gradient: (dy) => dy }))(x)),
  linalg: {
    ops: ['matrixSolve', 'matrixTriangularSolve'],
    rtol: 1e-3,
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const eye = (n: number, v: number) => g.constant(tensor(Array.from({ length: n * n }, (_, e) => (e % (n + 1) === 0 ? v : 0)), [n, n]));
      const a = ops.add(placeholder(g, feeds, 'a', values([2, 4, 4], 80, -1, 1)), eye(4, 6));
      const b = placeholder(g, feeds, 'b', values([2, 4, 3], 81));
      const one = placeholder(g, feeds, 'one', values([3, 1, 1], 82, 1, 2));
      return {
        outputs: [
          ops.matrixSolve(a, b),
          ops.matrixSolve(a, b, { adjoint: true }),
          ops.matrixInverse(a),
          ops.matrixSolve(one, one),
          ops.matrixTriangularSolve(a, b),
          ops.matrixTriangularSolve(a, b, { lower: false, adjoint: true }),
        ],
        feeds,
      };
    },
  },
  reduce: {
    ops: ['reduceSum', 'reduceMean', 'reduceMax', 'reduceMin', 'reduceProd', 'argMax', 'argMin'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([3, 4, 5], 29, 0.5, 1.5));
      return {
        outputs: [ops.reduceSum(x, [0, 2]), ops.reduceMean(x, 1, true), ops.reduceMax(x), ops.reduceMin(x, -1), ops.reduceProd(x, 0), ops.argMax(x, 1), ops.argMin(x, 2, 'int32')],
        feeds,
      };
    },
  },
  softmax: unary('softmax', (x) => ops.add(ops.softmax(x), ops.logSoftmax(x, 1))),
  logSoftmax: unary('logSoftmax', (x) => ops.logSoftmax(x, 0)),
  nhwc: {
    ops: ['conv2d', 'depthwiseConv2d', 'maxPool', 'avgPool', 'batchNorm'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', img);
      const w = g.variable(values([3, 3, 3, 4], 30), 'w');
      const wv = placeholder(g, feeds, 'wv', values([2, 2, 3, 4], 31));
      const dw = g.constant(values([3, 2, 3, 2], 32), 'dw');
      const bn = ops.batchNorm(x, values([3], 33), values([3], 34, 0.5, 2), values([3], 35), values([3], 36), 1e-3);
      return {
        outputs: [
          ops.conv2d(x, w, 1, 'SAME'),
          ops.conv2d(x, wv, [2, 1], [[1, 0], [0, 1]], { dilations: [1, 2] }),
          ops.depthwiseConv2d(x, dw, 2, 'SAME'),
          ops.maxPool(x, 2, 2, 'SAME'),
          ops.avgPool(x, [3, 2], 1, 'SAME'),
          // SAME where onnxruntime's auto_pad differs: a dilated window (refused there) and a
          // stride longer than the window (negative pads there): exported as explicit pads
          ops.conv2d(x, wv, 1, 'SAME', { dilations: 2 }),
          ops.maxPool(x, 1, 3, 'SAME'),
          ops.avgPool(x, 1, [3, 2], 'SAME'),
          bn,
        ],
        feeds,
      };
    },
  },
  nchw: {
    ops: ['convNchw', 'convTransposeNchw', 'maxPoolNchw', 'avgPoolNchw', 'lpPoolNchw', 'lrnNchw', 'resize'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([2, 4, 6, 5], 37));
      const w = g.constant(values([6, 2, 3, 3], 38), 'w');
      const b = g.constant(values([6], 39), 'b');
      const wt = g.constant(values([4, 3, 2, 3], 40), 'wt');
      const pool = g.addNode('maxPoolNchw', [x], { kernel: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1], withIndices: true, ceilMode: true });
      return {
        outputs: [
          ops.convNchw(x, w, b, { pads: [1, 1, 1, 1], group: 2, strides: [1, 2] }),
          ops.convTransposeNchw(x, wt, null, { strides: [2, 2], pads: [0, 1, 1, 0], outputPadding: [1, 0] }),
          pool.output(0),
          pool.output(1),
          ops.avgPoolNchw(x, [2, 2], { pads: [1, 1, 0, 0], countIncludePad: true }),
          g.addNode('lpPoolNchw', [x], { kernel: [2, 3], p: 3 }).output(),
          ops.lrnNchw(x, 3, 1e-3, 0.75, 2),
          ops.resize(x, [2, 4, 9, 10], { mode: 'linear' }),
          ops.resize(x, [2, 4, 4, 8], { mode: 'cubic', coordinateTransformationMode: 'align_corners' }),
          ops.resize(x, [2, 4, 12, 10], { mode: 'nearest', nearestMode: 'floor', coordinateTransformationMode: 'asymmetric' }),
        ],
        feeds,
      };
    },
  },
  norms: {
    ops: ['layerNorm', 'rmsNorm', 'nllLoss', 'softmaxCrossEntropyWithLogits', 'sparseSoftmaxCrossEntropyWithLogits', 'sigmoidCrossEntropyWithLogits'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([3, 4, 5], 41));
      const labels = placeholder(g, feeds, 'labels', tensor([0, 4, 2, 1, 3, 3, 0, 2, 1, 4, 4, 0], [3, 4], 'int32'));
      const logp = ops.logSoftmax(ops.transpose(x, [0, 2, 1]), 1);
      const ln = g.addNode('layerNorm', [x, g.constant(values([5], 42)), g.constant(values([4, 5], 43))], { axis: 1, epsilon: 1e-5 });
      const rms = g.addNode('rmsNorm', [x, g.constant(values([5], 45))], { axis: 1, epsilon: 1e-3 });
      return {
        outputs: [
          ln.output(0),
          ln.output(1),
          ln.output(2),
          rms.output(0),
          rms.output(1),
          ops.nllLoss(logp, labels, values([5], 44, 0.5, 1.5), { reduction: 'mean', ignoreIndex: 3 }),
          ops.softmaxCrossEntropyWithLogits(ops.softmax(x), x),
          ops.sparseSoftmaxCrossEntropyWithLogits(labels, x),
          ops.sigmoidCrossEntropyWithLogits(ops.sigmoid(x), x),
        ],
        feeds,
      };
    },
  },
  recurrent: {
    ops: ['lstm', 'gru', 'rnn'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([5, 2, 3], 45));
      const c = (shape: number[], seed: number) => g.constant(values(shape, seed, -0.5, 0.5));
      const lens = g.constant(tensor([5, 3], [2], 'int32'));
      const lstm = g.addNode('lstm', [x, c([2, 16, 3], 46), c([2, 16, 4], 47), c([2, 32], 48), lens], { inputs: ['x', 'w', 'r', 'b', 'sequenceLens'], hiddenSize: 4, direction: 'bidirectional' });
      const gru = g.addNode('gru', [x, c([1, 12, 3], 49), c([1, 12, 4], 50), c([1, 24], 51)], { inputs: ['x', 'w', 'r', 'b'], hiddenSize: 4, linearBeforeReset: true, direction: 'reverse' });
      const xb = ops.transpose(x, [1, 0, 2]);
      const rnn = g.addNode('rnn', [xb, c([1, 4, 3], 52), c([1, 4, 4], 53)], { inputs: ['x', 'w', 'r'], hiddenSize: 4, layout: 1, activations: ['Relu'] });
      return { outputs: [...lstm.outputTensors, ...gru.outputTensors, ...rnn.outputTensors], feeds };
    },
  },
  nonMaxSuppression: {
    ops: ['nonMaxSuppression'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      // two overlapping clusters and a far box, two classes; corners given in either order
      const boxes = placeholder(g, feeds, 'boxes', tensor([0, 0, 1, 1, 0.1, 0.05, 1.1, 1, 1, 1, 0, 0, 5, 5, 6, 6.5, 5.2, 5.1, 6.1, 6.4, 10, 10, 10.5, 10.2], [1, 6, 4]));
      const scores = placeholder(g, feeds, 'scores', tensor([0.9, 0.8, 0.3, 0.7, 0.75, 0.05, 0.1, 0.6, 0.6, 0.2, 0.95, 0.4], [1, 2, 6]));
      return {
        outputs: [
          ops.nonMaxSuppression(boxes, scores, 3, 0.5, { scoreThreshold: 0.1 }),
          ops.nonMaxSuppression(ops.concat([ops.slice(boxes, [0, 0, 0], [1, 6, 2]), ops.slice(boxes, [0, 0, 2], [1, 6, 2])], 2), scores, 10, 0.2, { centerPointBox: true }),
        ],
        feeds,
      };
    },
  },
  gridSample: {
    ops: ['gridSample'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([2, 3, 5, 4], 60));
      const grid = placeholder(g, feeds, 'grid', values([2, 3, 4, 2], 61, -1.2, 1.2));
      return {
        outputs: [
          ops.gridSample(x, grid),
          ops.gridSample(x, grid, { mode: 'nearest', paddingMode: 'border', alignCorners: true }),
          ops.gridSample(x, grid, { mode: 'cubic', paddingMode: 'reflection' }),
        ],
        feeds,
      };
    },
  },
  maxUnpool: {
    ops: ['maxUnpool'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([1, 2, 2, 2], 62));
      const indices = g.constant(tensor([0, 3, 9, 14, 16, 19, 26, 31], [1, 2, 2, 2], 'int64'), 'argmax');
      // unpooled to [1, 2, 4, 4]; then padded with zeros to [1, 2, 5, 6]
      return { outputs: [ops.maxUnpool(x, indices, [1, 2, 4, 4]), ops.maxUnpool(x, indices, [1, 2, 5, 6], [1, 2, 4, 4])], feeds };
    },
  },
  roiAlign: {
    ops: ['roiAlign'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([2, 3, 6, 7], 63));
      // inside, partly outside (samples past a pixel outside read 0), reversed corners, smaller than a pixel
      const rois = placeholder(g, feeds, 'rois', tensor([0.3, 0.7, 5.2, 4.9, -2.3, 3.1, 3.4, 8.6, 4.1, 5.3, 1.2, 0.6, 2.2, 2.4, 2.6, 2.7], [4, 4]));
      const batch = placeholder(g, feeds, 'batch', tensor([1, 0, 1, 0], [4], 'int32'));
      return {
        outputs: [
          ops.roiAlign(x, rois, batch, { outputHeight: 3, outputWidth: 2, samplingRatio: 2 }),
          ops.roiAlign(x, rois, batch, { outputHeight: 2, outputWidth: 3, coordinateTransformationMode: 'output_half_pixel', spatialScale: 0.7 }),
          ops.roiAlign(x, rois, batch, { mode: 'max', outputHeight: 2, outputWidth: 2, samplingRatio: 3 }),
          ops.roiAlign(x, rois, batch, { mode: 'max', outputHeight: 3, outputWidth: 3, coordinateTransformationMode: 'output_half_pixel', spatialScale: 1.3 }),
        ],
        feeds,
      };
    },
  },
  unique: {
    ops: ['unique'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', tensor([2, 1, 1, 3, 4, 3, 2, 1, 1, 3, 4, 3], [4, 3]));
      const k = placeholder(g, feeds, 'k', tensor([5, -1, 5, 0, 7, -1], [6], 'int32'));
      return { outputs: [...ops.unique(x), ...ops.unique(x, { axis: 0 }), ...ops.unique(x, { axis: -1, sorted: false }), ...ops.unique(k, { sorted: false })], feeds };
    },
  },
  tfIdfVectorizer: {
    ops: ['tfIdfVectorizer'],
    build: (g) => {
      // a small vocabulary, so n-grams recur: seeded tokens and pools of 1- to 3-grams
      let state = 7;
      const next = (n: number) => ((state = (state * 1103515245 + 12345) % 2147483648), state % n);
      const feeds: Record<string, TensorValue> = {};
      const rows = placeholder(g, feeds, 'rows', tensor(Array.from({ length: 4 * 30 }, () => next(5)), [4, 30], 'int32'));
      const line = placeholder(g, feeds, 'line', tensor(Array.from({ length: 40 }, () => next(4)), [40], 'int64'));
      const distinct = new Map<string, number[]>();
      for (let k = 0; distinct.size < 12; k++) {
        const gram = Array.from({ length: 1 + (k % 3) }, () => next(5));
        distinct.set(gram.join(), gram);
      }
      const ngrams = [...distinct.values()];
      const weights = ngrams.map(() => 0.25 + next(8) / 4);
      const shuffled = ngrams.map((_, k) => (k * 5) % 12); // a permutation: each n-gram its own output
      return {
        outputs: [
          ops.tfIdfVectorizer(rows, { ngrams, maxSkipCount: 2 }),
          ops.tfIdfVectorizer(rows, { ngrams, indexes: ngrams.map((_, k) => k % 5), mode: 'TFIDF', weights, minGramLength: 2, maxSkipCount: 1 }),
          ops.tfIdfVectorizer(line, { ngrams, indexes: shuffled, mode: 'IDF', weights, maxSkipCount: 3 }),
        ],
        feeds,
      };
    },
  },
  dynamicAttrs: {
    ops: ['dynamicAttrs'],
    build: (g) => {
      const feeds: Record<string, TensorValue> = {};
      const x = placeholder(g, feeds, 'x', values([2, 3, 4], 54));
      const shape = placeholder(g, feeds, 'shape', tensor([4, 0, -1], [3], 'int64'));
      const axes = placeholder(g, feeds, 'axes', tensor([1], [1], 'int64'));
      return {
        outputs: [
          g.addNode('dynamicAttrs', [x, shape], { rule: 'onnx.Reshape', numData: 1 }).output(),
          g.addNode('dynamicAttrs', [x, axes], { rule: 'onnx.reduceSum', numData: 1, keepDims: false }).output(),
        ],
        feeds,
      };
    },
  },
};

/** Ops whose values come from a random generator: exported with the same distribution, checked by shape and range. */
const RANDOM = ['randomUniform', 'randomNormal', 'multinomial'];
/** Optimizer-made ops, checked on an optimized graph below. */
const FUSED = ['fusedElementwise', 'fusedMatmul', 'fusedConv2d', 'fusedDepthwiseConv2d'];
/** Gradient helpers exported for completeness, exercised through the model below. */
const SHAPE_OF_OPS = ['reshapeToShapeOf', 'broadcastToShapeOf'];

interface Prepared {
  outputs: SymbolicTensor[];
  ours: TensorValue[];
  request: OrtRequest;
}

/** Builds a case, runs it in graphc and exports it (onnxruntime runs every case at once, below). */
async function prepare(c: Case): Promise<Prepared> {
  const g = new Graph();
  const { outputs, feeds } = c.build(g);
  const session = new Session(g, { optimize: 0 });
  await session.run(g.globalVariablesInitializer());
  const ours = await session.run(outputs, feeds);
  const variables = new Map(await Promise.all(g.variables().map(async (v) => [v.name, await session.variables.read(v.name)] as [string, TensorValue])));
  const bytes = exportOnnx(g, { outputs: outputs.map((o) => o.name), variables });
  return { outputs, ours, request: { bytes, feeds, outputs: outputs.map((o) => o.name) } };
}

const prepared = new Map<string, Prepared | Error>();
const answers = new Map<string, TensorValue[] | Error>();

beforeAll(async () => {
  for (const [name, c] of Object.entries(CASES)) prepared.set(name, await prepare(c).catch((e: Error) => e));
  const ready = [...prepared].filter((e): e is [string, Prepared] => !(e[1] instanceof Error));
  const replies = runInOrtBatch(ready.map(([, p]) => p.request));
  ready.forEach(([name], i) => answers.set(name, replies[i]));
}, 120000);

function check(name: string, rtol = 1e-4): void {
  const p = prepared.get(name)!;
  if (p instanceof Error) throw p;
  const theirs = answers.get(name)!;
  if (theirs instanceof Error) throw theirs;
  p.outputs.forEach((o, k) => {
    const problem = compareLoose(p.ours[k], theirs[k], rtol);
    if (problem) throw new Error(`output ${k} (${o.name}, ${o.node.op}): ${problem}`);
  });
}

function compareLoose(ours: TensorValue, theirs: TensorValue, rtol: number): string | undefined {
  if (ours.dtype !== theirs.dtype) return `dtype ${theirs.dtype} from onnxruntime, ${ours.dtype} from graphc`;
  if (ours.shape.join() !== theirs.shape.join()) return `shape [${theirs.shape}] from onnxruntime, [${ours.shape}] from graphc`;
  for (let i = 0; i < ours.data.length; i++) {
    const a = ours.data[i];
    const b = theirs.data[i];
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (!(Math.abs(a - b) <= 1e-5 + rtol * Math.abs(a)) && a !== b) return `value ${b} from onnxruntime, ${a} from graphc at ${i}`;
  }
  return undefined;
}

describe('ONNX export runs in onnxruntime with graphc outputs', () => {
  for (const [name, c] of Object.entries(CASES)) {
    test(`${name} (${c.ops.join(', ')})`, () => check(name, c.rtol));
  }

  test('every op with an export rule has a case', () => {
    // whileLoop and cond: exported as Loop and If and run in onnxruntime by tests/onnx/runtime-control-flow.test.ts
    const covered = new Set([...Object.values(CASES).flatMap((c) => c.ops), ...RANDOM, ...FUSED, ...SHAPE_OF_OPS, 'whileLoop', 'cond']);
    const exportable = registeredOps().filter((d) => d.onnx).map((d) => d.name);
    expect(exportable.filter((op) => !covered.has(op))).toEqual([]);
  });

  test('random sources keep their shape, dtype and range', async () => {
    const g = new Graph();
    const u = ops.randomUniform([200], -1, 3, 'float32', 5, { graph: g });
    const k = ops.randomUniform([200], 1, 7, 'int32', 6, { graph: g });
    const nrm = ops.randomNormal([2000], 10, 0.5, 'float32', 7, { graph: g });
    const [a, b, c] = await runInOrt(exportOnnx(g, { outputs: [u.name, k.name, nrm.name] }), {}, [u.name, k.name, nrm.name]);
    expect(a.shape).toEqual([200]);
    expect(Math.min(...a.data)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...a.data)).toBeLessThan(3);
    expect(b.dtype).toBe('int32');
    expect([...new Set(b.data)].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    const mean = Array.from(c.data).reduce((s, v) => s + v, 0) / c.data.length;
    expect(Math.abs(mean - 10)).toBeLessThan(0.1);
  });

  test('multinomial exports as Multinomial: its dtype, shape and class frequencies in onnxruntime', async () => {
    const g = new Graph();
    const feeds: Record<string, TensorValue> = {};
    const logits = placeholder(g, feeds, 'logits', tensor([Math.log(0.7), Math.log(0.2), Math.log(0.1), 0, -Infinity, 0], [2, 3]));
    const draws = ops.multinomial(logits, 5000, { dtype: 'int64', seed: 4 });
    const [d] = await runInOrt(exportOnnx(g, { outputs: [draws.name] }), feeds, [draws.name]);
    expect(d.dtype).toBe('int64');
    expect(d.shape).toEqual([2, 5000]);
    const share = (row: number, k: number): number => Array.from(d.data.slice(row * 5000, row * 5000 + 5000)).filter((v) => v === k).length / 5000;
    [0.7, 0.2, 0.1].forEach((p, k) => expect(Math.abs(share(0, k) - p)).toBeLessThan(0.03));
    expect(share(1, 1)).toBe(0);
    expect(Math.abs(share(1, 0) - 0.5)).toBeLessThan(0.03);
  });

  test('an optimized graph (fused ops) exports to the same outputs', async () => {
    const { optimizeGraph } = await import('graphc');
    const { evaluateNode } = await import('graphc');
    const g = new Graph();
    const feeds: Record<string, TensorValue> = {};
    const x = placeholder(g, feeds, 'x', values([2, 5, 5, 3], 55));
    const w = g.constant(values([3, 3, 3, 4], 56), 'w');
    const dw = g.constant(values([3, 3, 4, 1], 57), 'dw');
    const h = ops.relu(ops.add(ops.conv2d(x, w, 1, 'SAME'), g.constant(values([4], 58))));
    const d = ops.sigmoid(ops.depthwiseConv2d(h, dw, 1, 'VALID'));
    const flat = ops.reshape(d, [2, 36]);
    const y = ops.tanh(ops.add(ops.matmul(flat, g.constant(values([36, 6], 59))), g.constant(values([6], 60))));
    const out = ops.mul(ops.exp(ops.neg(y)), 2);
    const { graph } = optimizeGraph(g, { level: 2, keep: new Set(['x', out.node.name]), evaluate: evaluateNode });
    const fused = graph.nodes.filter((n) => n.op.startsWith('fused')).map((n) => n.op);
    expect(fused.length).toBeGreaterThan(0);
    const expected = (await new Session(g, { optimize: 0 }).run([out], feeds))[0];
    const [got] = await runInOrt(exportOnnx(graph, { outputs: [out.node.name] }), feeds, [out.node.name]);
    expect(compareLoose(expected, got, 1e-4)).toBeUndefined();
  });

  test('a fetched convolution also read by other ops comes back from ONNX whole at every level', async () => {
    // imported, it is transpose(Conv(transpose(x))); simplify turns that into an NHWC conv2d, and a
    // declined rewrite of the fetched node once left its filter transpose holding the node's name
    const g = new Graph();
    const feeds: Record<string, TensorValue> = {};
    const x = placeholder(g, feeds, 'x', values([1, 1, 1, 1], 61));
    const s = placeholder(g, feeds, 's', values([], 62, 1, 2));
    const y = ops.conv2d(x, g.constant(values([3, 3, 1, 3], 63)), 1, 'SAME', { dilations: 2 });
    const z = ops.div(y, s);
    const names = [y.name, z.name];
    const want = await new Session(g, { optimize: 0 }).run(names, feeds);
    const back = importOnnx(exportOnnx(g, { outputs: names }));
    for (const level of [0, 1, 2, 3] as const) {
      const got = await new Session(back.graph, { optimize: level }).run(back.signature.outputs, feeds);
      got.forEach((v, i) => expect({ level, i, diff: compareLoose(want[i], v, 1e-6) }).toEqual({ level, i, diff: undefined }));
    }
  });

  test('a trained model saves with its trained weights (saveOnnx with a session)', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 3], 'x');
    const y = g.placeholder('float32', [null, 1], 'y');
    const w = g.variable(values([3, 1], 61), 'w');
    const pred = ops.matmul(x, w, {}, 'pred');
    const like = ops.reshapeToShapeOf(pred, y);
    const loss = ops.mean(ops.square(ops.sub(like, y)));
    const step = new train.SGD(0.1).minimize(loss);
    const s = new Session(g);
    await s.run(g.globalVariablesInitializer());
    const xs = values([8, 3], 62);
    const ys = values([8, 1], 63);
    for (let i = 0; i < 5; i++) await s.run(step, { x: xs, y: ys });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-onnx-')), 'm.onnx');
    await saveOnnx(g, file, { session: s, outputs: ['pred'] });
    const [ours] = await s.run([pred], { x: xs });
    const [theirs] = await runInOrt(fs.readFileSync(file), { x: xs }, ['pred']);
    expect(compareLoose(ours, theirs, 1e-5)).toBeUndefined();
    const untrained = await new Session(g).run([pred], { x: xs }).catch((e: Error) => e);
    expect(untrained).toBeInstanceOf(Error); // the variables of a fresh session are uninitialized: the file holds the trained ones
    const back = importOnnx(fs.readFileSync(file));
    expect(back.graph.nodes.filter((n) => n.op === 'const').map((n) => n.name)).toContain('w');
  });

  test('ops without an ONNX form are listed in one UnsupportedOpError', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4], 'x');
    const v = g.variable(tensor([1, 2, 3, 4], [4]), 'v');
    const a = ops.assignAdd(v, x);
    const p = ops.pad(x, [[1, 1]], 0, 'symmetric');
    expect(() => exportOnnx(g, { outputs: [a.name] })).toThrow(UnsupportedOpError);
    try {
      exportOnnx(g, { outputs: [a.name] });
    } catch (e) {
      expect((e as UnsupportedOpError).ops).toEqual(['assignAdd']);
    }
    expect(() => exportOnnx(g, { outputs: [p.name] })).toThrow(/symmetric/);
  });

  test('results agree with the conformance comparison', () => {
    expect(compare(tensor([1, 2], [2]), tensor([1, 2.0001], [2]))).toBeUndefined();
    expect(compare(tensor([1, 2], [2]), tensor([1, 2.01], [2]))).toMatch(/flat index 1/);
  });
});
