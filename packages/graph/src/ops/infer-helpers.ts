import { DType, isFloat } from '../dtype';
import { DTypeError, ShapeError } from '../errors';
import type { InferContext, OutputInfo } from '../opdef';
import { Shape, broadcastShapes, shapeToString } from '../shape';

/** Inputs of a binary/ternary op must share a dtype (TensorFlow's rule: no implicit casts). */
export function sameDType(ctx: InferContext, indices: number[] = ctx.inputs.map((_, i) => i)): DType {
  const dt = ctx.inputs[indices[0]].dtype;
  for (const i of indices) {
    if (ctx.inputs[i].dtype !== dt) {
      throw new DTypeError(
        `${ctx.where}inputs must have the same dtype, got ${indices.map((j) => ctx.inputs[j].dtype).join(' and ')}`,
      );
    }
  }
  return dt;
}

export function requireDType(ctx: InferContext, index: number, allowed: readonly DType[]): DType {
  const dt = ctx.inputs[index].dtype;
  if (!allowed.includes(dt)) {
    throw new DTypeError(`${ctx.where}input ${index} must be ${allowed.join(' or ')}, got ${dt}`);
  }
  return dt;
}

/**
 * The checks a scatter's inference starts with (scatterElements, scatterNd): int32 or int64 indices
 * (input 1) and updates (input 2) of data's dtype (input 0). Returns the three inputs.
 */
export function scatterInputs(ctx: InferContext): [data: OutputInfo, indices: OutputInfo, updates: OutputInfo] {
  const [data, indices, updates] = ctx.inputs;
  requireDType(ctx, 1, ['int32', 'int64']);
  if (data.dtype !== updates.dtype) throw new ShapeError(`${ctx.where}updates dtype ${updates.dtype} differs from data dtype ${data.dtype}`);
  return [data, indices, updates];
}

export function requireFloat(ctx: InferContext, index = 0): DType {
  const dt = ctx.inputs[index].dtype;
  if (!isFloat(dt)) throw new DTypeError(`${ctx.where}input ${index} must be float32 or float64, got ${dt}`);
  return dt;
}

export function requireRank(ctx: InferContext, index: number, rank: number | number[]): Shape {
  const shape = ctx.inputs[index].shape;
  const ranks = Array.isArray(rank) ? rank : [rank];
  if (!ranks.includes(shape.length)) {
    throw new ShapeError(`${ctx.where}input ${index} must have rank ${ranks.join(' or ')}, got ${shapeToString(shape)}`);
  }
  return shape;
}

export function broadcastAll(ctx: InferContext, indices: number[] = ctx.inputs.map((_, i) => i)): Shape {
  let shape: Shape = ctx.inputs[indices[0]].shape;
  for (const i of indices.slice(1)) shape = broadcastShapes(shape, ctx.inputs[i].shape, ctx.where);
  return shape;
}

export function attrNumber(ctx: InferContext, name: string, fallback?: number): number {
  const v = ctx.attrs[name] ?? fallback;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new ShapeError(`${ctx.where}attr '${name}' must be a number`);
  return v;
}

export function attrInts(ctx: InferContext, name: string, fallback?: number[]): number[] {
  const v = ctx.attrs[name] ?? fallback;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    throw new ShapeError(`${ctx.where}attr '${name}' must be a list of integers`);
  }
  return v as number[];
}

export function one(dtype: DType, shape: Shape): OutputInfo[] {
  return [{ dtype, shape }];
}

/** The size n of input `index`'s matrices ([..., n, n]; null where unknown); a ShapeError unless it is a batch of square matrices. */
export function squareMatrixSize(ctx: InferContext, index: number): number | null {
  const s = ctx.inputs[index].shape;
  const [m, n] = s.slice(-2);
  if (s.length < 2 || (m !== null && n !== null && m !== n)) throw new ShapeError(`${ctx.where}input ${index} ${shapeToString(s)} is not a batch of square matrices`);
  return n ?? m;
}
