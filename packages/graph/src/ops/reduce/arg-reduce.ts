import { ShapeError, DTypeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { normalizeAxis, shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireDType } from '../infer-helpers';

/**
 * Index of the largest (smallest) value along one axis; the first one on ties, and the first NaN
 * if there is one. Output dtype `outputType`, int64 by default as TensorFlow and ONNX.
 */
for (const name of ['argMax', 'argMin']) {
  registerOp({
    name,
    family: 'reduce',
    numInputs: 1,
    infer: (ctx) => {
      const { shape } = ctx.inputs[0];
      requireDType(ctx, 0, ['float32', 'float64', 'int32', 'int64']);
      const outputType = ctx.attrs.outputType ?? 'int64';
      if (outputType !== 'int32' && outputType !== 'int64') {
        throw new DTypeError(`${ctx.where}outputType must be int32 or int64, got ${String(outputType)}`);
      }
      if (shape.length === 0) throw new ShapeError(`${ctx.where}input must have rank >= 1, got a scalar`);
      const axis = normalizeAxis(Number(ctx.attrs.axis), shape.length, ctx.where);
      if (shape[axis] === 0) throw new ShapeError(`${ctx.where}axis ${axis} of ${shapeToString(shape)} is empty: no index to return`);
      return [{ dtype: outputType, shape: shape.filter((_, i) => i !== axis) }];
    },
  });
}

/**
 * Index of the largest value along `axis` (default 0, as tf.argmax).
 *
 * ```ts
 * ops.argMax(logits, -1);            // [N, C] -> int64 [N]
 * ops.argMax(logits, 1, 'int32');
 * ```
 */
export function argMax(x: TensorLike, axis = 0, outputType: 'int32' | 'int64' = 'int64', name?: string): SymbolicTensor {
  return apply1('argMax', [x], { axis, outputType }, name);
}

/** Index of the smallest value along `axis` (default 0). */
export function argMin(x: TensorLike, axis = 0, outputType: 'int32' | 'int64' = 'int64', name?: string): SymbolicTensor {
  return apply1('argMin', [x], { axis, outputType }, name);
}
