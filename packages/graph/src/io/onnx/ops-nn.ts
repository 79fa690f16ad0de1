import { AttrValue, SymbolicTensor } from '../../graph';
import { RNN_INPUTS } from '../../ops/nn/rnn-common';
import type { OnnxNode } from './context';
import { tensor } from '../../tensor';
import { Param, castTo, int64Param, param, reshapeTo, scalarOf, withParams } from './helpers';
import { defineOnnxOp } from './import';

/** Convolution, pooling, normalization, dense layers, resizing, losses and recurrent layers, NCHW kept. */

/** The window attrs of Conv/ConvTranspose/pools, renamed for graphc and present only where the model sets them. */
function windowAttrs(n: OnnxNode, spatial: number): Record<string, AttrValue> {
  const attrs: Record<string, AttrValue> = {};
  const list = (onnxName: string, name: string, length: number) => {
    if (!n.attr.has(onnxName)) return;
    const v = n.attr.ints(onnxName);
    if (v.length !== length) n.fail(`attribute '${onnxName}' has ${v.length} entries, expected ${length}`);
    attrs[name] = v;
  };
  list('strides', 'strides', spatial);
  list('dilations', 'dilations', spatial);
  list('pads', 'pads', 2 * spatial);
  const autoPad = n.attr.string('auto_pad', 'NOTSET');
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID', ''].includes(autoPad)) n.fail(`auto_pad '${autoPad}' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID`);
  if (autoPad && autoPad !== 'NOTSET') attrs.autoPad = autoPad;
  return attrs;
}

function spatialRank(n: OnnxNode, x: SymbolicTensor): number {
  if (x.rank < 3) n.fail(`input must be [N, C, ...spatial], got rank ${x.rank}`);
  return x.rank - 2;
}

defineOnnxOp('Conv', (n) => {
  const x = n.input(0);
  const w = n.input(1);
  const s = spatialRank(n, x);
  if (n.attr.has('kernel_shape')) {
    const k = n.attr.ints('kernel_shape');
    if (k.length !== s || k.some((d, i) => w.shape[i + 2] !== null && w.shape[i + 2] !== d)) n.fail(`kernel_shape [${k}] does not match the weights`);
  }
  const inputs = [x, w, ...(n.has(2) ? [n.input(2)] : [])];
  return [n.op('convNchw', inputs, { ...windowAttrs(n, s), group: n.attr.int('group', 1) })];
});

defineOnnxOp('ConvTranspose', (n) => {
  const x = n.input(0);
  const s = spatialRank(n, x);
  const attrs = { ...windowAttrs(n, s), group: n.attr.int('group', 1) } as Record<string, AttrValue>;
  if (n.attr.has('output_padding')) attrs.outputPadding = n.attr.ints('output_padding');
  if (n.attr.has('output_shape')) {
    const o = n.attr.ints('output_shape');
    attrs.outputShape = o.length === s + 2 ? o.slice(2) : o;
  }
  const inputs = [x, n.input(1), ...(n.has(2) ? [n.input(2)] : [])];
  return [n.op('convTransposeNchw', inputs, attrs)];
});

function poolAttrs(n: OnnxNode, x: SymbolicTensor): Record<string, AttrValue> {
  const s = spatialRank(n, x);
  const kernel = n.attr.ints('kernel_shape');
  if (kernel.length !== s) n.fail(`kernel_shape has ${kernel.length} entries for ${s} spatial dimensions`);
  return { kernel, ...windowAttrs(n, s), ceilMode: n.attr.int('ceil_mode', 0) === 1 };
}

defineOnnxOp('MaxPool', (n) => {
  const x = n.input(0);
  const attrs = poolAttrs(n, x);
  if (n.attr.int('storage_order', 0) !== 0) attrs.storageOrder = 1;
  if (n.outputCount > 1) attrs.withIndices = true;
  return n.node('maxPoolNchw', [x], attrs).outputTensors;
});

defineOnnxOp('AveragePool', (n) => {
  const x = n.input(0);
  return [n.op('avgPoolNchw', [x], { ...poolAttrs(n, x), countIncludePad: n.attr.int('count_include_pad', 0) === 1 })];
});

defineOnnxOp('LpPool', (n) => {
  const x = n.input(0);
  return [n.op('lpPoolNchw', [x], { ...poolAttrs(n, x), p: n.attr.int('p', 2) })];
});

