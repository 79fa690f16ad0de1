import { DType, isFloat, isInteger } from '../../dtype';
import { UnsupportedOpError } from '../../errors';
import { instantiateFunction } from '../../function';
import { AttrValue, Graph, Node, SymbolicTensor } from '../../graph';
import type { Attrs } from '../../opdef';
import { anchorInputCount, anchorOf } from '../../ops/fused/anchors';
import { NBitsLayout, nbitsColumn, nbitsLayout } from '../../ops/math/matmul-nbits';
import { window2d } from '../../ops/nn/conv-util';
import { FusedProgram, programOf } from '../../ops/fused/program';
import { getOpDef } from '../../registry';
import { hasOp } from '../../registry';
import { SELU_ALPHA, SELU_SCALE } from '../../scalar-helpers';
import { shapeToString } from '../../shape';
import { TensorValue, tensor } from '../../tensor';
import { reachableNodes } from '../../transform';
import { ExportContext, OnnxAttr, float, floats, int, ints, setOnnxExport, str } from './export-context';
import { GraphProto, ValueInfoProto } from './proto';
import { DTYPE_TO_ONNX, tensorToProto } from './tensor';

/**
 * How each graphc op is written as ONNX (opset 18). Ops ONNX has map one to one; the rest are short
 * compositions. NHWC ops (conv2d, depthwiseConv2d, pools) are wrapped in transposes to ONNX's NCHW,
 * with constant filters transposed here rather than by a node.
 */

const INT64_MAX = 2 ** 63;

function when(op: string | string[], rule: Parameters<typeof setOnnxExport>[1]): void {
  // ops of other families may not be registered in every build: attach to those that are
  for (const o of Array.isArray(op) ? op : [op]) if (hasOp(o)) setOnnxExport(o, rule);
}

const same = (onnxOp: string, attrs: (n: Node) => Record<string, OnnxAttr | undefined> = () => ({})) => (ctx: ExportContext, n: Node) =>
  ctx.emitOut(onnxOp, n.inputs.map((_, i) => ctx.input(i)), attrs(n));

const num = (n: Node, key: string, fallback: number): number => (typeof n.attrs[key] === 'number' ? (n.attrs[key] as number) : fallback);

// ---- pointwise -------------------------------------------------------------------------------

const ONE_TO_ONE: Record<string, string> = {
  neg: 'Neg', abs: 'Abs', exp: 'Exp', log: 'Log', sqrt: 'Sqrt', reciprocal: 'Reciprocal', sign: 'Sign', floor: 'Floor', ceil: 'Ceil',
  round: 'Round', sin: 'Sin', cos: 'Cos', tan: 'Tan', asin: 'Asin', acos: 'Acos', atan: 'Atan', sinh: 'Sinh', cosh: 'Cosh',
  asinh: 'Asinh', acosh: 'Acosh', atanh: 'Atanh', tanh: 'Tanh', sigmoid: 'Sigmoid', relu: 'Relu', softplus: 'Softplus', erf: 'Erf',
  logicalNot: 'Not', softsign: 'Softsign', hardSwish: 'HardSwish', isNaN: 'IsNaN',
  add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', maximum: 'Max', minimum: 'Min', equal: 'Equal', less: 'Less',
  lessEqual: 'LessOrEqual', greater: 'Greater', greaterEqual: 'GreaterOrEqual', logicalAnd: 'And', logicalOr: 'Or', where: 'Where',
  identity: 'Identity', stopGradient: 'Identity', nonZero: 'NonZero', det: 'Det',
};
for (const [op, onnxOp] of Object.entries(ONE_TO_ONE)) when(op, same(onnxOp));
// its value; the xs after it only serve autodiff
when('customGradient', (ctx) => ctx.emitOut('Identity', [ctx.input(0)]));

when('leakyRelu', same('LeakyRelu', (n) => ({ alpha: float(num(n, 'alpha', 0.2)) })));
when('elu', same('Elu', (n) => ({ alpha: float(num(n, 'alpha', 1)) })));
when('selu', same('Selu', () => ({ alpha: float(SELU_ALPHA), gamma: float(SELU_SCALE) })));
when('celu', same('Celu', (n) => ({ alpha: float(num(n, 'alpha', 1)) })));
when('thresholdedRelu', same('ThresholdedRelu', (n) => ({ alpha: float(num(n, 'alpha', 1)) })));
when('hardSigmoid', same('HardSigmoid', (n) => ({ alpha: float(num(n, 'alpha', 0.2)), beta: float(num(n, 'beta', 0.5)) })));
when('shrink', same('Shrink', (n) => ({ lambd: float(num(n, 'lambd', 0.5)), bias: float(num(n, 'bias', 0)) })));
when('isInf', same('IsInf', (n) => ({ detect_positive: int(n.attrs.detectPositive === false ? 0 : 1), detect_negative: int(n.attrs.detectNegative === false ? 0 : 1) })));
when('fmod', same('Mod', () => ({ fmod: int(1) })));
when('notEqual', (ctx, n) => ctx.emitOut('Not', ctx.emit('Equal', [ctx.input(0), ctx.input(1)])));
// ONNX has neither: log(1 + x) and e^x - 1 as written, which lose digits for x near 0
when('log1p', (ctx, n) => ctx.emitOut('Log', ctx.emit('Add', [ctx.input(0), ctx.scalar(1, n.outputs[0].dtype, 'one')])));
when('expm1', (ctx, n) => ctx.emitOut('Sub', [...ctx.emit('Exp', [ctx.input(0)]), ctx.scalar(1, n.outputs[0].dtype, 'one')]));
when('rsqrt', (ctx) => ctx.emitOut('Reciprocal', ctx.emit('Sqrt', [ctx.input(0)])));
when('square', (ctx) => ctx.emitOut('Mul', [ctx.input(0), ctx.input(0)]));
when('squaredDifference', (ctx) => {
  const [d] = ctx.emit('Sub', [ctx.input(0), ctx.input(1)]);
  ctx.emitOut('Mul', [d, d]);
});
when('atan2', (ctx, n) => {
  // ONNX has no Atan2: atan(y / x), moved by pi into the left half-plane, 0 at the origin (x = 0
  // gives y / x = +-inf, whose atan is the +-pi/2 atan2 has there); signed zeros are not told apart
  const dt = n.outputs[0].dtype;
  const [y, x] = [ctx.input(0), ctx.input(1)];
  const zero = ctx.scalar(0, dt, 'zero');
  const angle = ctx.emit('Atan', ctx.emit('Div', [y, x]))[0];
  const halfTurn = ctx.emit('Where', [...ctx.emit('GreaterOrEqual', [y, zero]), ctx.scalar(Math.PI, dt, 'pi'), ctx.scalar(-Math.PI, dt, 'minus_pi')])[0];
  const turned = ctx.emit('Where', [...ctx.emit('Less', [x, zero]), ...ctx.emit('Add', [angle, halfTurn]), angle])[0];
  const origin = ctx.emit('And', [...ctx.emit('Equal', [x, zero]), ...ctx.emit('Equal', [y, zero])])[0];
  ctx.emitOut('Where', [origin, zero, turned]);
});
when('relu6', (ctx, n) => ctx.emitOut('Clip', [ctx.input(0), ctx.scalar(0, n.outputs[0].dtype, 'zero'), ctx.scalar(6, n.outputs[0].dtype, 'six')]));
when('gelu', (ctx, n) => {
  const dt = n.outputs[0].dtype;
  const x = ctx.input(0);
  const half = ctx.emit('Mul', [x, ctx.scalar(0.5, dt, 'half')]);
  let inner: string;
  if (n.attrs.approximate) {
    const cube = ctx.emit('Mul', [x, ...ctx.emit('Mul', [x, x])]);
    const sum = ctx.emit('Add', [x, ...ctx.emit('Mul', [cube[0], ctx.scalar(0.044715, dt, 'c')])]);
    inner = ctx.emit('Tanh', ctx.emit('Mul', [sum[0], ctx.scalar(0.7978845608028654, dt, 'k')]))[0];
  } else inner = ctx.emit('Erf', ctx.emit('Mul', [x, ctx.scalar(Math.SQRT1_2, dt, 'rsqrt2')]))[0];
  ctx.emitOut('Mul', [half[0], ...ctx.emit('Add', [inner, ctx.scalar(1, dt, 'one')])]);
});
when('clip', (ctx, n) => {
  // ONNX Clip takes scalar bounds only: tensor bounds become Max/Min
  const [, lo, hi] = n.inputs;
  if (lo.rank === 0 && hi.rank === 0) ctx.emitOut('Clip', [ctx.input(0), ctx.input(1), ctx.input(2)]);
  else ctx.emitOut('Min', [...ctx.emit('Max', [ctx.input(0), ctx.input(1)]), ctx.input(2)]);
});
when('mod', (ctx, n) => {
  if (isInteger(n.outputs[0].dtype)) return ctx.emitOut('Mod', [ctx.input(0), ctx.input(1)], { fmod: int(0) });
  // floor modulo of floats: a - b * floor(a / b)
  const [a, b] = [ctx.input(0), ctx.input(1)];
  const q = ctx.emit('Floor', ctx.emit('Div', [a, b]));
  ctx.emitOut('Sub', [a, ...ctx.emit('Mul', [b, q[0]])]);
});
when('floorDiv', (ctx, n) => {
  const [a, b] = [ctx.input(0), ctx.input(1)];
  if (isFloat(n.outputs[0].dtype)) return ctx.emitOut('Floor', ctx.emit('Div', [a, b]));
  // integer Div truncates: step down by one where the remainder is non-zero and the signs differ
  const dt = n.outputs[0].dtype;
  const q = ctx.emit('Div', [a, b])[0];
  const zero = ctx.scalar(0, dt, 'zero');
  const inexact = ctx.emit('Not', ctx.emit('Equal', [...ctx.emit('Mod', [a, b], 1, { fmod: int(1) }), zero]));
  const signs = ctx.emit('Xor', [...ctx.emit('Less', [a, zero]), ...ctx.emit('Less', [b, zero])]);
  const step = ctx.emit('Cast', ctx.emit('And', [inexact[0], signs[0]]), 1, { to: int(DTYPE_TO_ONNX[dt]) });
  ctx.emitOut('Sub', [q, step[0]]);
});
when('bitShift', (ctx, n) => {
  const dt = n.outputs[0].dtype;
  const factor = ctx.emit('Pow', [ctx.scalar(2, dt, 'two'), ctx.input(1)]);
  if (n.attrs.direction === 'right') ctx.emitOut('Div', [ctx.input(0), factor[0]]);
  else ctx.emitOut('Mul', [ctx.input(0), factor[0]]);
});
when('roundFloat', (ctx, n) => {
  const narrow = n.attrs.format === 'bfloat16' ? 16 : 10;
  ctx.emitOut('Cast', ctx.emit('Cast', [ctx.input(0)], 1, { to: int(narrow) }), { to: int(DTYPE_TO_ONNX[n.outputs[0].dtype]) });
});
when('cast', (ctx, n) => {
  const to = n.attrs.dtype as DType;
  const from = n.inputs[0].dtype;
  // graphc casts floats to integers by truncation and NaN to 0; ONNX Cast truncates too
  if (isFloat(from) && isInteger(to)) {
    const x = ctx.input(0);
    const clean = ctx.emit('Where', [...ctx.emit('IsNaN', [x]), ctx.scalar(0, from, 'zero'), x]);
    return ctx.emitOut('Cast', clean, { to: int(DTYPE_TO_ONNX[to]) });
  }
  ctx.emitOut('Cast', [ctx.input(0)], { to: int(DTYPE_TO_ONNX[to]) });
});

