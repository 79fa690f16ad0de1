import { DType } from '../../dtype';
import { SymbolicTensor } from '../../graph';
import { TensorValue, tensor } from '../../tensor';
import type { OnnxNode, OnnxOutput } from './context';
import { castTo, scalarOf, withParams } from './helpers';
import { defineOnnxOp } from './import';
import { DataType } from './proto';
import { dtypeOfOnnx } from './tensor';

/**
 * DFT, STFT and MelWeightMatrix, composed from graphc ops so that gradients, fusion and every
 * backend come with them. A DFT along an axis of length N is two matmuls with [N, K] cosine and sine
 * matrices (K output bins); zero-padding or truncating to dft_length, the one-sided half spectrum, the
 * sign and 1/N of the inverse all live in those matrices. When the lengths are known at import the
 * matrices are constants; otherwise the same matrices are built by graph ops at run time. Complex
 * tensors are float tensors with a trailing dimension of 2 (real, imaginary), as in ONNX.
 */

/** An int64 scalar known at import (a number) or only at run time (a tensor). */
type IntScalar = number | SymbolicTensor;

/** Largest DFT matrix (elements) built; the matmul form is quadratic in the signal length. */
const MAX_MATRIX_ELEMENTS = 1 << 24;

function intTensor(n: OnnxNode, v: IntScalar): SymbolicTensor {
  return typeof v === 'number' ? scalarOf(n, v, 'int64') : v;
}

/** Integer arithmetic on import-time numbers where both are known, else graph ops. */
function intOp(n: OnnxNode, op: 'add' | 'sub' | 'mul' | 'floorDiv', a: IntScalar, b: IntScalar): IntScalar {
  if (typeof a === 'number' && typeof b === 'number') {
    if (op === 'add') return a + b;
    if (op === 'sub') return a - b;
    if (op === 'mul') return a * b;
    return Math.floor(a / b);
  }
  return n.op(op, [intTensor(n, a), intTensor(n, b)]);
}

/** Input `index` as an int64 scalar: its value when known at import, else the tensor reshaped to []. */
function intInput(n: OnnxNode, index: number, what: string): IntScalar {
  const v = n.numbers(index);
  if (v) {
    if (v.length !== 1) n.fail(`${what} must be a scalar, got ${v.length} values`);
    return v[0];
  }
  const t = n.input(index);
  const scalar = t.rank === 0 ? t : n.op('reshape', [t], { shape: [] });
  return castTo(n, scalar, 'int64');
}

/** Dimension `axis` of x: known at build time, else read from its shape at run time. */
function dimOf(n: OnnxNode, x: SymbolicTensor, axis: number): IntScalar {
  const d = x.shape[axis];
  return d !== null ? d : n.op('gather', [n.op('shapeOf', [x]), scalarOf(n, axis, 'int64')], { axis: 0 });
}

/** 0, 1, ..., count - 1 as int64 [count]. */
function rangeOf(n: OnnxNode, count: IntScalar): SymbolicTensor {
  if (typeof count === 'number') return n.constant(tensor(Array.from({ length: Math.max(0, count) }, (_, i) => i), [Math.max(0, count)], 'int64'));
  const zero = n.constant(tensor([0], [], 'int64'));
  const one = n.constant(tensor([1], [], 'int64'));
  return withParams(n, 'onnx.Range', [], [{ tensor: zero, value: tensor([0], [], 'int64') }, { tensor: count }, { tensor: one, value: tensor([1], [], 'int64') }], { dtype: 'int64' }).output(0);
}

/** cos and sin of 2 pi r / L, exact at the multiples of a quarter turn. */
function unitCircle(r: number, L: number): [number, number] {
  if ((4 * r) % L === 0) return ([[1, 0], [0, 1], [-1, 0], [0, -1]] as [number, number][])[(4 * r) / L];
  const angle = (2 * Math.PI * r) / L;
  return [Math.cos(angle), Math.sin(angle)];
}

/** Cosine and sine matrices of a DFT, [input samples, output bins]. */
interface DftMatrices {
  cos: SymbolicTensor;
  sin: SymbolicTensor;
}

interface DftSpec {
  inputLength: IntScalar;
  dftLength: IntScalar;
  bins: IntScalar;
  inverse: boolean;
  dtype: DType;
  /** Per-sample weights of the input (STFT's window): a value folds into constant matrices. */
  window?: { tensor: SymbolicTensor; value?: TensorValue };
}

