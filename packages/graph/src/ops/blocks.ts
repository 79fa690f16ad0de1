import { ShapeError } from '../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../graph';
import { shapeToString } from '../shape';
import { reshape } from './array/reshape';
import { transpose } from './array/transpose';

/**
 * Moving blocks of pixels between space and depth in NHWC images (tf.nn.depth_to_space,
 * tf.nn.space_to_depth; the sub-pixel convolution's "pixel shuffle"): a reshape, a transpose and a
 * reshape. Depth index (i * b + j) * c + k holds pixel (i, j) of a b x b block's channel k, as in
 * TensorFlow (ONNX's DepthToSpace in DCR mode, on NCHW). H, W and C must be known; N may not be.
 */

function imageOf(x: TensorLike, what: string): { t: SymbolicTensor; n: number; h: number; w: number; c: number } {
  const t = toSymbolic(graphOf([x]), x);
  const [n, h, w, c] = t.shape;
  if (t.rank !== 4 || h === null || w === null || c === null) throw new ShapeError(`${what}: ${t.name} ${shapeToString(t.shape)} must be an NHWC image [N, H, W, C] with H, W and C known`);
  return { t, n: n ?? -1, h, w, c };
}

function requireBlockSize(blockSize: number, what: string): void {
  if (!(Number.isInteger(blockSize) && blockSize >= 2)) throw new ShapeError(`${what}: blockSize must be an integer of at least 2, got ${blockSize}`);
}

/** [N, H, W, C] -> [N, H * b, W * b, C / (b * b)] (tf.nn.depth_to_space). */
export function depthToSpace(x: TensorLike, blockSize: number, name?: string): SymbolicTensor {
  requireBlockSize(blockSize, 'depthToSpace');
  const { t, n, h, w, c } = imageOf(x, 'depthToSpace');
  const b = blockSize;
  if (c % (b * b) !== 0) throw new ShapeError(`depthToSpace: ${c} channels do not divide by blockSize^2 = ${b * b}`);
  const blocks = transpose(reshape(t, [n, h, w, b, b, c / (b * b)]), [0, 1, 3, 2, 4, 5]);
  return reshape(blocks, [n, h * b, w * b, c / (b * b)], name);
}

/** [N, H, W, C] -> [N, H / b, W / b, C * b * b] (tf.nn.space_to_depth). */
export function spaceToDepth(x: TensorLike, blockSize: number, name?: string): SymbolicTensor {
  requireBlockSize(blockSize, 'spaceToDepth');
  const { t, n, h, w, c } = imageOf(x, 'spaceToDepth');
  const b = blockSize;
  if (h % b !== 0 || w % b !== 0) throw new ShapeError(`spaceToDepth: H ${h} and W ${w} must divide by blockSize ${b}`);
  const blocks = transpose(reshape(t, [n, h / b, b, w / b, b, c]), [0, 1, 3, 2, 4, 5]);
  return reshape(blocks, [n, h / b, w / b, b * b * c], name);
}