const spatialAxes = (x: SymbolicTensor) => Array.from({ length: x.rank - 2 }, (_, i) => i + 2);

defineOnnxOp('GlobalAveragePool', (n) => [n.op('reduceMean', [n.input(0)], { axes: spatialAxes(n.input(0)), keepDims: true })]);
defineOnnxOp('GlobalMaxPool', (n) => [n.op('reduceMax', [n.input(0)], { axes: spatialAxes(n.input(0)), keepDims: true })]);
defineOnnxOp('GlobalLpPool', (n) => {
  const x = n.input(0);
  const p = n.attr.int('p', 2);
  const sum = n.op('reduceSum', [n.op('pow', [n.op('abs', [x]), scalarOf(n, p, x.dtype)])], { axes: spatialAxes(x), keepDims: true });
  return [n.op('pow', [sum, scalarOf(n, 1 / p, x.dtype)])];
});

/** A per-channel [C] vector shaped to broadcast over [N, C, ...spatial]. */
function perChannel(n: OnnxNode, v: SymbolicTensor, rank: number): SymbolicTensor {
  if (rank <= 2 || v.rank !== 1) return v;
  return reshapeTo(n, v, [v.shape[0], ...new Array(rank - 2).fill(1)], v);
}

const allButChannel = (x: SymbolicTensor) => Array.from({ length: x.rank }, (_, i) => i).filter((i) => i !== 1);

defineOnnxOp('BatchNormalization', (n) => {
  const x = n.input(0);
  const eps = n.attr.float('epsilon', 1e-5);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => perChannel(n, n.input(i), x.rank));
  const training = n.opset >= 14 ? n.attr.int('training_mode', 0) === 1 : n.opset < 7 ? n.attr.int('is_test', 0) === 0 && n.outputCount > 1 : n.outputCount > 1;
  if (n.opset < 9 && n.attr.int('spatial', 1) === 0) n.unsupported('spatial=0 (per-activation statistics) is not supported');
  if (!training) return [n.op('batchNorm', [x, mean, variance, bias, scale], { varianceEpsilon: eps })];
  // training: normalize with the batch's statistics and update the running ones
  const axes = allButChannel(x);
  const batchMean = n.op('reduceMean', [x], { axes, keepDims: true });
  const centered = n.op('sub', [x, batchMean]);
  const batchVar = n.op('reduceMean', [n.op('mul', [centered, centered])], { axes, keepDims: true });
  const y = n.op('batchNorm', [x, batchMean, batchVar, bias, scale], { varianceEpsilon: eps });
  const momentum = n.attr.float('momentum', 0.9);
  const flat = (t: SymbolicTensor) => n.op('reshape', [t], { shape: [-1] });
  const blend = (running: SymbolicTensor, current: SymbolicTensor) =>
    n.op('add', [n.op('mul', [flat(running), scalarOf(n, momentum, x.dtype)]), n.op('mul', [flat(current), scalarOf(n, 1 - momentum, x.dtype)])]);
  return [y, blend(mean, batchMean), blend(variance, batchVar)];
});

defineOnnxOp('InstanceNormalization', (n) => {
  const x = n.input(0);
  const eps = n.attr.float('epsilon', 1e-5);
  const axes = spatialAxes(x);
  const mean = n.op('reduceMean', [x], { axes, keepDims: true });
  const centered = n.op('sub', [x, mean]);
  const variance = n.op('reduceMean', [n.op('mul', [centered, centered])], { axes, keepDims: true });
  const normalized = n.op('div', [centered, n.op('sqrt', [n.op('add', [variance, scalarOf(n, eps, x.dtype)])])]);
  const scale = perChannel(n, n.input(1), x.rank);
  const bias = perChannel(n, n.input(2), x.rank);
  return [n.op('add', [n.op('mul', [normalized, scale]), bias])];
});

/**
 * GroupNormalization (opset 18; 21 made scale and bias per channel, they were per group): moments
 * over each group of C / G channels and all spatial positions. The statistics go per channel first
 * (a mean over the spatial axes), then per group ([N, C] viewed as [N, G, C / G]), so only the batch
 * dimension may be unknown at import.
 */
