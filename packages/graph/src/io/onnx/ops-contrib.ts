import { SymbolicTensor } from '../../graph';
import { identityLike } from '../../ops/math/linalg';
import { shapeToString } from '../../shape';
import { tensor } from '../../tensor';
import type { OnnxNode } from './context';
import { castTo, scalarOf } from './helpers';
import { defineOnnxOp } from './import';
import { rmsNormalize, rotaryEmbedding } from './ops-nn';

/**
 * onnxruntime's contrib ops (domain com.microsoft, and SimplifiedLayerNormalization, which it
 * registers in the default domain) that its transformer optimizer and its 4-bit LLM exports write:
 * FusedMatMul, the Gelu forms, the embedding and skip layer norms, RotaryEmbedding, MatMulNBits and Inverse, composed from
 * graphc ops (MultiHeadAttention lives with Attention, in ops-attention.ts).
 */
const MS = 'com.microsoft';

/** x + bias when the node has input `i`. */
function withBias(n: OnnxNode, x: SymbolicTensor, i: number): SymbolicTensor {
  return n.has(i) ? n.op('add', [x, n.input(i)]) : x;
}

// alpha * op(A) op(B), op transposing the last two axes
defineOnnxOp(
  'FusedMatMul',
  (n) => {
    if (n.attr.int('transBatchA', 0) || n.attr.int('transBatchB', 0)) n.unsupported('transBatchA / transBatchB are not supported');
    const y = n.op('matmul', [n.input(0), n.input(1)], { transposeA: n.attr.int('transA', 0) === 1, transposeB: n.attr.int('transB', 0) === 1 });
    const alpha = n.attr.float('alpha', 1);
    return [alpha === 1 ? y : n.op('mul', [y, scalarOf(n, alpha, y.dtype)])];
  },
  MS,
);

defineOnnxOp('Gelu', (n) => [n.op('gelu', [n.input(0)], { approximate: false })], MS);
defineOnnxOp('BiasGelu', (n) => [n.op('gelu', [withBias(n, n.input(0), 1)], { approximate: false })], MS);
defineOnnxOp('FastGelu', (n) => [n.op('gelu', [withBias(n, n.input(0), 1)], { approximate: true })], MS);
defineOnnxOp(
  'QuickGelu',
  (n) => {
    const x = n.input(0);
    return [n.op('mul', [x, n.op('sigmoid', [n.op('mul', [x, scalarOf(n, n.attr.float('alpha', 1.702), x.dtype)])])])];
  },
  MS,
);

/**
 * Layer or RMS normalization over the last axis: [y, mean, 1 / std] of x. A layer norm is graphc's
 * layerNorm op; `rms` leaves the mean out (a scalar 0), as onnxruntime's Simplified forms do (their
 * mean output is not written).
 */
function normalizeLast(n: OnnxNode, x: SymbolicTensor, epsilon: number, rms: boolean, gamma: SymbolicTensor, beta?: SymbolicTensor): SymbolicTensor[] {
  if (!rms) return n.node('layerNorm', [x, gamma, ...(beta ? [beta] : [])], { axis: -1, epsilon }).outputTensors;
  const [y, invStd] = rmsNormalize(n, x, x.rank - 1, epsilon, gamma);
  return [y, scalarOf(n, 0, x.dtype), invStd];
}

/** Outputs: output, mean, inv_std_var, input_skip_bias_sum (the ones the node asks for). */
function skipNormalization(rms: boolean) {
  return (n: OnnxNode) => {
    const sum = withBias(n, n.op('add', [n.input(0), n.input(1)]), rms ? 3 : 4);
    const [y, mean, invStd] = normalizeLast(n, sum, n.attr.float('epsilon', 1e-12), rms, n.input(2), !rms && n.has(3) ? n.input(3) : undefined);
    return [y, mean, invStd, sum].slice(0, Math.max(1, n.outputCount));
  };
}
defineOnnxOp('SkipLayerNormalization', skipNormalization(false), MS);
defineOnnxOp('SkipSimplifiedLayerNormalization', skipNormalization(true), MS);

