import { DType } from '../../dtype';
import { SymbolicTensor } from '../../graph';
import { tensor } from '../../tensor';
import type { OnnxNode } from './context';
import { castTo, scalarOf, withParams } from './helpers';
import { defineOnnxOp } from './import';
import { DataType } from './proto';
import { dtypeOfOnnx } from './tensor';

/** Window functions and the quantization ops, composed from graphc ops. */

/**
 * Hann, Hamming and Blackman windows of `size` points (a tensor, possibly known only at run time):
 * sum over k of a_k cos(2 pi k n / N), N = size (periodic) or size - 1 (symmetric).
 */
function windowOp(coefficients: number[]) {
  return (n: OnnxNode) => {
    const dtype = dtypeOfOnnx(n.attr.int('output_datatype', DataType.FLOAT), `node '${n.name}'`);
    const size = n.input(0);
    const sizeScalar = size.rank === 0 ? size : n.op('reshape', [size], { shape: [] });
    const count = castTo(n, sizeScalar, 'int64');
    const index = withParams(n, 'onnx.Range', [], [{ tensor: n.constant(0, 'int64'), value: tensor([0], [], 'int64') }, { tensor: count, value: n.value(0) && tensor([n.value(0)!.data[0]], [], 'int64') }, { tensor: n.constant(1, 'int64'), value: tensor([1], [], 'int64') }], { dtype: 'int64' }).output(0);
    const x = castTo(n, index, 'float64');
    let period = castTo(n, count, 'float64');
    if (n.attr.int('periodic', 1) === 0) period = n.op('sub', [period, scalarOf(n, 1, 'float64')]);
    let out: SymbolicTensor = scalarOf(n, coefficients[0], 'float64');
    coefficients.slice(1).forEach((a, k) => {
      const angle = n.op('div', [n.op('mul', [x, scalarOf(n, 2 * Math.PI * (k + 1), 'float64')]), period]);
      out = n.op('add', [out, n.op('mul', [n.op('cos', [angle]), scalarOf(n, a, 'float64')])]);
    });
    // a window of one point is [1] whatever the formula gives at 0 / 0
    return [castTo(n, n.op('mul', [out, n.op('onesLike', [x])]), dtype)];
  };
}

defineOnnxOp('HannWindow', windowOp([0.5, -0.5]));
defineOnnxOp('HammingWindow', windowOp([25 / 46, -21 / 46]));
defineOnnxOp('BlackmanWindow', windowOp([0.42, -0.5, 0.08]));

const RANGES: Record<number, [number, number]> = {
  [DataType.UINT8]: [0, 255],
  [DataType.INT8]: [-128, 127],
  [DataType.UINT16]: [0, 65535],
  [DataType.INT16]: [-32768, 32767],
  [DataType.INT32]: [-2147483648, 2147483647],
};

/**
 * A scale or zero point for `axis` of x: per tensor when scalar, per axis when a vector, or (opset 21's
 * block_size) per block of `blockSize` along the axis: x's rank, the axis ceil(D / blockSize) long,
 * each entry repeated over its block.
 */
function alongAxis(n: OnnxNode, v: SymbolicTensor, x: SymbolicTensor, axis: number, blockSize: number): SymbolicTensor {
  const a = axis < 0 ? axis + x.rank : axis;
  if (blockSize > 0) {
    const d = x.shape[a] ?? n.unsupported('block quantization needs the blocked axis known at import');
    if (v.rank !== x.rank || (v.shape[a] !== null && v.shape[a] !== Math.ceil(d / blockSize))) {
      n.fail(`a block_size ${blockSize} scale or zero point must have x's rank and ${Math.ceil(d / blockSize)} entries along axis ${a}, got [${v.shape.join(', ')}]`);
    }
    const blockOf = tensor(Array.from({ length: d }, (_, i) => Math.floor(i / blockSize)), [d], 'int32');
    return n.op('gather', [v, n.constant(blockOf)], { axis: a });
  }
  if (v.rank === 0 || (v.rank === 1 && v.shape[0] === 1)) return v;
  return n.op('reshape', [v], { shape: x.shape.map((_, i) => (i === a ? -1 : 1)) });
}

/** saturate(round(x / scale) + zeroPoint), rounding half to even, in the zero point's integer type. */
function quantize(n: OnnxNode, x: SymbolicTensor, scale: SymbolicTensor, zeroPoint: SymbolicTensor | undefined, target: number): SymbolicTensor {
  const range = RANGES[target];
  if (!range) n.unsupported(`quantizing to ${target} is not supported`);
  // x / scale in x's own precision, as ONNX's reference does: a float64 quotient rounds differently
  // where the float32 one lands on .5
  const ft = x.dtype === 'float64' ? 'float64' : 'float32';
  const scaled = castTo(n, n.op('round', [n.op('div', [castTo(n, x, ft), castTo(n, scale, ft)])]), 'float64');
  const shifted = zeroPoint ? n.op('add', [scaled, castTo(n, zeroPoint, 'float64')]) : scaled;
  const clipped = n.op('clip', [shifted, scalarOf(n, range[0], 'float64'), scalarOf(n, range[1], 'float64')]);
  return castTo(n, clipped, 'int32');
}

function dequantize(n: OnnxNode, x: SymbolicTensor, scale: SymbolicTensor, zeroPoint: SymbolicTensor | undefined, dtype: DType): SymbolicTensor {
  const centered = zeroPoint ? n.op('sub', [castTo(n, x, 'float64'), castTo(n, zeroPoint, 'float64')]) : castTo(n, x, 'float64');
  return castTo(n, n.op('mul', [centered, castTo(n, scale, 'float64')]), dtype);
}

