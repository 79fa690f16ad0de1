import { DTypeError, GraphError, ShapeError } from '../../errors';
import { SymbolicTensor } from '../../graph';
import type { Attrs, InferContext, OutputInfo } from '../../opdef';
import { getOpDef } from '../../registry';
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

/** A further variable a fusedAssign writes: node input `input` (a variable) gets statement `step`'s value. */
export interface FusedUpdate {
  input: number;
  step: number;
}

/** The `updates` attr of a fusedAssign, checked (it may come from a file). */
export function updatesOf(attrs: Attrs, where: string): FusedUpdate[] {
  const raw = attrs.updates as unknown;
  if (raw === undefined) return [];
  const ok = (u: unknown): u is FusedUpdate =>
    typeof u === 'object' && u !== null && Number.isInteger((u as FusedUpdate).input) && (u as FusedUpdate).input > 0 && Number.isInteger((u as FusedUpdate).step) && (u as FusedUpdate).step >= 0;
  if (!Array.isArray(raw) || !raw.every(ok)) throw new GraphError(`${where}attr 'updates' must be a list of { input, step } (input > 0)`);
  return raw.map((u) => ({ input: u.input, step: u.step }));
}

/**
 * The inputs an update op (OpDef.assignment) writes, in the order of its outputs: input 0, then a
 * fusedAssign's `updates`. Output k of the op is the new value of input `writtenInputs(...)[k]`.
 */
export function writtenInputs(op: string, attrs: Attrs): number[] {
  if (!getOpDef(op).assignment) return [];
  return [0, ...updatesOf(attrs, `op '${op}': `).map((u) => u.input)];
}