/**
 * The DFT as matrices over an axis of `inputLength` samples: y_k = sum_n x_n exp(sign 2 pi i k n / L)
 * * scale for k < bins, where samples at n >= L are dropped (truncation) and samples past the input
 * are zeros (padding). Returns [inputLength, bins] matrices C and S with the scale and sign folded in,
 * so that for x = xr + i xi: yr = xr C - xi S, yi = xr S + xi C.
 */
function dftMatrices(n: OnnxNode, spec: DftSpec): DftMatrices {
  const { inputLength: N, dftLength: L, bins: K, inverse, dtype, window } = spec;
  const sign = inverse ? 1 : -1;
  if (typeof N === 'number' && typeof L === 'number' && typeof K === 'number' && (!window || window.value)) {
    if (L < 1) n.fail(`the DFT length must be at least 1, got ${L}`);
    if (N * K > MAX_MATRIX_ELEMENTS) n.unsupported(`a DFT of ${N} samples into ${K} bins needs a ${N}x${K} matrix, more than graphc builds (${MAX_MATRIX_ELEMENTS} elements)`);
    if (window && window.value!.data.length !== N) n.fail(`the window has ${window.value!.data.length} values, the frames ${N}`);
    const scale = inverse ? 1 / L : 1;
    const c = new Float64Array(N * K);
    const s = new Float64Array(N * K);
    for (let k = 0; k < K; k++) {
      // r = k n mod L, stepped so that it stays exact for any length
      let r = 0;
      for (let i = 0; i < Math.min(N, L); i++) {
        const [cv, sv] = unitCircle(r, L);
        const w = scale * (window ? Number(window.value!.data[i]) : 1);
        c[i * K + k] = cv * w;
        s[i * K + k] = sign * sv * w;
        r = (r + k) % L;
      }
    }
    return { cos: n.constant(tensor(c, [N, K], dtype)), sin: n.constant(tensor(s, [N, K], dtype)) };
  }
  // run-time lengths: the same matrices from range, mod, cos and sin (float64, then the signal's dtype)
  const nIdx = n.op('reshape', [rangeOf(n, N)], { shape: [-1, 1] });
  const kIdx = n.op('reshape', [rangeOf(n, K)], { shape: [1, -1] });
  const Lt = intTensor(n, L);
  const r = n.op('mod', [n.op('mul', [nIdx, kIdx]), Lt]);
  const Lf = castTo(n, Lt, 'float64');
  const angle = n.op('div', [n.op('mul', [castTo(n, r, 'float64'), scalarOf(n, 2 * Math.PI, 'float64')]), Lf]);
  // samples at n >= L are truncated away
  let weight = castTo(n, n.op('less', [nIdx, Lt]), 'float64');
  if (inverse) weight = n.op('div', [weight, Lf]);
  if (window) weight = n.op('mul', [weight, n.op('reshape', [castTo(n, window.tensor, 'float64')], { shape: [-1, 1] })]);
  // exact zeros at the quarter turns, as the constant matrices have (a backend without float64 would
  // otherwise leave sin(pi) = -8.7e-8 times the signal in the Nyquist bin)
  const int = (v: number) => scalarOf(n, v, 'int64');
  const snap = (t: SymbolicTensor, zeroWhere: SymbolicTensor) => n.op('where', [zeroWhere, n.op('zerosLike', [t]), t]);
  const cosZero = n.op('equal', [n.op('mod', [n.op('mul', [r, int(4)]), n.op('mul', [Lt, int(2)])]), Lt]);
  const sinZero = n.op('equal', [n.op('mod', [n.op('mul', [r, int(2)]), Lt]), int(0)]);
  const cos = n.op('mul', [snap(n.op('cos', [angle]), cosZero), weight]);
  const sin = n.op('mul', [snap(n.op('sin', [angle]), sinZero), n.op('mul', [weight, scalarOf(n, sign, 'float64')])]);
  return { cos: castTo(n, cos, dtype), sin: castTo(n, sin, dtype) };
}