/**
 * EmbedLayerNormalization, BERT's embedding block: word, position (0 .. S - 1 unless position_ids
 * says) and segment embeddings summed, then a layer norm. Outputs: output, mask_index (each row's
 * mask sum, int32), embedding_sum (before the norm).
 */
defineOnnxOp(
  'EmbedLayerNormalization',
  (n) => {
    const ids = n.input(0);
    const seq = ids.shape[1] ?? n.unsupported('EmbedLayerNormalization needs the sequence length known at import');
    const positions = n.has(8) ? n.input(8) : n.constant(tensor(Array.from({ length: seq }, (_, i) => i), [1, seq], 'int32'));
    const lookup = (table: number, at: SymbolicTensor) => n.op('gather', [n.input(table), at], { axis: 0 });
    let sum = n.op('add', [lookup(2, ids), lookup(3, positions)]);
    if (n.has(1) && n.has(4)) sum = n.op('add', [sum, lookup(4, n.input(1))]);
    const [y] = normalizeLast(n, sum, n.attr.float('epsilon', 1e-12), false, n.input(5), n.input(6));
    const maskIndex = n.has(7) ? castTo(n, n.op('reduceSum', [n.input(7)], { axes: [1], keepDims: false }), 'int32') : n.op('zerosLike', [n.op('reduceSum', [castTo(n, ids, 'int32')], { axes: [1], keepDims: false })]);
    return [y, maskIndex, sum].slice(0, Math.max(1, n.outputCount));
  },
  MS,
);

// RMS normalization over the axes from `axis` on (outputs Y, inv_std_var)
defineOnnxOp('SimplifiedLayerNormalization', (n) => {
  const x = n.input(0);
  const axis = n.attr.int('axis', -1);
  const first = axis < 0 ? axis + x.rank : axis;
  if (first !== x.rank - 1) n.unsupported(`SimplifiedLayerNormalization over axes from ${axis} (graphc reads the last axis only)`);
  return rmsNormalize(n, x, first, n.attr.float('epsilon', 1e-5), n.input(1)).slice(0, Math.max(1, n.outputCount));
});

/**
 * com.microsoft RotaryEmbedding: ONNX's (opset 23) with its inputs ordered (input, position_ids,
 * cos_cache, sin_cache), position ids required and possibly one offset for the whole batch (positions
 * offset + 0 .. S - 1), and the head count of a [B, S, hidden] input inferable from the cache.
 */
defineOnnxOp(
  'RotaryEmbedding',
  (n) => {
    if (n.attr.float('scale', 1) !== 1) n.unsupported('a scale other than 1 is not supported');
    if (n.attr.int('is_packed_batching', 0)) n.unsupported('packed batching is not supported');
    const input = n.input(0);
    const [cos, sin] = [n.input(2), n.input(3)];
    const rotaryDim = n.attr.int('rotary_embedding_dim', 0);
    let heads = n.attr.int('num_heads', 0);
    if (input.rank === 3 && heads === 0 && rotaryDim === 0) {
      // a full rotation: the cache is half a head wide
      const half = cos.shape[1] ?? n.unsupported('the head count of a 3-D input needs the cache width known at import');
      const hidden = input.shape[2] ?? n.unsupported('a 3-D rotary embedding input needs its hidden size known at import');
      heads = hidden / (2 * half);
    }
    let positions = n.input(1);
    if (positions.rank === 1) {
      // one offset: positions offset .. offset + S - 1 for every batch entry
      const steps = input.shape[input.rank === 3 ? 1 : 2] ?? n.unsupported('an offset position id needs the sequence length known at import');
      const count = n.constant(tensor(Array.from({ length: steps }, (_, i) => i), [1, steps], 'int64'));
      positions = n.op('add', [castTo(n, positions, 'int64'), count]);
    }
    return [rotaryEmbedding(n, input, { cos, sin, positions, heads, rotaryDim, interleaved: n.attr.int('interleaved', 0) !== 0 })];
  },
  MS,
);