defineOnnxOp('GroupNormalization', (n) => {
  const x = n.input(0);
  const groups = n.attr.int('num_groups');
  if (x.rank < 2) n.fail(`the input needs a channel axis, got rank ${x.rank}`);
  const channels = x.shape[1] ?? n.unsupported('GroupNormalization needs the channel count known at import');
  if (!(groups >= 1 && channels % groups === 0)) n.fail(`num_groups ${groups} does not divide ${channels} channels`);
  const eps = n.attr.float('epsilon', 1e-5);
  const per = channels / groups;
  const spatial = spatialAxes(x);
  const ones = new Array(x.rank - 2).fill(1);
  // [N, C, 1, ...] per-channel means -> the mean of each one's group, back at every channel of it
  const groupMean = (t: SymbolicTensor): SymbolicTensor => {
    const perChannelMean = spatial.length ? n.op('reduceMean', [t], { axes: spatial, keepDims: true }) : t;
    const byGroup = n.op('reduceMean', [n.op('reshape', [perChannelMean], { shape: [-1, groups, per] })], { axes: [2], keepDims: true });
    return n.op('reshape', [n.op('tile', [byGroup], { multiples: [1, 1, per] })], { shape: [-1, channels, ...ones] });
  };
  const centered = n.op('sub', [x, groupMean(x)]);
  const variance = groupMean(n.op('mul', [centered, centered]));
  const normalized = n.op('div', [centered, n.op('sqrt', [n.op('add', [variance, scalarOf(n, eps, x.dtype)])])]);
  const perChannelParam = (i: number): SymbolicTensor => {
    const v = n.input(i);
    const expected = n.opset >= 21 ? channels : groups;
    if (v.rank !== 1 || (v.shape[0] !== null && v.shape[0] !== expected)) n.fail(`input ${i} must be [${expected}] (${n.opset >= 21 ? 'per channel' : 'per group, before opset 21'}), got [${v.shape.join(', ')}]`);
    const row = n.opset >= 21 ? v : n.op('reshape', [n.op('tile', [n.op('reshape', [v], { shape: [groups, 1] })], { multiples: [1, per] })], { shape: [channels] });
    return perChannel(n, row, x.rank);
  };
  return [n.op('add', [n.op('mul', [normalized, perChannelParam(1)]), perChannelParam(2)])];
});

/**
 * RMS normalization over the axes from `first` on: [x * invStd * scale, invStd], invStd =
 * 1 / sqrt(mean(x^2) + epsilon) with the normalized axes kept (ONNX's RMSNormalization and
 * onnxruntime's simplified layer norms): graphc's rmsNorm op.
 */
export function rmsNormalize(n: OnnxNode, x: SymbolicTensor, first: number, epsilon: number, scale: SymbolicTensor): [SymbolicTensor, SymbolicTensor] {
  const [y, invStd] = n.node('rmsNorm', [x, scale], { axis: first, epsilon }).outputTensors;
  return [y, invStd];
}

/** RMSNormalization (opset 23): x / sqrt(mean(x^2 over the axes from `axis` on) + epsilon) * scale. */
defineOnnxOp('RMSNormalization', (n) => {
  const x = n.input(0);
  const axis = n.attr.int('axis', -1);
  const first = axis < 0 ? axis + x.rank : axis;
  if (first < 0 || first >= x.rank) n.fail(`axis ${axis} is outside [${-x.rank}, ${x.rank - 1}]`);
  return [rmsNormalize(n, x, first, n.attr.float('epsilon', 1e-5), n.input(1))[0]];
});

/** An ONNX Reshape by a known target, where 0 copies the input's dimension (so unknown ones may stay). */
function reshapeKeeping(n: OnnxNode, x: SymbolicTensor, target: number[]): SymbolicTensor {
  return withParams(n, 'onnx.Reshape', [x], [int64Param(n, target)], { allowzero: false }).output(0);
}

/** x[..., at] along the last axis, for constant positions `at`. */
function lastAxisAt(n: OnnxNode, x: SymbolicTensor, at: number[]): SymbolicTensor {
  return n.op('gather', [x, n.constant(tensor(at, [at.length], 'int32'))], { axis: x.rank - 1 });
}