/** The real and (if complex) imaginary parts of x [..., 1 or 2], each [...]. */
function complexParts(n: OnnxNode, x: SymbolicTensor): [SymbolicTensor, SymbolicTensor | undefined] {
  const last = x.rank - 1;
  const c = x.shape[last];
  if (c === 1) return [n.op('squeeze', [x], { axes: [last] }), undefined];
  if (c === 2) {
    const part = (i: number) => n.op('gather', [x, scalarOf(n, i, 'int64')], { axis: last });
    return [part(0), part(1)];
  }
  return n.unsupported(`the last dimension of the input must be 1 (real) or 2 (complex), got ${c === null ? 'an unknown size' : c}`);
}

/** The DFT of xr + i xi along their last axis: [..., K, 2]. */
function transformLastAxis(n: OnnxNode, xr: SymbolicTensor, xi: SymbolicTensor | undefined, m: DftMatrices): SymbolicTensor {
  // matmul needs rank 2; a lone signal becomes one row
  const lone = xr.rank === 1;
  const row = (t: SymbolicTensor) => (lone ? n.op('expandDims', [t], { axis: 0 }) : t);
  let yr = n.op('matmul', [row(xr), m.cos]);
  let yi = n.op('matmul', [row(xr), m.sin]);
  if (xi) {
    yr = n.op('sub', [yr, n.op('matmul', [row(xi), m.sin])]);
    yi = n.op('add', [yi, n.op('matmul', [row(xi), m.cos])]);
  }
  const y = n.op('concat', [n.op('expandDims', [yr], { axis: -1 }), n.op('expandDims', [yi], { axis: -1 })], { axis: -1 });
  return lone ? n.op('squeeze', [y], { axes: [0] }) : y;
}

function realFloat(n: OnnxNode, x: SymbolicTensor): SymbolicTensor {
  if (x.dtype !== 'float32' && x.dtype !== 'float64') n.unsupported(`the signal must be a float tensor, got ${x.dtype}`);
  return x;
}

defineOnnxOp('DFT', (n) => {
  const x = realFloat(n, n.input(0));
  const rank = x.rank;
  if (rank < 2) n.fail(`the input needs a signal axis and a trailing real/imaginary axis, got rank ${rank}`);
  // opset 17: axis is an attribute (default 1); opset 20 moved it to input 2 (default -2, the last signal axis)
  let given = n.attr.int('axis', 1);
  if (n.opset >= 20) {
    const v = n.has(2) ? n.numbers(2) : [-2];
    if (!v || v.length !== 1) n.unsupported('a DFT axis computed at run time is not supported');
    given = v![0];
  }
  let axis = given;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank - 2) n.fail(`axis ${given} is outside [${-rank}, -2] and [0, ${rank - 2}] for an input of rank ${rank}`);
  const inverse = n.attr.int('inverse', 0) !== 0;
  const onesided = n.attr.int('onesided', 0) !== 0;
  const [re, im] = complexParts(n, x);
  const inputLength = dimOf(n, re, axis);
  const dftLength = n.has(1) ? intInput(n, 1, 'dft_length') : inputLength;
  if (typeof dftLength === 'number' && dftLength < 1) n.fail(`dft_length must be at least 1, got ${dftLength}`);
  // onesided keeps bins 0..L/2, after the inverse too (as ONNX's reference implementation does)
  const bins = onesided ? intOp(n, 'add', intOp(n, 'floorDiv', dftLength, 2), 1) : dftLength;
  const m = dftMatrices(n, { inputLength, dftLength, bins, inverse, dtype: x.dtype });
  // move the signal axis last, transform, and put the bins back where the axis was
  const last = rank - 2;
  const perm = [...Array(rank - 1).keys()].filter((d) => d !== axis).concat([axis]);
  const moved = (t: SymbolicTensor | undefined) => (t && axis !== last ? n.op('transpose', [t], { perm }) : t);
  const y = transformLastAxis(n, moved(re)!, moved(im), m);
  if (axis === last) return [y];
  const back = [...Array(rank).keys()];
  back.splice(axis, 0, back.splice(last, 1)[0]);
  return [n.op('transpose', [y], { perm: back })];
});

