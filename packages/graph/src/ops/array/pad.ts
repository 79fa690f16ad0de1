import { isInteger } from '../../dtype';
import { DTypeError, ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { attrInts } from '../infer-helpers';
import { padLimit, padTooLarge } from './pad-limits';

export type PadMode = 'constant' | 'reflect' | 'symmetric' | 'edge' | 'wrap';
const MODES: readonly string[] = ['constant', 'reflect', 'symmetric', 'edge', 'wrap'];

/**
 * Pads each dimension with `paddings` (flat: before0, after0, before1, after1, ...). 'constant' fills
 * with `constantValue`; 'reflect' mirrors without repeating the edge (at most dim-1 per side);
 * 'symmetric' mirrors with it (at most dim per side), as tf.pad; 'edge' repeats the edge element
 * (numpy's and ONNX's 'edge', PyTorch's 'replicate'); 'wrap' continues x periodically (numpy's and
 * ONNX's 'wrap', PyTorch's 'circular').
 */
registerOp({
  name: 'pad',
  family: 'array',
  numInputs: 1,
  infer: (ctx) => {
    const { dtype, shape } = ctx.inputs[0];
    const paddings = attrInts(ctx, 'paddings');
    const mode = String(ctx.attrs.mode ?? 'constant');
    if (!MODES.includes(mode)) throw new ShapeError(`${ctx.where}mode must be ${MODES.join(', ')}, got '${mode}'`);
    if (paddings.length !== 2 * shape.length || paddings.some((p) => p < 0)) {
      throw new ShapeError(`${ctx.where}paddings must hold a non-negative [before, after] pair per dimension of ${shapeToString(shape)}`);
    }
    const value = Number(ctx.attrs.constantValue ?? 0);
    if (isInteger(dtype) && !Number.isInteger(value)) throw new DTypeError(`${ctx.where}constantValue ${value} is not an integer, as ${dtype} needs`);
    return [
      {
        dtype,
        shape: shape.map((d, i) => {
          const [before, after] = [paddings[2 * i], paddings[2 * i + 1]];
          if (d !== null && Math.max(before, after) > padLimit(mode, d)) {
            throw new ShapeError(`${ctx.where}${padTooLarge(mode, before, after, i, shapeToString(shape), d)}`);
          }
          return d === null ? null : d + before + after;
        }),
      },
    ];
  },
});

/**
 * Pads `x` by `paddings[i] = [before, after]` elements in dimension i.
 *
 * ```ts
 * ops.pad(img, [[0, 0], [1, 1], [1, 1], [0, 0]]);              // zero border around H and W of NHWC
 * ops.pad(x, [[2, 2]], 0, 'reflect');                          // [1, 2, 3] -> [3, 2, 1, 2, 3, 2, 1]
 * ops.pad(x, [[2, 1]], 0, 'edge');                             // [1, 2, 3] -> [1, 1, 1, 2, 3, 3]
 * ops.pad(x, [[2, 1]], 0, 'wrap');                             // [1, 2, 3] -> [2, 3, 1, 2, 3, 1]
 * ```
 */
export function pad(x: TensorLike, paddings: [number, number][] | number[][], constantValue = 0, mode: PadMode = 'constant', name?: string): SymbolicTensor {
  const flat = paddings.flatMap((p) => {
    if (!Array.isArray(p) || p.length !== 2) throw new ShapeError(`pad: each entry of paddings must be a [before, after] pair, got ${JSON.stringify(p)}`);
    return p;
  });
  return apply1('pad', [x], { paddings: flat, constantValue, mode: mode.toLowerCase() }, name);
}
