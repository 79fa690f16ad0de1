import { SymbolicTensor } from '../../graph';
import { normalizeAxis } from '../../shape';
import type { OnnxNode } from './context';
import { Param, int64Param, param, reshapeTo, withParams } from './helpers';
import { defineOnnxOp } from './import';

/** Reductions, arg-reductions and the softmax family. */

/** The axes of a Reduce* node: an attribute before `sinceOpset` (13 for ReduceSum, 18 for the rest), an input after. */
function axesOf(n: OnnxNode, sinceOpset: number): Param {
  if (n.opset >= sinceOpset) return n.has(1) ? param(n, 1) : int64Param(n, []);
  return int64Param(n, n.attr.ints('axes', []));
}

function reduce(n: OnnxNode, op: string, x: SymbolicTensor, axes: Param, keepDims = n.attr.int('keepdims', 1) === 1): SymbolicTensor {
  return withParams(n, `onnx.${op}`, [x], [axes], { keepDims, noopWithEmptyAxes: n.attr.int('noop_with_empty_axes', 0) === 1 }).output(0);
}

const SIMPLE: [string, string, number][] = [
  ['ReduceSum', 'reduceSum', 13],
  ['ReduceMean', 'reduceMean', 18],
  ['ReduceMax', 'reduceMax', 18],
  ['ReduceMin', 'reduceMin', 18],
  ['ReduceProd', 'reduceProd', 18],
];

for (const [onnxOp, op, since] of SIMPLE) {
  defineOnnxOp(onnxOp, (n) => [reduce(n, op, n.input(0), axesOf(n, since))]);
}

defineOnnxOp('ReduceSumSquare', (n) => {
  const x = n.input(0);
  return [reduce(n, 'reduceSum', n.op('mul', [x, x]), axesOf(n, 18))];
});

defineOnnxOp('ReduceL1', (n) => [reduce(n, 'reduceSum', n.op('abs', [n.input(0)]), axesOf(n, 18))]);

defineOnnxOp('ReduceL2', (n) => {
  const x = n.input(0);
  const s = reduce(n, 'reduceSum', n.op('mul', [x, x]), axesOf(n, 18));
  return [s.dtype.startsWith('float') ? n.op('sqrt', [s]) : n.op('cast', [n.op('sqrt', [n.op('cast', [s], { dtype: 'float64' })])], { dtype: s.dtype })];
});

defineOnnxOp('ReduceLogSum', (n) => [n.op('log', [reduce(n, 'reduceSum', n.input(0), axesOf(n, 18))])]);

defineOnnxOp('ReduceLogSumExp', (n) => {
  const x = n.input(0);
  const axes = axesOf(n, 18);
  // shifted by the max so large inputs do not overflow; a max of -inf (all -inf) gives -inf, not NaN
  const shift = reduce(n, 'reduceMax', x, axes, true);
  const finiteShift = n.op('where', [n.op('isInf', [shift]), n.op('zerosLike', [shift]), shift]);
  const sum = reduce(n, 'reduceSum', n.op('exp', [n.op('sub', [x, finiteShift])]), axes);
  const back = reduce(n, 'reduceMax', finiteShift, axes);
  return [n.op('add', [n.op('log', [sum]), back])];
});

/** ArgMax/ArgMin: int64 indices, keepdims, and select_last_index (the last of equal extremes). */
function argReduce(op: string) {
  return (n: OnnxNode) => {
    let x = n.input(0);
    const axis = normalizeAxis(n.attr.int('axis', 0), x.rank, `${n.type}: `);
    const last = n.attr.int('select_last_index', 0) === 1;
    const dim = x.shape[axis];
    if (last) {
      if (dim === null) n.unsupported('select_last_index needs the reduced dimension known');
      // the first extreme of the reversed axis is the last of the original
      x = n.op('stridedSlice', [x], {
        begin: x.shape.map((_, i) => (i === axis ? dim - 1 : 0)),
        strides: x.shape.map((_, i) => (i === axis ? -1 : 1)),
        size: x.shape.map((d, i) => (i === axis ? dim : (d ?? n.unsupported('select_last_index needs every dimension known')))),
      });
    }
    let y = n.op(op, [x], { axis, outputType: 'int64' });
    if (last) y = n.op('sub', [n.constant(dim! - 1, 'int64'), y]);
    if (n.attr.int('keepdims', 1) === 1) y = n.op('expandDims', [y], { axis });
    return [y];
  };
}

defineOnnxOp('ArgMax', argReduce('argMax'));
defineOnnxOp('ArgMin', argReduce('argMin'));

/**
 * Softmax-like ops over `axis`. From opset 13 that is one axis; before, the input is viewed as a
 * matrix [prod(dims before axis), prod(dims from axis)] and normalized per row.
 */
function softmaxLike(apply: (n: OnnxNode, x: SymbolicTensor, axis: number) => SymbolicTensor) {
  return (n: OnnxNode) => {
    const x = n.input(0);
    if (n.opset >= 13) return [apply(n, x, normalizeAxis(n.attr.int('axis', -1), x.rank, `${n.type}: `))];
    const axis = normalizeAxis(n.attr.int('axis', 1), Math.max(x.rank, 1), `${n.type}: `);
    if (axis === x.rank - 1) return [apply(n, x, axis)];
    const prod = (dims: (number | null)[]) => dims.reduce<number | null>((p, d) => (p === null || d === null ? null : p * d), 1);
    const flat = reshapeTo(n, x, [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))], x);
    return [reshapeTo(n, apply(n, flat, 1), x.shape, x)];
  };
}

defineOnnxOp('Softmax', softmaxLike((n, x, axis) => n.op('softmax', [x], { axis })));
defineOnnxOp('LogSoftmax', softmaxLike((n, x, axis) => n.op('logSoftmax', [x], { axis })));
defineOnnxOp(
  'Hardmax',
  softmaxLike((n, x, axis) => {
    const depth = x.shape[axis];
    if (depth === null) n.unsupported('Hardmax needs the size of its axis known');
    const idx = n.op('argMax', [x], { axis, outputType: 'int64' });
    return n.op('oneHot', [idx], { depth, axis, onValue: 1, offValue: 0, dtype: x.dtype });
  }),
);
