import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { tensor } from '../../tensor';
import { apply1 } from '../builder';
import { requireDType, requireFloat, requireRank } from '../infer-helpers';

/**
 * nonMaxSuppression(boxes, scores, maxOutputBoxesPerClass?, iouThreshold?, scoreThreshold?): ONNX
 * NonMaxSuppression. boxes [batch, boxes, 4] ([y1, x1, y2, x2], any two opposite corners, or with
 * `centerPointBox` [x_center, y_center, width, height]); scores [batch, classes, boxes]. Per batch and
 * class, boxes are taken by decreasing score (equal scores: lower box index first) and kept unless
 * their IOU with a box already kept exceeds iouThreshold, up to maxOutputBoxesPerClass. With a
 * scoreThreshold, only boxes scoring strictly above it are candidates. The scalars are tensors
 * (values known at run time); an absent or empty one means: max 0 (no output), IOU threshold 0, no
 * score threshold. The result is int64 [selected, 3] rows of (batch, class, box): its length depends
 * on the values.
 */
registerOp({
  name: 'nonMaxSuppression',
  family: 'nn',
  numInputs: 'variadic',
  nonDifferentiableInputs: [0, 1, 2, 3, 4],
  infer: (ctx) => {
    if (ctx.inputs.length < 2 || ctx.inputs.length > 5) {
      throw new ShapeError(`${ctx.where}takes boxes, scores and up to three scalars (maxOutputBoxesPerClass, iouThreshold, scoreThreshold), got ${ctx.inputs.length} inputs`);
    }
    requireFloat(ctx, 0);
    requireFloat(ctx, 1);
    const boxes = requireRank(ctx, 0, 3);
    const scores = requireRank(ctx, 1, 3);
    if (boxes[2] !== null && boxes[2] !== 4) throw new ShapeError(`${ctx.where}boxes ${shapeToString(boxes)} must be [batch, boxes, 4]`);
    const agree = (a: number | null, b: number | null) => a === null || b === null || a === b;
    if (!agree(boxes[0], scores[0]) || !agree(boxes[1], scores[2])) {
      throw new ShapeError(`${ctx.where}scores ${shapeToString(scores)} must be [batch, classes, boxes] for boxes ${shapeToString(boxes)}`);
    }
    if (ctx.inputs[2]) requireDType(ctx, 2, ['int32', 'int64']);
    for (const i of [3, 4]) if (ctx.inputs[i]) requireFloat(ctx, i);
    for (const i of [2, 3, 4]) {
      const s = ctx.inputs[i]?.shape;
      if (s && (s.length > 1 || (s.length === 1 && s[0] !== null && s[0] > 1))) throw new ShapeError(`${ctx.where}input ${i} must be a scalar (or a vector of at most one entry), got ${shapeToString(s)}`);
    }
    const c = Number(ctx.attrs.centerPointBox ?? 0);
    if (c !== 0 && c !== 1) throw new ShapeError(`${ctx.where}centerPointBox must be 0 or 1, got ${String(ctx.attrs.centerPointBox)}`);
    return [{ dtype: 'int64', shape: [null, 3] }];
  },
});

export interface NonMaxSuppressionOptions {
  /** Boxes as [x_center, y_center, width, height] rather than two corners. */
  centerPointBox?: boolean;
  /** Only boxes scoring strictly above this are considered. */
  scoreThreshold?: TensorLike;
}

/**
 * ```ts
 * const keep = ops.nonMaxSuppression(boxes, scores, 10, 0.5, { scoreThreshold: 0.1 }); // int64 [k, 3]
 * ```
 */
export function nonMaxSuppression(
  boxes: TensorLike,
  scores: TensorLike,
  maxOutputBoxesPerClass: TensorLike,
  iouThreshold: TensorLike,
  options: NonMaxSuppressionOptions = {},
  name?: string,
): SymbolicTensor {
  const inputs = [boxes, scores, typeof maxOutputBoxesPerClass === 'number' ? tensor([maxOutputBoxesPerClass], [], 'int64') : maxOutputBoxesPerClass, iouThreshold];
  if (options.scoreThreshold !== undefined) inputs.push(options.scoreThreshold);
  return apply1('nonMaxSuppression', inputs, { centerPointBox: options.centerPointBox ? 1 : 0 }, name);
}