// ---- sources and shapes ----------------------------------------------------------------------

function constantOfShape(ctx: ExportContext, shape: string, value: number, dtype: DType): void {
  ctx.emitOut('ConstantOfShape', [shape], { value: { t: tensor([value], [1], dtype) } });
}

when('fill', (ctx, n) => constantOfShape(ctx, ctx.int64s(n.attrs.shape as number[], 'shape'), Number(n.attrs.value), n.attrs.dtype as DType));
when('zerosLike', (ctx, n) => constantOfShape(ctx, ctx.emit('Shape', [ctx.input(0)])[0], 0, n.outputs[0].dtype));
when('onesLike', (ctx, n) => constantOfShape(ctx, ctx.emit('Shape', [ctx.input(0)])[0], 1, n.outputs[0].dtype));
when('range', (ctx, n) => {
  const dt = n.attrs.dtype as DType;
  ctx.emitOut('Range', [ctx.scalar(Number(n.attrs.start), dt, 'start'), ctx.scalar(Number(n.attrs.limit), dt, 'limit'), ctx.scalar(Number(n.attrs.delta), dt, 'delta')]);
});
when('shapeOf', (ctx, n) => {
  const attrs: Record<string, OnnxAttr | undefined> = {};
  if (typeof n.attrs.start === 'number') attrs.start = int(n.attrs.start);
  if (typeof n.attrs.end === 'number') attrs.end = int(n.attrs.end);
  ctx.emitOut('Shape', [ctx.input(0)], attrs);
});
when('reshape', (ctx, n) => {
  const shape = n.attrs.shape as number[];
  // graphc's 0 is a size of 0 (TensorFlow); ONNX needs allowzero for that
  ctx.emitOut('Reshape', [ctx.input(0), ctx.int64s(shape, 'shape')], shape.includes(0) ? { allowzero: int(1) } : {});
});
when('expandDims', (ctx, n) => {
  const rank = n.outputs[0].shape.length;
  const axis = Number(n.attrs.axis);
  ctx.emitOut('Unsqueeze', [ctx.input(0), ctx.int64s([axis < 0 ? axis + rank : axis], 'axes')]);
});
when('squeeze', (ctx, n) => {
  const axes = n.attrs.axes as number[];
  if (!axes.length) return ctx.emitOut('Identity', [ctx.input(0)]);
  ctx.emitOut('Squeeze', [ctx.input(0), ctx.int64s(axes, 'axes')]);
});
when('transpose', same('Transpose', (n) => ({ perm: ints(n.attrs.perm as number[]) })));
when('expand', (ctx, n) => ctx.emitOut('Expand', [ctx.input(0), ctx.int64s(n.attrs.shape as number[], 'shape')]));
when('concat', same('Concat', (n) => ({ axis: int(Number(n.attrs.axis)) })));
when('split', (ctx, n) => {
  const x = n.inputs[0];
  const axis = Number(n.attrs.axis);
  const a = axis < 0 ? axis + x.rank : axis;
  const listed = Array.isArray(n.attrs.sizes) ? (n.attrs.sizes as number[]) : null;
  const known = n.outputs.map((o) => o.shape[a]);
  const sizes = known.every((s) => s !== null) ? (known as number[]) : listed && !listed.includes(-1) ? listed : null;
  const outs = n.outputTensors.map((_, i) => ctx.output(i));
  if (sizes) ctx.emit('Split', [ctx.input(0), ctx.int64s(sizes, 'split')], outs, { axis: int(a) });
  else if (!listed) ctx.emit('Split', [ctx.input(0)], outs, { axis: int(a), num_outputs: int(outs.length) });
  else ctx.unsupported('a split of an unknown dimension into listed sizes with -1');
});
when('slice', (ctx, n) => {
  const begin = n.attrs.begin as number[];
  const size = n.attrs.size as number[];
  const ends = size.map((s, i) => (s === -1 ? INT64_MAX : begin[i] + s));
  ctx.emitOut('Slice', [ctx.input(0), ctx.int64s(begin, 'starts'), ctx.int64s(ends, 'ends')]);
});
when('stridedSlice', (ctx, n) => {
  const begin = n.attrs.begin as number[];
  const strides = n.attrs.strides as number[];
  const size = n.attrs.size as number[];
  // the end is one step past the last element; walking backwards past index 0 needs "before the start"
  const ends = begin.map((b, i) => {
    const end = b + size[i] * strides[i];
    return strides[i] < 0 && end < 0 ? -INT64_MAX : end;
  });
  ctx.emitOut('Slice', [ctx.input(0), ctx.int64s(begin, 'starts'), ctx.int64s(ends, 'ends'), ctx.int64s(begin.map((_, i) => i), 'axes'), ctx.int64s(strides, 'steps')]);
});
when('gather', same('Gather', (n) => ({ axis: int(Number(n.attrs.axis ?? 0)) })));
when('gatherElements', same('GatherElements', (n) => ({ axis: int(Number(n.attrs.axis ?? 0)) })));
when('gatherNd', same('GatherND', (n) => ({ batch_dims: int(Number(n.attrs.batchDims ?? 0)) })));
when('scatterElements', same('ScatterElements', (n) => ({ axis: int(Number(n.attrs.axis ?? 0)), reduction: str(String(n.attrs.reduction ?? 'none')) })));
when('scatterNd', same('ScatterND', (n) => ({ reduction: str(String(n.attrs.reduction ?? 'none')) })));
when('tile', (ctx, n) => ctx.emitOut('Tile', [ctx.input(0), ctx.int64s(n.attrs.multiples as number[], 'repeats')]));
when('pad', (ctx, n) => {
  const mode = String(n.attrs.mode ?? 'constant');
  if (mode === 'symmetric') ctx.unsupported("ONNX Pad has no 'symmetric' mode");
  const p = n.attrs.paddings as number[];
  const rank = p.length / 2;
  if (mode === 'wrap') {
    // Pad's 'wrap' came with opset 19 (the export writes 18): x tiled far enough each way, then the
    // padded stretch sliced out of it
    const shape = n.inputs[0].shape;
    const axes = shape.map((_, i) => i).filter((i) => p[2 * i] + p[2 * i + 1] > 0);
    const dim = (i: number): number => shape[i] ?? ctx.unsupported('wrap padding of a dimension known only at run time');
    const before = (i: number) => Math.ceil(p[2 * i] / dim(i));
    const reps = shape.map((_, i) => (axes.includes(i) ? before(i) + 1 + Math.ceil(p[2 * i + 1] / dim(i)) : 1));
    const starts = axes.map((i) => before(i) * dim(i) - p[2 * i]);
    const ends = axes.map((i, k) => starts[k] + dim(i) + p[2 * i] + p[2 * i + 1]);
    const tiled = ctx.emit('Tile', [ctx.input(0), ctx.int64s(reps, 'repeats')]);
    ctx.emitOut('Slice', [tiled[0], ctx.int64s(starts, 'starts'), ctx.int64s(ends, 'ends'), ctx.int64s(axes, 'axes')]);
    return;
  }
  const pads = [...Array.from({ length: rank }, (_, i) => p[2 * i]), ...Array.from({ length: rank }, (_, i) => p[2 * i + 1])];
  const value = ctx.scalar(Number(n.attrs.constantValue ?? 0), n.outputs[0].dtype, 'value');
  ctx.emitOut('Pad', [ctx.input(0), ctx.int64s(pads, 'pads'), value], { mode: str(mode) });
});
when('oneHot', (ctx, n) => {
  const depth = Number(n.attrs.depth);
  const dt = n.attrs.dtype as DType;
  const idxType = n.inputs[0].dtype;
  // graphc gives an all-off row for negative indices; ONNX would count them from the end
  // onnxruntime's OneHot takes int64 indices
  const idx = idxType === 'int64' ? ctx.input(0) : ctx.emit('Cast', [ctx.input(0)], 1, { to: int(7) })[0];
  const safe = ctx.emit('Where', [...ctx.emit('Less', [idx, ctx.scalar(0, 'int64', 'zero')]), ctx.scalar(depth, 'int64', 'depth'), idx]);
  const values = ctx.constant(tensor([Number(n.attrs.offValue), Number(n.attrs.onValue)], [2], dt), 'values');
  ctx.emitOut('OneHot', [safe[0], ctx.int64s([depth], 'depth'), values], { axis: int(Number(n.attrs.axis ?? -1)) });
});
when('trilu', (ctx, n) => ctx.emitOut('Trilu', [ctx.input(0), ctx.constant(tensor([Number(n.attrs.k ?? 0)], [], 'int64'), 'k')], { upper: int(n.attrs.upper === false ? 0 : 1) }));
when('topK', (ctx, n) =>
  ctx.emit('TopK', [ctx.input(0), ctx.int64s([Number(n.attrs.k)], 'k')], [ctx.output(0), ctx.output(1)], {
    axis: int(Number(n.attrs.axis ?? -1)),
    largest: int(n.attrs.largest === false ? 0 : 1),
    sorted: int(1),
  }),
);
when('reverseSequence', (ctx, n) => {
  const lengths = n.inputs[1].dtype === 'int64' ? ctx.input(1) : ctx.emit('Cast', [ctx.input(1)], 1, { to: int(7) })[0];
  ctx.emitOut('ReverseSequence', [ctx.input(0), lengths], { time_axis: int(Number(n.attrs.timeAxis ?? 0)), batch_axis: int(Number(n.attrs.batchAxis ?? 1)) });
});
when('cumSum', (ctx, n) =>
  ctx.emitOut('CumSum', [ctx.input(0), ctx.constant(tensor([Number(n.attrs.axis ?? 0)], [], 'int64'), 'axis')], {
    exclusive: int(n.attrs.exclusive === true ? 1 : 0),
    reverse: int(n.attrs.reverse === true ? 1 : 0),
  }),
);
when('einsum', same('Einsum', (n) => ({ equation: str(String(n.attrs.equation)) })));