/**
 * MatMulNBits: A [..., K] times a weight stored [N, K] in `bits`-bit blocks of block_size values:
 * W[n, k] = (q - zero point) * scale per (n, block), packed low bits first, the zero point 2^(bits-1)
 * by default (or packed the same way, or given as floats). The weights must be initializers. They
 * stay packed: graphc's matmulNBits reads each column's bytes as little-endian int32 words, with the
 * scales and zero points as float32 [N, blocks].
 */
defineOnnxOp(
  'MatMulNBits',
  (n) => {
    const [K, N] = [n.attr.int('K'), n.attr.int('N')];
    const bits = n.attr.int('bits', 4);
    const blockSize = n.attr.int('block_size');
    // 2 and 4 bits, as onnxruntime's cpu kernel (its 8-bit form is not checked here)
    if (bits !== 2 && bits !== 4) n.unsupported(`${bits}-bit weights are not supported`);
    if (n.has(4)) n.unsupported('g_idx (act-order quantization) is not supported');
    if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) n.fail(`block_size must be a power of 2 and at least 16, got ${blockSize}`);
    const packed = n.value(1) ?? n.unsupported('MatMulNBits needs its packed weights as an initializer');
    const scales = n.value(2) ?? n.unsupported('MatMulNBits needs its scales as an initializer');
    const zeroPoints = n.has(3) ? n.value(3) ?? n.unsupported('MatMulNBits needs its zero points as an initializer') : undefined;
    const blocks = Math.ceil(K / blockSize);
    const perByte = 8 / bits;
    const blob = blockSize / perByte;
    if (packed.data.length !== N * blocks * blob) n.fail(`B holds ${packed.data.length} bytes, expected N * ceil(K / block_size) * ${blob} = ${N * blocks * blob}`);
    if (scales.data.length !== N * blocks) n.fail(`scales hold ${scales.data.length} values, expected ${N * blocks}`);
    // each column's bytes as little-endian int32 words: the q in order, low bits first
    const words = new Int32Array((N * blocks * blob) / 4);
    for (let w = 0; w < words.length; w++) {
      const at = 4 * w;
      words[w] = Number(packed.data[at]) | (Number(packed.data[at + 1]) << 8) | (Number(packed.data[at + 2]) << 16) | (Number(packed.data[at + 3]) << 24);
    }
    // zero points as float32 [N, blocks]: the default, floats, or packed in whole bytes per row
    const zpRow = Math.ceil(blocks / perByte);
    const floatZeroPoints = zeroPoints !== undefined && (zeroPoints.dtype === 'float32' || zeroPoints.dtype === 'float64');
    if (zeroPoints && zeroPoints.data.length !== (floatZeroPoints ? N * blocks : N * zpRow)) {
      n.fail(`zero_points hold ${zeroPoints.data.length} values, expected ${floatZeroPoints ? N * blocks : N * zpRow}`);
    }
    const zp = new Float32Array(N * blocks);
    for (let row = 0; row < N; row++) {
      for (let block = 0; block < blocks; block++) {
        const i = row * blocks + block;
        if (!zeroPoints) zp[i] = 1 << (bits - 1);
        else if (floatZeroPoints) zp[i] = Number(zeroPoints.data[i]);
        else zp[i] = (Number(zeroPoints.data[row * zpRow + Math.floor(block / perByte)]) >> (bits * (block % perByte))) & ((1 << bits) - 1);
      }
    }
    const a = n.input(0);
    const inputs = [a, n.constant(tensor(words, [N, words.length / N], 'int32')), n.constant(tensor(Float32Array.from(scales.data as ArrayLike<number>), [N, blocks])), n.constant(tensor(zp, [N, blocks]))];
    return [withBias(n, n.op('matmulNBits', inputs, { bits, blockSize, k: K }), 5)];
  },
  MS,
);

// the inverse of each matrix of the last two axes, as graphc's matrixInverse: a solve against I
defineOnnxOp(
  'Inverse',
  (n) => {
    const a = n.input(0);
    if (a.rank < 2 || a.shape[a.rank - 1] === null) n.unsupported(`the matrix size of ${shapeToString(a.shape)} must be known`);
    return [n.op('matrixSolve', [a, identityLike(a)])];
  },
  MS,
);