defineOnnxOp('QuantizeLinear', (n) => {
  const x = n.input(0);
  const axis = n.attr.int('axis', 1);
  const blockSize = n.attr.int('block_size', 0);
  // opset 21: output_dtype names the type where no zero point does
  const declared = n.attr.int('output_dtype', 0);
  const target = n.has(2) ? n.elemType(2) : declared || DataType.UINT8;
  if (declared && declared !== target) n.fail(`output_dtype ${declared} is not the zero point's type ${target}`);
  n.setElemType(0, target);
  return [quantize(n, x, alongAxis(n, n.input(1), x, axis, blockSize), n.has(2) ? alongAxis(n, n.input(2), x, axis, blockSize) : undefined, target)];
});

defineOnnxOp('DequantizeLinear', (n) => {
  const x = n.input(0);
  const axis = n.attr.int('axis', 1);
  const blockSize = n.attr.int('block_size', 0);
  const dtype = n.info(1).dtype;
  return [dequantize(n, x, alongAxis(n, n.input(1), x, axis, blockSize), n.has(2) ? alongAxis(n, n.input(2), x, axis, blockSize) : undefined, dtype)];
});

defineOnnxOp('DynamicQuantizeLinear', (n) => {
  // uint8 quantization over the range of x extended to include 0 (ONNX's function body, in float32)
  const x = castTo(n, n.input(0), 'float32');
  const zero = scalarOf(n, 0, 'float32');
  const lo = n.op('minimum', [n.op('reduceMin', [x], { axes: x.shape.map((_, i) => i), keepDims: false }), zero]);
  const hi = n.op('maximum', [n.op('reduceMax', [x], { axes: x.shape.map((_, i) => i), keepDims: false }), zero]);
  const scale = n.op('div', [n.op('sub', [hi, lo]), scalarOf(n, 255, 'float32')]);
  const zp = n.op('clip', [n.op('round', [n.op('sub', [zero, n.op('div', [lo, scale])])]), zero, scalarOf(n, 255, 'float32')]);
  const y = quantize(n, x, scale, zp, DataType.UINT8);
  n.setElemType(0, DataType.UINT8);
  n.setElemType(2, DataType.UINT8);
  return [y, castTo(n, scale, 'float32'), castTo(n, zp, 'int32')];
});

/** An integer operand minus its zero point, in float64 (exact for 8-bit products summed far past 2^31). */
function centered(n: OnnxNode, i: number, zp: number): SymbolicTensor {
  const x = castTo(n, n.input(i), 'float64');
  return n.has(zp) ? n.op('sub', [x, castTo(n, n.input(zp), 'float64')]) : x;
}

defineOnnxOp('MatMulInteger', (n) => {
  const a = centered(n, 0, 2);
  let bz = n.has(3) ? castTo(n, n.input(3), 'float64') : undefined;
  // a per-column zero point of B broadcasts along its rows
  if (bz && bz.rank === 1) bz = n.op('reshape', [bz], { shape: [1, -1] });
  const b = bz ? n.op('sub', [castTo(n, n.input(1), 'float64'), bz]) : castTo(n, n.input(1), 'float64');
  return [castTo(n, n.op('matmul', [a, b]), 'int32')];
});

defineOnnxOp('ConvInteger', (n) => {
  const x = centered(n, 0, 2);
  const w = centered(n, 1, 3);
  const attrs = convAttrs(n);
  return [castTo(n, n.op('convNchw', [x, w], attrs), 'int32')];
});

function convAttrs(n: OnnxNode): Record<string, string | number | number[]> {
  const attrs: Record<string, string | number | number[]> = { group: n.attr.int('group', 1) };
  for (const [o, g] of [['strides', 'strides'], ['dilations', 'dilations'], ['pads', 'pads']]) if (n.attr.has(o)) attrs[g] = n.attr.ints(o);
  const autoPad = n.attr.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== '') attrs.autoPad = autoPad;
  return attrs;
}

defineOnnxOp('QLinearMatMul', (n) => {
  const a = dequantize(n, n.input(0), n.input(1), n.input(2), 'float64');
  const b = dequantize(n, n.input(3), n.input(4), n.input(5), 'float64');
  const target = n.elemType(7);
  n.setElemType(0, target);
  return [quantize(n, n.op('matmul', [a, b]), n.input(6), n.input(7), target)];
});

defineOnnxOp('QLinearConv', (n) => {
  const x = n.input(0);
  const xf = dequantize(n, x, n.input(1), n.input(2), 'float64');
  const w = n.input(3);
  const wf = dequantize(n, w, alongAxis(n, n.input(4), w, 0, 0), alongAxis(n, n.input(5), w, 0, 0), 'float64');
  const inputs = [xf, wf];
  if (n.has(8)) {
    // the int32 bias is quantized with scale x_scale * w_scale
    const biasScale = n.op('mul', [castTo(n, n.input(1), 'float64'), castTo(n, n.input(4), 'float64')]);
    inputs.push(n.op('mul', [castTo(n, n.input(8), 'float64'), biasScale]));
  }
  const target = n.elemType(7);
  n.setElemType(0, target);
  return [quantize(n, n.op('convNchw', inputs, convAttrs(n)), n.input(6), n.input(7), target)];
});