// ---- reductions ------------------------------------------------------------------------------

const REDUCE: Record<string, string> = { reduceSum: 'ReduceSum', reduceMean: 'ReduceMean', reduceMax: 'ReduceMax', reduceMin: 'ReduceMin', reduceProd: 'ReduceProd' };
for (const [op, onnxOp] of Object.entries(REDUCE)) {
  when(op, (ctx, n) => {
    const axes = n.attrs.axes as number[];
    // graphc reduces nothing over no axes; ONNX does that only with noop_with_empty_axes
    ctx.emitOut(onnxOp, [ctx.input(0), ctx.int64s(axes, 'axes')], { keepdims: int(n.attrs.keepDims === true ? 1 : 0), noop_with_empty_axes: int(1) });
  });
}
for (const [op, onnxOp] of [['argMax', 'ArgMax'], ['argMin', 'ArgMin']]) {
  when(op, (ctx, n) => {
    const attrs = { axis: int(Number(n.attrs.axis)), keepdims: int(0) };
    if (n.outputs[0].dtype === 'int64') return ctx.emitOut(onnxOp, [ctx.input(0)], attrs);
    ctx.emitOut('Cast', ctx.emit(onnxOp, [ctx.input(0)], 1, attrs), { to: int(6) });
  });
}
when('softmax', same('Softmax', (n) => ({ axis: int(num(n, 'axis', -1)) })));
when('logSoftmax', same('LogSoftmax', (n) => ({ axis: int(num(n, 'axis', -1)) })));

// ---- dense and convolution -------------------------------------------------------------------

/** `name` with its last two dimensions swapped (a Transpose node). */
export function transposeLast2(ctx: ExportContext, name: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return ctx.emit('Transpose', [name], 1, { perm: ints(perm) })[0];
}

when('matmul', (ctx, n) => {
  let a = ctx.input(0);
  let b = ctx.input(1);
  if (n.attrs.transposeA === true) a = transposeLast2(ctx, a, n.inputs[0].rank);
  if (n.attrs.transposeB === true) b = transposeLast2(ctx, b, n.inputs[1].rank);
  ctx.emitOut('MatMul', [a, b]);
});

