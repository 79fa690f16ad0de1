import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { normalizeAxis, shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireDType, scatterInputs } from '../infer-helpers';
import type { ScatterReduction } from './gather-nd';

/**
 * gatherElements(data, indices): out[i][j][k] = data[i][indices[i][j][k]][k] for axis 1 (any axis):
 * indices has data's rank and picks one element per output position (ONNX GatherElements,
 * torch.gather). Negative indices count from the end; out of range is a run-time error.
 */
registerOp({
  name: 'gatherElements',
  family: 'array',
  numInputs: 2,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const [data, indices] = ctx.inputs;
    requireDType(ctx, 1, ['int32', 'int64']);
    if (data.shape.length !== indices.shape.length || data.shape.length === 0) {
      throw new ShapeError(`${ctx.where}indices ${shapeToString(indices.shape)} must have the rank of data ${shapeToString(data.shape)} (>= 1)`);
    }
    normalizeAxis(Number(ctx.attrs.axis ?? 0), data.shape.length, ctx.where);
    return [{ dtype: data.dtype, shape: [...indices.shape] }];
  },
});

/**
 * scatterElements(data, indices, updates): a copy of data with data[..indices[p]..] = updates[p]
 * along `axis` (ONNX ScatterElements); `reduction` 'add'/'mul' combines instead of overwriting.
 */
registerOp({
  name: 'scatterElements',
  family: 'array',
  numInputs: 3,
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    const [data, indices, updates] = scatterInputs(ctx);
    if (indices.shape.length !== data.shape.length || updates.shape.length !== data.shape.length) {
      throw new ShapeError(`${ctx.where}data, indices and updates must have the same rank`);
    }
    normalizeAxis(Number(ctx.attrs.axis ?? 0), data.shape.length, ctx.where);
    return [{ dtype: data.dtype, shape: [...data.shape] }];
  },
});

export function gatherElements(data: TensorLike, indices: TensorLike, axis = 0, name?: string): SymbolicTensor {
  return apply1('gatherElements', [data, indices], { axis }, name);
}

export function scatterElements(
  data: TensorLike,
  indices: TensorLike,
  updates: TensorLike,
  axis = 0,
  reduction: ScatterReduction = 'none',
  name?: string,
): SymbolicTensor {
  return apply1('scatterElements', [data, indices, updates], { axis, reduction }, name);
}
