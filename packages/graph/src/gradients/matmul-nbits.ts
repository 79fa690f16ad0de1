import { setGradient } from '../registry';
import { matmulNBits } from '../ops/math/matmul-nbits';

/**
 * matmulNBits: d(a W)/da = dY W^T, and d(a W^T)/da = dY W, the same packed weights read the other
 * way (transposeW). The quantized weights, their scales and zero points are the model's constants:
 * no gradient reaches them (a QLoRA-style fine-tune trains adapters beside them).
 */
setGradient(
  'matmulNBits',
  ({ node, inputs, grads }) => {
    const [, packed, scales, zeroPoints] = inputs;
    const { bits, blockSize, k, transposeW } = node.attrs as { bits: 2 | 4 | 8; blockSize: number; k: number; transposeW?: boolean };
    return [matmulNBits(grads[0]!, packed, scales, zeroPoints, { bits, blockSize, k, transposeW: transposeW !== true }), null, null, null];
  },
  [1, 2, 3],
);