when('matmulNBits', (ctx, n) => {
  // a float MatMul with the weights dequantized (opset 18 has no blocked integer weights), or with
  // contribOps onnxruntime's MatMulNBits, the weights still packed
  const [packed, scales, zeroPoints] = [1, 2, 3].map((i) => constantInput(n, i));
  if (!packed || !scales || !zeroPoints) return ctx.unsupported('matmulNBits exports with constant packed weights, scales and zero points only (as a MatMul of the dequantized weights)');
  const layout = nbitsLayout(n.attrs);
  const cols = packed.shape[0];
  if (ctx.contribOps && asMatMulNBits(ctx, n, layout, packed, scales, zeroPoints)) return;
  // W [k, n], or with transposeW W^T [n, k]
  const transposed = n.attrs.transposeW === true;
  const weights = new Float32Array(layout.k * cols);
  const column = new Float32Array(layout.k);
  for (let col = 0; col < cols; col++) {
    nbitsColumn(layout, packed.data, scales.data, zeroPoints.data, col, column);
    if (transposed) weights.set(column, col * layout.k);
    else for (let kk = 0; kk < layout.k; kk++) weights[kk * cols + col] = column[kk];
  }
  const shape = transposed ? [cols, layout.k] : [layout.k, cols];
  ctx.emitOut('MatMul', [ctx.input(0), ctx.constant(tensor(weights, shape, n.outputs[0].dtype), 'weights')]);
});

/**
 * matmulNBits as com.microsoft MatMulNBits (contribOps): B the packed words' bytes, little-endian as
 * the op reads them ([N, blocks, blob] uint8), scales and zero points flat float32 [N * blocks] (it
 * takes float zero points of the scales' type). False where MatMulNBits cannot say it: transposeW,
 * 8 bits (onnxruntime's 8-bit form is not checked here), a block size onnxruntime refuses.
 */
function asMatMulNBits(ctx: ExportContext, n: Node, layout: NBitsLayout, packed: TensorValue, scales: TensorValue, zeroPoints: TensorValue): boolean {
  const { bits, blockSize, k, blocks } = layout;
  if (n.attrs.transposeW === true || bits === 8 || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) return false;
  const cols = packed.shape[0];
  const words = Int32Array.from(packed.data as ArrayLike<number>);
  const bytes = new Uint8Array(words.length * 4);
  for (let w = 0; w < words.length; w++) for (let b = 0; b < 4; b++) bytes[4 * w + b] = (words[w] >>> (8 * b)) & 255;
  const raw = (hint: string, dims: number[], rawData: Uint8Array): string => {
    const name = ctx.fresh(`${n.name}/${hint}`);
    ctx.initializers.push({ name, dims, dataType: 2, rawData });
    return name;
  };
  const b = raw('B', [cols, blocks, (blockSize * bits) / 8], bytes);
  const flat = (v: TensorValue, hint: string): string => ctx.constant(tensor(Float32Array.from(v.data as ArrayLike<number>), [cols * blocks]), hint);
  const attrs = { K: int(k), N: int(cols), bits: int(bits), block_size: int(blockSize) };
  ctx.emit('MatMulNBits', [ctx.input(0), b, flat(scales, 'scales'), flat(zeroPoints, 'zero_points')], [ctx.output(0)], attrs, 'com.microsoft');
  return true;
}

const NHWC_TO_NCHW = ints([0, 3, 1, 2]);
const NCHW_TO_NHWC = ints([0, 2, 3, 1]);

/** The value of a constant (or variable with a constant initializer) input, for transposing weights here. */
function constantInput(n: Node, i: number): TensorValue | undefined {
  const src = n.inputs[i].node;
  return src.op === 'const' ? (src.attrs.value as TensorValue) : undefined;
}

function permuted(v: TensorValue, perm: number[]): TensorValue {
  const shape = perm.map((p) => v.shape[p]);
  const strides = v.shape.map((_, d) => v.shape.slice(d + 1).reduce((a, s) => a * s, 1));
  const out = tensor(new Array(v.data.length).fill(0), shape, v.dtype);
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < out.data.length; i++) {
    let off = 0;
    for (let d = 0; d < shape.length; d++) off += idx[d] * strides[perm[d]];
    out.data[i] = v.data[off];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * TensorFlow padding attrs as ONNX Conv/pool attrs, for a window of `kernel` taps `dilations` apart.
 * SAME becomes explicit pads where the input's height and width are known (window2d: TensorFlow's
 * pads, the odd pixel at the end). auto_pad SAME_UPPER says the same only where the stride stays
 * within the window's reach and there is no dilation: onnxruntime refuses auto_pad with dilations,
 * and lets its pads go negative (an error) when the stride is longer than the window, where
 * TensorFlow pads nothing.
 */
function paddingAttrs(ctx: ExportContext, n: Node, kernel: number[], dilations: number[] = [1, 1]): Record<string, OnnxAttr> {
  const p = n.attrs.padding;
  if (p === 'VALID') return { auto_pad: str('VALID') };
  if (p !== 'SAME') {
    const [t, b, l, r] = p as number[];
    return { pads: ints([t, l, b, r]) };
  }
  const strides = n.attrs.strides as [number, number];
  const [h, w] = [n.inputs[0].shape[1], n.inputs[0].shape[2]];
  if (h !== null && w !== null) {
    const g = window2d(h, w, { window: [kernel[0], kernel[1]], strides, dilations: [dilations[0], dilations[1]], padding: 'SAME' }, '');
    return { pads: ints([g.padTop, g.padLeft, g.padBottom, g.padRight]) };
  }
  if (dilations.some((d) => d !== 1) || strides.some((s, i) => s > kernel[i])) {
    ctx.unsupported("SAME padding over an unknown height or width needs dilations of 1 and strides no longer than the window (give the input's spatial shape)");
  }
  return { auto_pad: str('SAME_UPPER') };
}

/** A filter [KH, KW, ...] as ONNX weights, permuted (and reshaped) with a node or, when constant, here. */
function filterWeights(ctx: ExportContext, n: Node, perm: number[], reshape?: number[]): string {
  const v = constantInput(n, 1);
  if (v) {
    const p = permuted(v, perm);
    return ctx.constant(reshape ? { ...p, shape: reshape } : p, 'weights');
  }
  let w = ctx.emit('Transpose', [ctx.input(1)], 1, { perm: ints(perm) })[0];
  if (reshape) w = ctx.emit('Reshape', [w, ctx.int64s(reshape, 'shape')])[0];
  return w;
}

function nhwcWrapped(ctx: ExportContext, onnxOp: string, inputs: (x: string) => string[], attrs: Record<string, OnnxAttr>): void {
  const x = ctx.emit('Transpose', [ctx.input(0)], 1, { perm: NHWC_TO_NCHW })[0];
  const y = ctx.emit(onnxOp, inputs(x), 1, attrs)[0];
  ctx.emitOut('Transpose', [y], { perm: NCHW_TO_NHWC });
}

when('conv2d', (ctx, n) => {
  const [kh, kw] = n.inputs[1].shape;
  if (kh === null || kw === null) ctx.unsupported('the filter shape must be known');
  const w = filterWeights(ctx, n, [3, 2, 0, 1]);
  const dilations = n.attrs.dilations as number[];
  nhwcWrapped(ctx, 'Conv', (x) => [x, w], { strides: ints(n.attrs.strides as number[]), dilations: ints(dilations), ...paddingAttrs(ctx, n, [kh!, kw!], dilations) });
});
when('depthwiseConv2d', (ctx, n) => {
  const [kh, kw, c, m] = n.inputs[1].shape as number[];
  if ([kh, kw, c, m].some((d) => d === null)) ctx.unsupported('the filter shape must be known');
  const w = filterWeights(ctx, n, [2, 3, 0, 1], [c * m, 1, kh, kw]);
  const dilations = n.attrs.dilations as number[];
  nhwcWrapped(ctx, 'Conv', (x) => [x, w], { strides: ints(n.attrs.strides as number[]), dilations: ints(dilations), group: int(c), ...paddingAttrs(ctx, n, [kh, kw], dilations) });
});
when('maxPool', (ctx, n) =>
  nhwcWrapped(ctx, 'MaxPool', (x) => [x], { kernel_shape: ints(n.attrs.ksize as number[]), strides: ints(n.attrs.strides as number[]), ...paddingAttrs(ctx, n, n.attrs.ksize as number[]) }),
);
when('avgPool', (ctx, n) =>
  nhwcWrapped(ctx, 'AveragePool', (x) => [x], {
    kernel_shape: ints(n.attrs.ksize as number[]),
    strides: ints(n.attrs.strides as number[]),
    count_include_pad: int(0),
    ...paddingAttrs(ctx, n, n.attrs.ksize as number[]),
  }),
);

