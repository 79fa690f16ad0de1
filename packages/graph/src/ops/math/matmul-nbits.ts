import { GraphError, ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import type { Attrs } from '../../opdef';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireDType, requireFloat, requireRank } from '../infer-helpers';

/**
 * How a matmulNBits node's weights are laid out: W [k, n] held as `bits`-bit integers q in blocks
 * of `blockSize` along k, each block of each column with its own scale and zero point. Shared by
 * inference, every backend's kernel and the ONNX import and export, so none can disagree on where a
 * weight's bits lie.
 */
export interface NBitsLayout {
  bits: 2 | 4 | 8;
  blockSize: number;
  /** The inner dimension (a's last). */
  k: number;
  /** Blocks per column: ceil(k / blockSize) (the last one padded). */
  blocks: number;
  /** Weights per int32 word: 32 / bits. */
  perWord: number;
  /** int32 words per column: blocks * blockSize / perWord. */
  words: number;
  /** All bits set: (1 << bits) - 1. */
  mask: number;
}

/** The layout from a node's attrs; a GraphError naming `where` when they do not describe one. */
export function nbitsLayout(attrs: Attrs, where = ''): NBitsLayout {
  const { bits, blockSize, k } = attrs as { bits?: unknown; blockSize?: unknown; k?: unknown };
  if (bits !== 2 && bits !== 4 && bits !== 8) throw new GraphError(`${where}bits must be 2, 4 or 8, got ${String(bits)}`);
  const perWord = 32 / bits;
  if (!Number.isInteger(blockSize) || (blockSize as number) < 1 || (blockSize as number) % perWord !== 0) {
    throw new GraphError(`${where}blockSize must be a positive multiple of ${perWord} (a block fills whole int32 words at ${bits} bits), got ${String(blockSize)}`);
  }
  if (!Number.isInteger(k) || (k as number) < 1) throw new GraphError(`${where}k must be a positive integer, got ${String(k)}`);
  const blocks = Math.ceil((k as number) / (blockSize as number));
  return { bits, blockSize: blockSize as number, k: k as number, blocks, perWord, words: (blocks * (blockSize as number)) / perWord, mask: 2 ** bits - 1 };
}

/**
 * The weight W[kk, col] of a matmulNBits node: (q - zeroPoint) * scale, q the column's kk-th value
 * (`words` int32 words a column, low bits first). The kernels' reference.
 */
export function nbitsWeight(layout: NBitsLayout, packed: ArrayLike<number>, scales: ArrayLike<number>, zeroPoints: ArrayLike<number>, col: number, kk: number): number {
  const word = packed[col * layout.words + Math.floor(kk / layout.perWord)];
  const q = (word >>> (layout.bits * (kk % layout.perWord))) & layout.mask;
  const b = col * layout.blocks + Math.floor(kk / layout.blockSize);
  return (q - zeroPoints[b]) * scales[b];
}

/** Column `col` of W, dequantized into `out` (k values; float32 rounds each as a float32 weight is). */
export function nbitsColumn(layout: NBitsLayout, packed: ArrayLike<number>, scales: ArrayLike<number>, zeroPoints: ArrayLike<number>, col: number, out: Float32Array | Float64Array): void {
  for (let kk = 0; kk < layout.k; kk++) out[kk] = nbitsWeight(layout, packed, scales, zeroPoints, col, kk);
}

/**
 * matmulNBits(a, packed, scales, zeroPoints): a [..., k] times W [k, n] kept quantized, as ONNX
 * Runtime's MatMulNBits keeps an LLM's weights, W[kk, col] = (q - zeroPoints[col, b]) *
 * scales[col, b] for kk's block b = floor(kk / blockSize). packed (int32 [n, words]) holds column
 * col's q in order, `bits` bits each, low bits first (ONNX's packed bytes read as little-endian
 * words); scales and zeroPoints are float32 [n, blocks]. At 4 bits a weight takes an eighth of
 * float32's memory, and a product of a few rows of a reads an eighth of the bytes. With
 * `transposeW`, a [..., n] times W^T (out [..., k]): the gradient with respect to a, dY W^T.
 */
registerOp({
  name: 'matmulNBits',
  family: 'math',
  numInputs: 4,
  infer: (ctx) => {
    const dtype = requireFloat(ctx, 0);
    requireDType(ctx, 1, ['int32']);
    requireDType(ctx, 2, ['float32']);
    requireDType(ctx, 3, ['float32']);
    const layout = nbitsLayout(ctx.attrs, ctx.where);
    const a = ctx.inputs[0].shape;
    if (a.length < 1) throw new ShapeError(`${ctx.where}a must have rank >= 1, got a scalar`);
    const [n, words] = requireRank(ctx, 1, 2);
    const transposed = ctx.attrs.transposeW === true;
    // a's columns meet W's rows (k), or with transposeW its columns (n)
    const inner = transposed ? n : layout.k;
    const kA = a[a.length - 1];
    if (kA !== null && inner !== null && kA !== inner) {
      throw new ShapeError(`${ctx.where}a ${shapeToString(a)} has ${kA} columns, W${transposed ? '^T' : ''} ${inner} rows (W is [k, n] = [${layout.k}, ${n ?? '?'}])`);
    }
    if (words !== null && words !== layout.words) {
      throw new ShapeError(`${ctx.where}packed has ${words} words a column, expected ${layout.words} (${layout.blocks} blocks of ${layout.blockSize} at ${layout.bits} bits)`);
    }
    for (const i of [2, 3]) {
      const s = requireRank(ctx, i, 2);
      if ((s[0] !== null && n !== null && s[0] !== n) || (s[1] !== null && s[1] !== layout.blocks)) {
        throw new ShapeError(`${ctx.where}${i === 2 ? 'scales' : 'zeroPoints'} ${shapeToString(s)} must be [n, blocks] = [${n ?? '?'}, ${layout.blocks}]`);
      }
    }
    return [{ dtype, shape: [...a.slice(0, -1), transposed ? layout.k : n] }];
  },
});

export function matmulNBits(
  a: TensorLike,
  packed: TensorLike,
  scales: TensorLike,
  zeroPoints: TensorLike,
  options: { bits: 2 | 4 | 8; blockSize: number; k: number; transposeW?: boolean },
  name?: string,
): SymbolicTensor {
  const attrs = { bits: options.bits, blockSize: options.blockSize, k: options.k, ...(options.transposeW ? { transposeW: true } : {}) };
  return apply1('matmulNBits', [a, packed, scales, zeroPoints], attrs, name);
}
