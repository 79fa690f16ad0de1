import { DTypeError, ShapeError } from '../../errors';
import { SymbolicTensor } from '../../graph';
import type { InferContext, OutputInfo } from '../../opdef';
import { broadcastShapes, shapeMatches, shapeToString } from '../../shape';

/** What the update ops share (assign, assignAdd, assignSub, fusedAssign); not part of `ops`. */

export function requireVariable(ref: SymbolicTensor, op: string): void {
  if (!(ref instanceof SymbolicTensor) || ref.node.op !== 'variable') {
    throw new DTypeError(`${op}: the first argument must be a variable, got ${String(ref)}`);
  }
}

/**
 * The output of an update of variable `ref` by `value`: the variable's type. The value may broadcast
 * (a scalar learning-rate update), but never change the variable's dtype or shape.
 */
export function updatedVariable(ctx: InferContext, ref: OutputInfo, value: OutputInfo): OutputInfo {
  if (ref.dtype !== value.dtype) throw new DTypeError(`${ctx.where}value dtype ${value.dtype} differs from variable dtype ${ref.dtype}`);
  const refShape = ref.shape as number[];
  const b = broadcastShapes(refShape, value.shape, ctx.where);
  if (!shapeMatches(refShape, b)) {
    throw new ShapeError(`${ctx.where}value shape ${shapeToString(value.shape)} does not fit variable shape ${shapeToString(ref.shape)}`);
  }
  return { dtype: ref.dtype, shape: [...ref.shape] };
}