when('batchNorm', (ctx, n) => {
  // x * k + (offset - mean * k) with k = scale / sqrt(variance + eps): the square root, division and
  // shift are computed on the statistics (a runtime folds them when they are initializers), so each
  // element costs a multiply and an add; the statistics broadcast as graphc's
  const dt = n.outputs[0].dtype;
  const [x, mean, variance, offset, scale] = [0, 1, 2, 3, 4].map((i) => ctx.input(i));
  const eps = ctx.scalar(num(n, 'varianceEpsilon', 1e-3), dt, 'epsilon');
  const k = ctx.emit('Div', [scale, ...ctx.emit('Sqrt', ctx.emit('Add', [variance, eps]))]);
  const shift = ctx.emit('Sub', [offset, ...ctx.emit('Mul', [mean, k[0]])]);
  ctx.emitOut('Add', [...ctx.emit('Mul', [x, k[0]]), shift[0]]);
});
when('dropout', (ctx, n) => {
  // exported for inference: the identity, whose factor (output 1, read by gradients) is 1 everywhere
  ctx.emitOut('Identity', [ctx.input(0)]);
  const factor = n.outputTensors[1];
  if ((n.graph.consumers().get(n) ?? []).some((c) => c.inputs.includes(factor))) {
    const dt = n.outputs[1].dtype;
    ctx.emit('ConstantOfShape', ctx.emit('Shape', [ctx.input(0)]), [ctx.output(1)], { value: { t: tensor([1], [1], dt) } });
  }
});