/** A rotary embedding's caches and settings (ONNX's RotaryEmbedding and onnxruntime's contrib one share them). */
export interface Rotary {
  /** [positions, R / 2] indexed by `positions` ([B, S]), or already [B, S, R / 2] without them. */
  cos: SymbolicTensor;
  sin: SymbolicTensor;
  positions?: SymbolicTensor;
  /** Heads of a [B, S, hidden] input (unused for [B, H, S, D]). */
  heads: number;
  /** Values rotated per head (0: all of them). */
  rotaryDim: number;
  interleaved: boolean;
}

/**
 * A rotary embedding as ONNX's reference computes it: the first R values of each head rotate by the
 * cached angle of the token's position; pairs are the two halves, or neighbours when interleaved.
 * `input` is [B, H, S, D], or [B, S, H * D].
 */
export function rotaryEmbedding(n: OnnxNode, input: SymbolicTensor, r: Rotary): SymbolicTensor {
  if (input.rank !== 3 && input.rank !== 4) n.fail(`the input must be [B, H, S, D] or [B, S, hidden], got rank ${input.rank}`);
  let x = input;
  if (input.rank === 3) {
    const hidden = input.shape[2] ?? n.unsupported('a 3-D rotary embedding input needs its hidden size known at import');
    if (!(r.heads > 0 && hidden % r.heads === 0)) n.fail(`num_heads ${r.heads} does not divide the hidden size ${hidden}`);
    x = reshapeKeeping(n, input, [0, 0, r.heads, hidden / r.heads]); // [B, S, H, D]
  }
  const headSize = x.shape[3] ?? n.unsupported('a rotary embedding needs the head size known at import');
  const rotated = r.rotaryDim || headSize;
  if (rotated % 2 || rotated > headSize) n.fail(`rotary_embedding_dim ${rotated} must be even and at most the head size ${headSize}`);
  const half = rotated / 2;
  const angles = (cache: SymbolicTensor): SymbolicTensor => {
    const perToken = r.positions ? n.op('gather', [cache, r.positions], { axis: 0 }) : cache; // [B, S, R / 2]
    // beside the heads axis: [B, 1, S, R / 2] for [B, H, S, D], [B, S, 1, R / 2] for [B, S, H, D]
    return n.op('expandDims', [perToken], { axis: input.rank === 4 ? 1 : 2 });
  };
  const [cos, sin] = [angles(r.cos), angles(r.sin)];
  const range = (count: number, from = 0, step = 1) => Array.from({ length: count }, (_, i) => from + i * step);
  const x1 = lastAxisAt(n, x, r.interleaved ? range(half, 0, 2) : range(half));
  const x2 = lastAxisAt(n, x, r.interleaved ? range(half, 1, 2) : range(half, half));
  const real = n.op('sub', [n.op('mul', [cos, x1]), n.op('mul', [sin, x2])]);
  const imag = n.op('add', [n.op('mul', [sin, x1]), n.op('mul', [cos, x2])]);
  const pairs = n.op('concat', [real, imag], { axis: x.rank - 1 });
  // interleaved: real and imaginary parts alternate again
  let y = r.interleaved ? lastAxisAt(n, pairs, range(rotated).map((k) => (k % 2 ? half : 0) + (k >> 1))) : pairs;
  if (rotated < headSize) y = n.op('concat', [y, lastAxisAt(n, x, range(headSize - rotated, rotated))], { axis: x.rank - 1 });
  return input.rank === 3 ? reshapeKeeping(n, y, [0, 0, input.shape[2] as number]) : y;
}

// opset 23: (input, cos_cache, sin_cache, position_ids?)
defineOnnxOp('RotaryEmbedding', (n) => [
  rotaryEmbedding(n, n.input(0), {
    cos: n.input(1),
    sin: n.input(2),
    positions: n.has(3) ? n.input(3) : undefined,
    heads: n.attr.int('num_heads', 0),
    rotaryDim: n.attr.int('rotary_embedding_dim', 0),
    interleaved: n.attr.int('interleaved', 0) !== 0,
  }),
]);

defineOnnxOp('LayerNormalization', (n) => {
  const inputs = [n.input(0), n.input(1), ...(n.has(2) ? [n.input(2)] : [])];
  return n.node('layerNorm', inputs, { axis: n.attr.int('axis', -1), epsilon: n.attr.float('epsilon', 1e-5) }).outputTensors;
});