defineOnnxOp('STFT', (n) => {
  const signal = realFloat(n, n.input(0));
  if (signal.rank !== 3) n.fail(`the signal must be [batch, length, 1 or 2], got rank ${signal.rank}`);
  const step = intInput(n, 1, 'frame_step');
  if (typeof step === 'number' && step < 1) n.fail(`frame_step must be at least 1, got ${step}`);
  const window = n.has(2) ? { tensor: n.input(2), value: n.value(2) } : undefined;
  if (window && window.tensor.rank !== 1) n.fail(`the window must have rank 1, got rank ${window.tensor.rank}`);
  const windowLength = window ? dimOf(n, window.tensor, 0) : undefined;
  const length = dimOf(n, signal, 1);
  const frameLength = n.has(3) ? intInput(n, 3, 'frame_length') : (windowLength ?? length);
  if (typeof frameLength === 'number' && frameLength < 1) n.fail(`frame_length must be at least 1, got ${frameLength}`);
  if (typeof windowLength === 'number' && typeof frameLength === 'number' && windowLength !== frameLength) {
    n.unsupported(`a window of ${windowLength} values with frame_length ${frameLength} (they must be equal)`);
  }
  const frames = intOp(n, 'add', intOp(n, 'floorDiv', intOp(n, 'sub', length, frameLength), step), 1);
  if (typeof frames === 'number' && frames < 1) n.fail(`a signal of ${length} samples holds no frame of ${frameLength}`);
  // frame f holds samples f * step + t, t < frame_length: one gather with an index table
  let index: SymbolicTensor;
  if (typeof frames === 'number' && typeof step === 'number' && typeof frameLength === 'number') {
    const table = new Float64Array(frames * frameLength);
    for (let f = 0; f < frames; f++) for (let t = 0; t < frameLength; t++) table[f * frameLength + t] = f * step + t;
    index = n.constant(tensor(table, [frames, frameLength], 'int64'));
  } else {
    const starts = n.op('mul', [n.op('reshape', [rangeOf(n, frames)], { shape: [-1, 1] }), intTensor(n, step)]);
    index = n.op('add', [starts, n.op('reshape', [rangeOf(n, frameLength)], { shape: [1, -1] })]);
  }
  const framed = n.op('gather', [signal, index], { axis: 1 });
  const onesided = n.attr.int('onesided', 1) !== 0;
  const bins = onesided ? intOp(n, 'add', intOp(n, 'floorDiv', frameLength, 2), 1) : frameLength;
  const m = dftMatrices(n, { inputLength: frameLength, dftLength: frameLength, bins, inverse: false, dtype: signal.dtype, window });
  const [re, im] = complexParts(n, framed);
  return [transformLastAxis(n, re, im, m)];
});

/** numpy's float32 arithmetic, for the steps ONNX's reference does in the input's float32. */
type Round = (v: number) => number;

/** Band edges of the mel filters as spectrogram bin numbers (ONNX's reference, step by step). */
function melBins(melBinCount: number, dftLength: number, sampleRate: number, lower: number, upper: number, round: Round): number[] {
  const toMel = (hz: number) => round(2595 * round(Math.log10(round(1 + round(hz / 700)))));
  const lowMel = toMel(lower);
  const step = round((toMel(upper) - lowMel) / (melBinCount + 2));
  return Array.from({ length: melBinCount + 2 }, (_, i) => {
    const hz = 700 * (10 ** ((i * step + lowMel) / 2595) - 1);
    return Math.floor(((dftLength + 1) * hz) / sampleRate);
  });
}

/** Triangular filters over the bins [left, center, right] of each mel band; [spectrogram bins, mel bins]. */
function melMatrix(melBinCount: number, dftLength: number, edges: number[]): Float64Array {
  const rows = Math.floor(dftLength / 2) + 1;
  const out = new Float64Array(rows * melBinCount);
  const set = (j: number, i: number, v: number) => {
    if (j >= 0 && j < rows) out[j * melBinCount + i] = v;
  };
  for (let i = 0; i < melBinCount; i++) {
    const [left, center, right] = [edges[i], edges[i + 1], edges[i + 2]];
    if (center === left) set(center, i, 1);
    else for (let j = left; j <= center; j++) set(j, i, (j - left) / (center - left));
    if (right > center) for (let j = center; j < right; j++) set(j, i, (right - j) / (right - center));
  }
  return out;
}