when('softmaxCrossEntropyWithLogits', (ctx, n) => {
  const logp = ctx.emit('LogSoftmax', [ctx.input(1)], 1, { axis: int(-1) });
  const rank = n.inputs[1].rank;
  const sum = ctx.emit('ReduceSum', [...ctx.emit('Mul', [ctx.input(0), logp[0]]), ctx.int64s([rank - 1], 'axes')], 1, { keepdims: int(0) });
  ctx.emitOut('Neg', sum);
});
when('sparseSoftmaxCrossEntropyWithLogits', (ctx, n) => {
  const rank = n.inputs[1].rank;
  let scores = ctx.input(1);
  if (rank > 2) {
    // ONNX wants the classes in dimension 1
    const perm = [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
    scores = ctx.emit('Transpose', [scores], 1, { perm: ints(perm) })[0];
  }
  const labels = n.inputs[0].dtype === 'int64' ? ctx.input(0) : ctx.emit('Cast', [ctx.input(0)], 1, { to: int(7) })[0];
  if (rank === 1) ctx.unsupported('logits must have a batch dimension');
  ctx.emit('SoftmaxCrossEntropyLoss', [scores, labels], [ctx.output(0)], { reduction: str('none') });
});
when('sigmoidCrossEntropyWithLogits', (ctx, n) => {
  // max(x, 0) - x * z + log(1 + exp(-|x|))
  const dt = n.outputs[0].dtype;
  const [z, x] = [ctx.input(0), ctx.input(1)];
  const a = ctx.emit('Sub', [...ctx.emit('Relu', [x]), ...ctx.emit('Mul', [x, z])]);
  const b = ctx.emit('Log', ctx.emit('Add', [ctx.scalar(1, dt, 'one'), ...ctx.emit('Exp', ctx.emit('Neg', ctx.emit('Abs', [x])))]));
  ctx.emitOut('Add', [a[0], b[0]]);
});

// ---- channels-first and recurrent ops (ONNX's own) -------------------------------------------

function windowOnnxAttrs(n: Node): Record<string, OnnxAttr | undefined> {
  const a = n.attrs;
  const list = (v: unknown) => (Array.isArray(v) ? ints(v as number[]) : undefined);
  return {
    strides: list(a.strides),
    dilations: list(a.dilations),
    pads: list(a.pads),
    auto_pad: typeof a.autoPad === 'string' && a.autoPad !== 'NOTSET' ? str(a.autoPad) : undefined,
  };
}

when('convNchw', same('Conv', (n) => ({ ...windowOnnxAttrs(n), group: int(num(n, 'group', 1)) })));
when(
  'convTransposeNchw',
  same('ConvTranspose', (n) => ({
    ...windowOnnxAttrs(n),
    group: int(num(n, 'group', 1)),
    output_padding: Array.isArray(n.attrs.outputPadding) ? ints(n.attrs.outputPadding as number[]) : undefined,
    output_shape: Array.isArray(n.attrs.outputShape) ? ints(n.attrs.outputShape as number[]) : undefined,
  })),
);
when('maxPoolNchw', (ctx, n) => {
  const dt = n.outputs[0].dtype;
  // onnxruntime's MaxPool takes floats and 8-bit integers: int32/int64 go through float64 (exact to 2^53)
  const viaFloat = isInteger(dt);
  const x = viaFloat ? ctx.emit('Cast', [ctx.input(0)], 1, { to: int(11) })[0] : ctx.input(0);
  const y = viaFloat ? ctx.fresh(`${n.name}/float`) : ctx.output(0);
  ctx.emit('MaxPool', [x], [y, ...n.outputTensors.slice(1).map((_, i) => ctx.output(i + 1))], {
    kernel_shape: ints(n.attrs.kernel as number[]),
    ...windowOnnxAttrs(n),
    ceil_mode: int(n.attrs.ceilMode === true ? 1 : 0),
    storage_order: n.attrs.storageOrder === 1 ? int(1) : undefined,
  });
  if (viaFloat) ctx.emitOut('Cast', [y], { to: int(DTYPE_TO_ONNX[dt]) });
});
when('avgPoolNchw', same('AveragePool', (n) => ({ kernel_shape: ints(n.attrs.kernel as number[]), ...windowOnnxAttrs(n), ceil_mode: int(n.attrs.ceilMode === true ? 1 : 0), count_include_pad: int(n.attrs.countIncludePad === true ? 1 : 0) })));
when('lpPoolNchw', same('LpPool', (n) => ({ kernel_shape: ints(n.attrs.kernel as number[]), ...windowOnnxAttrs(n), ceil_mode: int(n.attrs.ceilMode === true ? 1 : 0), p: int(num(n, 'p', 2)) })));
when('layerNorm', (ctx, n) =>
  ctx.emit('LayerNormalization', n.inputs.map((_, i) => ctx.input(i)), n.outputTensors.map((_, i) => ctx.output(i)), { axis: int(num(n, 'axis', -1)), epsilon: float(num(n, 'epsilon', 1e-5)) }),
);
// RMSNormalization is opset 23: composed, as the importer's form of it (ReduceMean of the squares)
when('rmsNorm', (ctx, n) => {
  const dt = n.outputs[0].dtype;
  const x = ctx.input(0);
  const rank = n.inputs[0].rank;
  const a = num(n, 'axis', -1);
  const axis = a < 0 ? a + rank : a;
  const axes = ctx.int64s(Array.from({ length: rank - axis }, (_, i) => axis + i), 'axes');
  const meanSquare = ctx.emit('ReduceMean', [...ctx.emit('Mul', [x, x]), axes], 1, { keepdims: int(1) });
  ctx.emitOut('Reciprocal', ctx.emit('Sqrt', ctx.emit('Add', [meanSquare[0], ctx.scalar(num(n, 'epsilon', 1e-5), dt, 'epsilon')])), {}, 1);
  ctx.emitOut('Mul', [...ctx.emit('Mul', [x, ctx.output(1)]), ctx.input(1)]);
});
when('lrnNchw', same('LRN', (n) => ({ size: int(num(n, 'size', 1)), alpha: float(num(n, 'alpha', 1e-4)), beta: float(num(n, 'beta', 0.75)), bias: float(num(n, 'bias', 1)) })));
when('nllLoss', (ctx, n) => {
  const labels = n.inputs[1].dtype === 'int64' ? ctx.input(1) : ctx.emit('Cast', [ctx.input(1)], 1, { to: int(7) })[0];
  const inputs = [ctx.input(0), labels, ...(n.inputs[2] ? [ctx.input(2)] : [])];
  ctx.emitOut('NegativeLogLikelihoodLoss', inputs, { reduction: str(String(n.attrs.reduction ?? 'mean')), ignore_index: typeof n.attrs.ignoreIndex === 'number' ? int(n.attrs.ignoreIndex) : undefined });
});
when('resize', (ctx, n) => {
  const a = n.attrs;
  const roi = Array.isArray(a.roi) ? ctx.constant(tensor(a.roi as number[], [(a.roi as number[]).length], 'float32'), 'roi') : '';
  const scales = Array.isArray(a.scales) ? ctx.constant(tensor(a.scales as number[], [(a.scales as number[]).length], 'float32'), 'scales') : '';
  const sizes = scales ? '' : ctx.int64s(a.sizes as number[], 'sizes');
  ctx.emitOut('Resize', trimOptional([ctx.input(0), roi, scales, sizes]), resizeAttrs(a));
});

/** ONNX Resize's attributes from graphc's resize attrs (graphc's defaults are ONNX's). */
function resizeAttrs(a: Attrs) {
  return {
    mode: str(String(a.mode ?? 'nearest')),
    coordinate_transformation_mode: str(String(a.coordinateTransformationMode ?? 'half_pixel')),
    nearest_mode: str(String(a.nearestMode ?? 'round_prefer_floor')),
    cubic_coeff_a: float(Number(a.cubicCoeffA ?? -0.75)),
    exclude_outside: int(a.excludeOutside === true ? 1 : 0),
    extrapolation_value: float(Number(a.extrapolationValue ?? 0)),
  };
}

/** Drops trailing omitted ('') optional inputs. */
function trimOptional(inputs: string[]): string[] {
  let end = inputs.length;
  while (end > 1 && inputs[end - 1] === '') end--;
  return inputs.slice(0, end);
}

const RNN_OPS: Record<string, string> = { lstm: 'LSTM', gru: 'GRU', rnn: 'RNN' };
for (const [op, onnxOp] of Object.entries(RNN_OPS)) {
  when(op, (ctx, n) => {
    const names = n.attrs.inputs as string[];
    const order = ['x', 'w', 'r', 'b', 'sequenceLens', 'initialH', 'initialC', 'p'];
    const last = Math.max(...names.map((nm) => order.indexOf(nm)));
    // batch-major (layout 1) is written as transposes around the sequence-major op (onnxruntime runs only that)
    const batchMajor = Number(n.attrs.layout ?? 0) === 1;
    const swap01 = (name: string) => ctx.emit('Transpose', [name], 1, { perm: ints([1, 0, 2]) })[0];
    const inputs = order.slice(0, last + 1).map((nm) => {
      if (!names.includes(nm)) return '';
      const name = ctx.input(names.indexOf(nm));
      return batchMajor && ['x', 'initialH', 'initialC'].includes(nm) ? swap01(name) : name;
    });
    const outputs = n.outputTensors.map((_, i) => (batchMajor ? ctx.fresh(`${n.name}/seq_major`) : ctx.output(i)));
    const a = n.attrs;
    ctx.emit(onnxOp, inputs, outputs, {
      hidden_size: int(Number(a.hiddenSize)),
      direction: str(String(a.direction ?? 'forward')),
      activations: Array.isArray(a.activations) && a.activations.length ? { strings: a.activations as string[] } : undefined,
      activation_alpha: Array.isArray(a.activationAlpha) ? { floats: a.activationAlpha as number[] } : undefined,
      activation_beta: Array.isArray(a.activationBeta) ? { floats: a.activationBeta as number[] } : undefined,
      clip: typeof a.clip === 'number' ? float(a.clip) : undefined,
      input_forget: op === 'lstm' ? int(a.inputForget === true ? 1 : 0) : undefined,
      linear_before_reset: op === 'gru' ? int(a.linearBeforeReset === true ? 1 : 0) : undefined,
    });
    if (batchMajor) {
      ctx.emit('Transpose', [outputs[0]], [ctx.output(0)], { perm: ints([2, 0, 1, 3]) });
      for (let i = 1; i < outputs.length; i++) ctx.emit('Transpose', [outputs[i]], [ctx.output(i)], { perm: ints([1, 0, 2]) });
    }
  });
}

// ---- dynamicAttrs: back to the ONNX op whose tensor parameters it came from --------------------

const DYNAMIC: Record<string, (ctx: ExportContext, n: Node, data: string[], params: string[]) => void> = {
  'onnx.Reshape': (ctx, n, [x], [shape]) => ctx.emitOut('Reshape', [x, shape], { allowzero: int(n.attrs.allowzero === true ? 1 : 0) }),
  'onnx.Expand': (ctx, _n, [x], [shape]) => ctx.emitOut('Expand', [x, shape]),
  'onnx.Tile': (ctx, _n, [x], [repeats]) => ctx.emitOut('Tile', [x, repeats]),
  'onnx.Slice': (ctx, _n, [x], params) => ctx.emitOut('Slice', [x, ...params]),
  'onnx.Squeeze': (ctx, _n, [x], [axes]) => ctx.emitOut('Squeeze', [x, axes]),
  'onnx.Unsqueeze': (ctx, _n, [x], [axes]) => ctx.emitOut('Unsqueeze', [x, axes]),
  'onnx.Split': (ctx, n, [x], [split]) => ctx.emit('Split', [x, split], n.outputTensors.map((_, i) => ctx.output(i)), { axis: int(Number(n.attrs.axis)) }),
  'onnx.Pad': (ctx, n, [x], params) => ctx.emitOut('Pad', [x, ...params], { mode: str(String(n.attrs.mode)) }),
  'onnx.ConstantOfShape': (ctx, n, _d, [shape]) => constantOfShape(ctx, shape, Number(n.attrs.value), n.attrs.dtype as DType),
  'onnx.Range': (ctx, _n, _d, params) => ctx.emitOut('Range', params),
  'onnx.OneHot': (ctx, n, [i], [depth, values]) => ctx.emitOut('OneHot', [i, depth, values], { axis: int(Number(n.attrs.axis)) }),
  'onnx.TopK': (ctx, n, [x], [k]) => ctx.emit('TopK', [x, k], [ctx.output(0), ctx.output(1)], { axis: int(Number(n.attrs.axis)), largest: int(n.attrs.largest === false ? 0 : 1) }),
  'onnx.Trilu': (ctx, n, [x], [k]) => ctx.emitOut('Trilu', [x, k], { upper: int(n.attrs.upper === false ? 0 : 1) }),
  'onnx.CumSum': (ctx, n, [x], [axis]) => ctx.emitOut('CumSum', [x, axis], { exclusive: int(n.attrs.exclusive === true ? 1 : 0), reverse: int(n.attrs.reverse === true ? 1 : 0) }),
  // the output shape is a tensor: the end pads are it less the unpooled shape, computed in the model
  'onnx.MaxUnpool': (ctx, n, [x, indices], [outputShape]) =>
    maxUnpoolOnnx(ctx, n, x, indices, (u) => {
      const rank = n.inputs[0].rank;
      const within = n.attrs.indexShape as number[];
      const tail = ctx.emit('Sub', [ctx.emit('Cast', [outputShape], 1, { to: int(7) })[0], ctx.constant(tensor(within, [rank], 'int64'), 'unpooled_shape')])[0];
      return [u, ctx.emit('Concat', [ctx.constant(tensor(new Array(rank).fill(0), [rank], 'int64'), 'zeros'), tail], 1, { axis: int(0) })[0]];
    }),
  'onnx.Resize': (ctx, n, [x], params) => {
    const kinds = n.attrs.params as string[];
    const slot = (k: string) => (kinds.includes(k) ? params[kinds.indexOf(k)] : '');
    ctx.emitOut('Resize', trimOptional([x, slot('roi'), slot('scales'), slot('sizes')]), resizeAttrs(n.attrs));
  },
};
for (const op of ['reduceSum', 'reduceMean', 'reduceMax', 'reduceMin', 'reduceProd']) {
  DYNAMIC[`onnx.${op}`] = (ctx, n, [x], [axes]) =>
    ctx.emitOut(REDUCE[op], [x, axes], { keepdims: int(n.attrs.keepDims === true ? 1 : 0), noop_with_empty_axes: int(n.attrs.noopWithEmptyAxes === true ? 1 : 0) });
}

when('dynamicAttrs', (ctx, n) => {
  const rule = String(n.attrs.rule);
  const write = DYNAMIC[rule];
  if (!write) ctx.unsupported(`no ONNX form for rule '${rule}'`);
  const k = Number(n.attrs.numData);
  const names = n.inputs.map((_, i) => ctx.input(i));
  write(ctx, n, names.slice(0, k), names.slice(k));
});

// ---- fused ops (made by the optimizer): written as the ops they fuse ---------------------------

/**
 * Writes `n` as the subgraph `build` makes over placeholders standing for n's inputs, each node by
 * its own op's rule; the subgraph's result becomes n's output.
 */
function exportSubgraph(ctx: ExportContext, n: Node, build: (g: Graph, inputs: SymbolicTensor[]) => SymbolicTensor): void {
  const g = new Graph({ makeDefault: false });
  const inputs = n.inputs.map((t, i) => {
    const p = g.addNode('placeholder', [], { dtype: t.dtype, shape: [...t.shape] }, { name: `input${i}` }).output();
    ctx.names.set(p, ctx.input(i));
    return p;
  });
  const result = build(g, inputs);
  const outer = ctx.current;
  if (result.node.op === 'placeholder') {
    ctx.emit('Identity', [ctx.names.get(result)!], [ctx.output(0)]);
    return;
  }
  for (const node of g.nodes) {
    if (node.op === 'placeholder') continue;
    for (const t of node.outputTensors) ctx.names.set(t, t === result ? ctx.names.get(outer.outputTensors[0])! : ctx.fresh(`${outer.name}/${node.op}`));
    ctx.current = node;
    const rule = getOpDef(node.op).onnx;
    if (!rule) {
      ctx.current = outer;
      ctx.unsupported(`its fused op '${node.op}' has no ONNX form`);
    }
    rule(ctx, node);
  }
  ctx.current = outer;
}

/** Adds the statements of a fused program to `g`; input k of the program is `inputs[k]`. */
function applyProgram(g: Graph, program: FusedProgram, inputs: SymbolicTensor[]): SymbolicTensor {
  const steps: SymbolicTensor[] = [];
  for (const st of program) {
    const args = st.args.map((r) => ('input' in r ? inputs[r.input] : steps[r.step]));
    steps.push(g.addNode(st.op, args, st.attrs).output());
  }
  return steps[steps.length - 1];
}

when('fusedElementwise', (ctx, n) => exportSubgraph(ctx, n, (g, inputs) => applyProgram(g, programOf(n.attrs, 'program', ''), inputs)));
for (const fused of ['fusedMatmul', 'fusedConv2d', 'fusedDepthwiseConv2d']) {
  when(fused, (ctx, n) =>
    exportSubgraph(ctx, n, (g, inputs) => {
      const k = anchorInputCount(fused)!;
      const { epilogue, ...anchorAttrs } = n.attrs as Attrs;
      const anchor = g.addNode(anchorOf(fused)!, inputs.slice(0, k), anchorAttrs).output();
      if (epilogue === undefined) return anchor;
      return applyProgram(g, programOf(n.attrs, 'epilogue', ''), [anchor, ...inputs.slice(k)]);
    }),
  );
}

// ---- random sources: the same distributions (values differ from graphc's generator) ----------

when('randomUniform', (ctx, n) => {
  const dt = n.outputs[0].dtype;
  const attrs = { shape: ints(n.attrs.shape as number[]), low: float(num(n, 'minval', 0)), high: float(num(n, 'maxval', 1)), seed: typeof n.attrs.seed === 'number' ? float(n.attrs.seed) : undefined };
  if (isFloat(dt)) return ctx.emitOut('RandomUniform', [], { ...attrs, dtype: int(DTYPE_TO_ONNX[dt]) });
  // integers: floor of a uniform float in [minval, maxval)
  ctx.emitOut('Cast', ctx.emit('Floor', ctx.emit('RandomUniform', [], 1, { ...attrs, dtype: int(11) })), { to: int(DTYPE_TO_ONNX[dt]) });
});
when('randomNormal', (ctx, n) =>
  ctx.emitOut('RandomNormal', [], {
    shape: ints(n.attrs.shape as number[]),
    mean: float(num(n, 'mean', 0)),
    scale: float(num(n, 'stddev', 1)),
    dtype: int(DTYPE_TO_ONNX[n.outputs[0].dtype]),
    seed: typeof n.attrs.seed === 'number' ? float(n.attrs.seed) : undefined,
  }),
);
when('multinomial', (ctx, n) =>
  ctx.emitOut('Multinomial', [ctx.input(0)], {
    sample_size: int(n.attrs.numSamples as number),
    dtype: int(DTYPE_TO_ONNX[n.outputs[0].dtype]),
    seed: typeof n.attrs.seed === 'number' ? float(n.attrs.seed) : undefined,
  }),
);
when('reshapeToShapeOf', (ctx) => ctx.emitOut('Reshape', [ctx.input(0), ...ctx.emit('Shape', [ctx.input(1)])]));
when('broadcastToShapeOf', (ctx) => ctx.emitOut('Expand', [ctx.input(0), ...ctx.emit('Shape', [ctx.input(1)])]));

// ---- detection and sampling ------------------------------------------------------------------

/** Input `i` cast to `to` for ONNX ops that take one element type only (NonMaxSuppression: float and int64). */
function inputAs(ctx: ExportContext, n: Node, i: number, to: DType): string {
  return n.inputs[i].dtype === to ? ctx.input(i) : ctx.emit('Cast', [ctx.input(i)], 1, { to: int(DTYPE_TO_ONNX[to]) })[0];
}

when('nonMaxSuppression', (ctx, n) => {
  const inputs = n.inputs.map((_, i) => inputAs(ctx, n, i, i === 2 ? 'int64' : 'float32'));
  ctx.emitOut('NonMaxSuppression', inputs, { center_point_box: int(Number(n.attrs.centerPointBox ?? 0)) });
});
/**
 * graphc's maxUnpool as ONNX: MaxUnpool whose default output is exactly `indexShape` (stride 1, no
 * pads, kernel = unpooled - pooled + 1 per spatial axis), then zeros padded at the end of each axis
 * up to the output shape, as graphc computes it. (MaxUnpool's own output_shape input would do the
 * padding too, but runtimes disagree on how indices count into a larger output_shape.)
 */
function maxUnpoolOnnx(ctx: ExportContext, n: Node, x: string, indices: string, endPads: (unpooled: string) => string[]): void {
  const inShape = n.inputs[0].shape;
  const within = (n.attrs.indexShape as number[] | undefined) ?? (n.attrs.outputShape as number[]);
  const kernel = within.slice(2).map((d, i) => d - (inShape[i + 2] ?? NaN) + 1);
  if (!kernel.every((k) => Number.isInteger(k) && k >= 1)) ctx.unsupported(`unpooling ${shapeToString(inShape)} to [${within.join(', ')}] needs the input's spatial shape known and no larger`);
  const unpooled = ctx.emit('MaxUnpool', [x, indices], 1, { kernel_shape: ints(kernel), strides: ints(kernel.map(() => 1)) })[0];
  ctx.emitOut('Pad', endPads(unpooled));
}

when('maxUnpool', (ctx, n) => {
  const out = n.attrs.outputShape as number[];
  const within = (n.attrs.indexShape as number[] | undefined) ?? out;
  const pads = [...out.map(() => 0), ...out.map((d, i) => d - within[i])];
  maxUnpoolOnnx(ctx, n, ctx.input(0), ctx.input(1), (u) => [u, ctx.constant(tensor(pads, [pads.length], 'int64'), 'pads')]);
});

when('gridSample', (ctx, n) => {
  // opset 18 has GridSample-16: 4-D input only, the modes named bilinear and bicubic
  if (n.inputs[0].rank !== 4) ctx.unsupported(`GridSample before opset 20 samples 4-D input only, got rank ${n.inputs[0].rank}`);
  const mode = String(n.attrs.mode ?? 'linear');
  ctx.emitOut('GridSample', [ctx.input(0), ctx.input(1)], {
    mode: str(mode === 'linear' ? 'bilinear' : mode === 'cubic' ? 'bicubic' : mode),
    padding_mode: str(String(n.attrs.paddingMode ?? 'zeros')),
    align_corners: int(n.attrs.alignCorners === true ? 1 : 0),
  });
});
when('roiAlign', (ctx, n) => {
  // RoiAlign-16: batch_indices must be int64
  ctx.emitOut('RoiAlign', [ctx.input(0), ctx.input(1), inputAs(ctx, n, 2, 'int64')], {
    mode: str(String(n.attrs.mode ?? 'avg')),
    output_height: int(Number(n.attrs.outputHeight ?? 1)),
    output_width: int(Number(n.attrs.outputWidth ?? 1)),
    sampling_ratio: int(Number(n.attrs.samplingRatio ?? 0)),
    spatial_scale: float(Number(n.attrs.spatialScale ?? 1)),
    coordinate_transformation_mode: str(String(n.attrs.coordinateTransformationMode ?? 'half_pixel')),
  });
});
when('unique', (ctx, n) => {
  const dt = n.inputs[0].dtype;
  const attrs = { sorted: int(n.attrs.sorted === false ? 0 : 1), axis: typeof n.attrs.axis === 'number' ? int(n.attrs.axis) : undefined };
  const outs = [0, 1, 2, 3].map((o) => ctx.output(o));
  // onnxruntime's Unique takes float, double and int64 (and int8, string): others go through int64
  if (dt === 'float32' || dt === 'float64' || dt === 'int64') return void ctx.emit('Unique', [ctx.input(0)], outs, attrs);
  const [y] = ctx.emit('Unique', [inputAs(ctx, n, 0, 'int64')], [ctx.fresh(`${n.name}/y`), ...outs.slice(1)], attrs);
  ctx.emitOut('Cast', [y], { to: int(DTYPE_TO_ONNX[dt]) });
});
when(
  'tfIdfVectorizer',
  same('TfIdfVectorizer', (n) => {
    const weights = (n.attrs.weights ?? []) as number[];
    return {
      mode: str(String(n.attrs.mode ?? 'TF')),
      min_gram_length: int(Number(n.attrs.minGramLength)),
      max_gram_length: int(Number(n.attrs.maxGramLength)),
      max_skip_count: int(Number(n.attrs.maxSkipCount ?? 0)),
      ngram_counts: ints(n.attrs.ngramCounts as number[]),
      ngram_indexes: ints(n.attrs.ngramIndexes as number[]),
      pool_int64s: ints(n.attrs.pool as number[]),
      weights: weights.length ? floats(weights) : undefined,
    };
  }),
);

// ---- run-time control flow: graph functions as ONNX subgraphs -------------------------------

/** A subgraph input or output: its element type and rank (an unknown dim left without a value, as it may vary per call). */
function subgraphValue(name: string, t: SymbolicTensor): ValueInfoProto {
  return { name, type: { tensorType: { elemType: DTYPE_TO_ONNX[t.dtype], shape: { dim: t.shape.map((d) => (d === null ? {} : { dimValue: d })) } } } };
}

/**
 * A graph function attr of the current node as an ONNX subgraph: its first `numFormal` parameters
 * become the subgraph's inputs; the rest, placeholders of captured tensors, read the outer value by
 * the name in `captured` (ONNX subgraphs see the values of the graphs around them). Each node is
 * written by its own op's rule, in a context of its own.
 */
function functionBody(ctx: ExportContext, attr: AttrValue | undefined, numFormal: number, captured: string[], what: string): GraphProto {
  const outer = ctx.current;
  const fn = instantiateFunction(attr, `ONNX export: node '${outer.name}' ${what}`);
  const sub = ctx.subgraph();
  sub.current = outer;
  const prefix = `${outer.name}/${what}`;
  const formal = fn.inputs.slice(0, numFormal).map((p) => sub.fresh(`${prefix}/${p.name}`));
  fn.inputs.forEach((p, i) => sub.names.set(p, i < numFormal ? formal[i] : captured[i - numFormal]));
  for (const node of reachableNodes(fn.graph, fn.outputs.map((o) => o.node))) {
    if (node.op === 'placeholder') continue;
    for (const t of node.outputTensors) sub.names.set(t, sub.fresh(`${prefix}/${t.name}`));
    sub.current = node;
    if (node.op === 'const') sub.initializers.push(tensorToProto(node.attrs.value as TensorValue, sub.names.get(node.outputTensors[0])!));
    else {
      const rule = getOpDef(node.op).onnx;
      if (!rule) throw new UnsupportedOpError(`ONNX export: op '${node.op}' (node '${node.name}' in ${what} of '${outer.name}') has no ONNX equivalent`, [node.op]);
      rule(sub, node);
    }
  }
  sub.current = outer;
  // a subgraph output is a value the subgraph computes, under a name of its own: a parameter, a
  // capture, a constant or a repeated result is passed through an Identity
  const taken = new Set<string>();
  const outputs = fn.outputs.map((t) => {
    let name = sub.names.get(t)!;
    if (['placeholder', 'const'].includes(t.node.op) || taken.has(name)) name = sub.emit('Identity', [name])[0];
    taken.add(name);
    return subgraphValue(name, t);
  });
  return {
    name: prefix,
    node: sub.nodes,
    initializer: sub.initializers,
    input: fn.inputs.slice(0, numFormal).map((p, i) => subgraphValue(formal[i], p)),
    output: outputs,
  };
}

// whileLoop is ONNX's Loop: (M, cond, ...carried) in, the body (iteration, cond, ...carried) -> (cond, ...carried, ...scans)
when('whileLoop', (ctx, n) => {
  const formal = 2 + num(n, 'carried', 0);
  const names = n.inputs.map((_, i) => ctx.input(i));
  const body = functionBody(ctx, n.attrs.body, formal, names.slice(formal), 'body');
  // ONNX's trip count is int64
  const limit = n.inputs[0].dtype === 'int64' ? names[0] : ctx.emit('Cast', [names[0]], 1, { to: int(DTYPE_TO_ONNX.int64) })[0];
  ctx.emit('Loop', [limit, ...names.slice(1, formal)], n.outputTensors.map((_, i) => ctx.output(i)), { body: { g: body } });
});

when('cond', (ctx, n) => {
  const split = 1 + num(n, 'thenInputs', 0);
  const names = n.inputs.map((_, i) => ctx.input(i));
  const thenBranch = functionBody(ctx, n.attrs.thenBranch, 0, names.slice(1, split), 'then');
  const elseBranch = functionBody(ctx, n.attrs.elseBranch, 0, names.slice(split), 'else');
  ctx.emit('If', [names[0]], n.outputTensors.map((_, i) => ctx.output(i)), { then_branch: { g: thenBranch }, else_branch: { g: elseBranch } });
});