defineOnnxOp('LRN', (n) => [
  n.op('lrnNchw', [n.input(0)], { size: n.attr.int('size'), alpha: n.attr.float('alpha', 1e-4), beta: n.attr.float('beta', 0.75), bias: n.attr.float('bias', 1) }),
]);

defineOnnxOp('MeanVarianceNormalization', (n) => {
  const x = n.input(0);
  const axes = n.attr.ints('axes', [0, 2, 3]).map((a) => (a < 0 ? a + x.rank : a));
  // as ONNX's function body: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9)
  const mean = n.op('reduceMean', [x], { axes, keepDims: true });
  const meanOfSquares = n.op('reduceMean', [n.op('mul', [x, x])], { axes, keepDims: true });
  const variance = n.op('sub', [meanOfSquares, n.op('mul', [mean, mean])]);
  const std = n.op('add', [n.op('sqrt', [variance]), scalarOf(n, 1e-9, x.dtype)]);
  return [n.op('div', [n.op('sub', [x, mean]), std])];
});

/** numpy matmul (rank-1 operands promoted, then the added dimension dropped), any numeric dtype. */
function matmul(n: OnnxNode, a: SymbolicTensor, b: SymbolicTensor, transposeA = false, transposeB = false): SymbolicTensor {
  const dtype = a.dtype;
  const compute = dtype === 'int64' ? 'float64' : dtype;
  let x = castTo(n, a, compute);
  let y = castTo(n, b, compute);
  const vecA = x.rank === 1;
  const vecB = y.rank === 1;
  if (vecA) x = n.op('expandDims', [x], { axis: 0 });
  if (vecB) y = n.op('expandDims', [y], { axis: -1 });
  let out = n.op('matmul', [x, y], { transposeA, transposeB });
  if (vecA) out = n.op('squeeze', [out], { axes: [out.rank - 2] });
  if (vecB) out = n.op('squeeze', [out], { axes: [out.rank - 1] });
  return castTo(n, out, dtype);
}

defineOnnxOp('MatMul', (n) => [matmul(n, n.input(0), n.input(1))]);

defineOnnxOp('Gemm', (n) => {
  const a = n.input(0);
  const alpha = n.attr.float('alpha', 1);
  const beta = n.attr.float('beta', 1);
  let y = matmul(n, a, n.input(1), n.attr.int('transA', 0) === 1, n.attr.int('transB', 0) === 1);
  if (alpha !== 1) y = n.op('mul', [y, scalarOf(n, alpha, y.dtype)]);
  if (n.has(2) && beta !== 0) {
    let c = n.input(2);
    if (beta !== 1) c = n.op('mul', [c, scalarOf(n, beta, c.dtype)]);
    y = n.op('add', [y, c]);
  }
  return [y];
});

const COORDINATE_MODES = ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn', 'tf_crop_and_resize'];

/** A Resize parameter input, or undefined where the model omits it or passes an empty tensor. */
function optionalParam(n: OnnxNode, i: number): Param | undefined {
  if (!n.has(i)) return undefined;
  const p = param(n, i);
  if (p.value ? p.value.data.length === 0 : p.tensor.shape[0] === 0) return undefined;
  return p;
}

function resize(n: OnnxNode, fixed: Record<string, AttrValue>, params: [string, Param | undefined][]): SymbolicTensor {
  const present = params.filter((p): p is [string, Param] => p[1] !== undefined);
  if (!present.some(([k]) => k === 'scales' || k === 'sizes')) n.fail('needs scales or sizes');
  return withParams(n, 'onnx.Resize', [n.input(0)], present.map(([, p]) => p), { ...fixed, params: present.map(([k]) => k) }).output(0);
}