defineOnnxOp('MelWeightMatrix', (n): OnnxOutput[] => {
  const dtype = dtypeOfOnnx(n.attr.int('output_datatype', DataType.FLOAT), `node '${n.name}'`);
  const known = [0, 1, 2, 3, 4].map((i) => n.numbers(i));
  for (const [i, what] of ['num_mel_bins', 'dft_length', 'sample_rate', 'lower_edge_hertz', 'upper_edge_hertz'].entries()) {
    if (known[i] && known[i]!.length !== 1) n.fail(`${what} must be a scalar, got ${known[i]!.length} values`);
  }
  const edgeType = n.info(3).dtype;
  const round: Round = edgeType === 'float64' ? (v) => v : Math.fround;
  if (known.every((v) => v)) {
    const [melBinCount, dftLength, sampleRate, lower, upper] = known.map((v) => v![0]);
    if (melBinCount < 1 || dftLength < 1 || sampleRate < 1) n.fail(`num_mel_bins, dft_length and sample_rate must be positive, got ${melBinCount}, ${dftLength}, ${sampleRate}`);
    const edges = melBins(melBinCount, dftLength, sampleRate, lower, upper, round);
    const rows = Math.floor(dftLength / 2) + 1;
    if (rows * melBinCount > MAX_MATRIX_ELEMENTS) n.unsupported(`a ${rows}x${melBinCount} mel weight matrix is more than graphc builds`);
    return [tensor(Array.from(melMatrix(melBinCount, dftLength, edges)), [rows, melBinCount], dtype)];
  }
  // run-time parameters: the same filters from elementwise ops (float64; the mels in the edges' own float type)
  const f64 = (t: SymbolicTensor) => castTo(n, t, 'float64');
  const scalar = (i: number) => (n.input(i).rank === 0 ? n.input(i) : n.op('reshape', [n.input(i)], { shape: [] }));
  const melBinCount = castTo(n, scalar(0), 'int64');
  const dftLength = castTo(n, scalar(1), 'int64');
  const edgeFloat: DType = edgeType === 'float64' ? 'float64' : 'float32';
  const c = (v: number, dt: DType = 'float64') => scalarOf(n, v, dt);
  const toMel = (hz: SymbolicTensor) => {
    const ratio = n.op('add', [c(1, edgeFloat), n.op('div', [castTo(n, hz, edgeFloat), c(700, edgeFloat)])]);
    return n.op('mul', [c(2595, edgeFloat), n.op('div', [n.op('log', [ratio]), c(Math.LN10, edgeFloat)])]);
  };
  const lowMel = toMel(scalar(3));
  const melStep = n.op('div', [n.op('sub', [toMel(scalar(4)), lowMel]), castTo(n, n.op('add', [melBinCount, c(2, 'int64')]), edgeFloat)]);
  const i = f64(rangeOf(n, n.op('add', [melBinCount, c(2, 'int64')])));
  const mel = n.op('add', [n.op('mul', [i, f64(melStep)]), f64(lowMel)]);
  const hz = n.op('mul', [c(700), n.op('sub', [n.op('pow', [c(10), n.op('div', [mel, c(2595)])]), c(1)])]);
  const edges = n.op('floor', [n.op('div', [n.op('mul', [f64(n.op('add', [dftLength, c(1, 'int64')])), hz]), f64(scalar(2))])]);
  const band = (offset: number) => n.op('reshape', [n.op('gather', [edges, n.op('add', [rangeOf(n, melBinCount), c(offset, 'int64')])], { axis: 0 })], { shape: [1, -1] });
  const [left, center, right] = [band(0), band(1), band(2)];
  const j = n.op('reshape', [f64(rangeOf(n, n.op('add', [n.op('floorDiv', [dftLength, c(2, 'int64')]), c(1, 'int64')])))], { shape: [-1, 1] });
  const and = (a: SymbolicTensor, b: SymbolicTensor) => n.op('logicalAnd', [a, b]);
  const zero = n.op('zerosLike', [n.op('add', [j, left])]);
  const rise = n.op('sub', [center, left]);
  const fall = n.op('sub', [right, center]);
  const rising = n.op('where', [
    n.op('equal', [rise, c(0)]),
    n.op('where', [n.op('equal', [j, center]), n.op('onesLike', [zero]), zero]),
    n.op('where', [and(n.op('lessEqual', [left, j]), n.op('lessEqual', [j, center])), n.op('div', [n.op('sub', [j, left]), n.op('maximum', [rise, c(1)])]), zero]),
  ]);
  const falling = and(n.op('greater', [fall, c(0)]), and(n.op('lessEqual', [center, j]), n.op('less', [j, right])));
  const out = n.op('where', [falling, n.op('div', [n.op('sub', [right, j]), n.op('maximum', [fall, c(1)])]), rising]);
  return [castTo(n, out, dtype)];
});