defineOnnxOp('Resize', (n) => {
  const mode = n.attr.string('mode', 'nearest');
  if (!['nearest', 'linear', 'cubic'].includes(mode)) n.unsupported(`mode '${mode}' is not supported`);
  if (n.attr.int('antialias', 0) !== 0) n.unsupported('antialias is not supported');
  if (n.attr.has('axes') || n.attr.string('keep_aspect_ratio_policy', 'stretch') !== 'stretch') n.unsupported('axes and keep_aspect_ratio_policy are not supported');
  if (n.opset < 11) {
    // opset 10: Upsample's semantics
    return [resize(n, { mode, coordinateTransformationMode: 'asymmetric', nearestMode: 'floor' }, [['scales', optionalParam(n, 1)]])];
  }
  const coordinate = n.attr.string('coordinate_transformation_mode', 'half_pixel');
  if (!COORDINATE_MODES.includes(coordinate)) n.unsupported(`coordinate_transformation_mode '${coordinate}' is not supported`);
  const fixed: Record<string, AttrValue> = {
    mode,
    coordinateTransformationMode: coordinate,
    nearestMode: n.attr.string('nearest_mode', 'round_prefer_floor'),
    cubicCoeffA: n.attr.float('cubic_coeff_a', -0.75),
    excludeOutside: n.attr.int('exclude_outside', 0) === 1,
    extrapolationValue: n.attr.float('extrapolation_value', 0),
  };
  const roi = coordinate === 'tf_crop_and_resize' ? optionalParam(n, 1) : undefined;
  return [resize(n, fixed, [['roi', roi], ['scales', optionalParam(n, 2)], ['sizes', optionalParam(n, 3)]])];
});

defineOnnxOp('Upsample', (n) => {
  const mode = n.attr.string('mode', 'nearest');
  const m = mode === 'bilinear' ? 'linear' : mode;
  if (!['nearest', 'linear'].includes(m)) n.unsupported(`mode '${mode}' is not supported`);
  const fixed = { mode: m, coordinateTransformationMode: 'asymmetric', nearestMode: 'floor' };
  if (n.opset >= 9) return [resize(n, fixed, [['scales', optionalParam(n, 1)]])];
  const scales = n.attr.floats('scales');
  return [resize(n, fixed, [['scales', { tensor: n.constant(scales), value: { dtype: 'float32', shape: [scales.length], data: Float32Array.from(scales) } }]])];
});

function nllAttrs(n: OnnxNode): Record<string, AttrValue> {
  return { reduction: n.attr.string('reduction', 'mean'), ignoreIndex: n.attr.has('ignore_index') ? n.attr.int('ignore_index') : null };
}

defineOnnxOp('NegativeLogLikelihoodLoss', (n) => [n.op('nllLoss', [n.input(0), n.input(1), ...(n.has(2) ? [n.input(2)] : [])], nllAttrs(n))]);

defineOnnxOp('SoftmaxCrossEntropyLoss', (n) => {
  const scores = n.input(0);
  const logProb = n.op('logSoftmax', [scores], { axis: 1 });
  const loss = n.op('nllLoss', [logProb, n.input(1), ...(n.has(2) ? [n.input(2)] : [])], nllAttrs(n));
  return [loss, logProb];
});

/** LSTM, GRU and RNN: the inputs present, and ONNX's attrs under graphc names. */
function recurrent(op: string, gates: number) {
  return (n: OnnxNode) => {
    const present = RNN_INPUTS.slice(0, op === 'lstm' ? 8 : 6).flatMap((name, i) => (n.has(i) ? [{ name, i }] : []));
    const inputs = present.map(({ name, i }) => (name === 'sequenceLens' ? castTo(n, n.input(i), 'int32') : n.input(i)));
    const w = n.info(1).shape;
    const hidden = n.attr.int('hidden_size', (w[1] ?? 0) / gates);
    const attrs: Record<string, AttrValue> = {
      inputs: present.map((p) => p.name),
      hiddenSize: hidden,
      direction: n.attr.string('direction', 'forward'),
      layout: n.attr.int('layout', 0),
    };
    if (n.attr.has('activations')) attrs.activations = n.attr.strings('activations');
    if (n.attr.has('activation_alpha')) attrs.activationAlpha = n.attr.floats('activation_alpha');
    if (n.attr.has('activation_beta')) attrs.activationBeta = n.attr.floats('activation_beta');
    if (n.attr.has('clip')) attrs.clip = n.attr.float('clip');
    if (op === 'lstm') attrs.inputForget = n.attr.int('input_forget', 0) === 1;
    if (op === 'gru') attrs.linearBeforeReset = n.attr.int('linear_before_reset', 0) === 1;
    return n.node(op, inputs, attrs).outputTensors;
  };
}

defineOnnxOp('LSTM', recurrent('lstm', 4));
defineOnnxOp('GRU', recurrent('gru', 3));
defineOnnxOp('RNN', recurrent('rnn', 1));
