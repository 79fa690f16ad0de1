import { isDType } from '../../dtype';
import { DTypeError, ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import type { InferContext, OutputInfo } from '../../opdef';
import { registerOp } from '../../registry';
import { requireVariable, updatedVariable } from './update';
import { Shape } from '../../shape';
import { isTensorValue } from '../../tensor';
import { apply1 } from '../builder';

/** A source's `shape` attr: non-negative integers, and `null` (unknown) where `unknownAllowed` (placeholders, not variables). */
function checkedShape(where: string, shape: unknown, unknownAllowed: boolean): Shape {
  const ok = Array.isArray(shape) && shape.every((d) => (d === null && unknownAllowed) || (Number.isSafeInteger(d) && d >= 0));
  if (!ok) throw new ShapeError(`${where}attr 'shape' must be a list of non-negative integers${unknownAllowed ? ' or null' : ''}, got ${JSON.stringify(shape)}`);
  return [...(shape as Shape)];
}

/** The output a placeholder or variable declares by its `dtype` and `shape` attrs, both checked. */
function declaredOutput(ctx: InferContext, unknownAllowed: boolean): OutputInfo[] {
  const { dtype, shape } = ctx.attrs;
  if (!isDType(dtype)) throw new DTypeError(`${ctx.where}attr 'dtype' must be a dtype`);
  return [{ dtype, shape: checkedShape(ctx.where, shape, unknownAllowed) }];
}

registerOp({
  name: 'placeholder',
  family: 'state',
  numInputs: 0,
  stateful: true,
  infer: (ctx) => declaredOutput(ctx, true),
});

registerOp({
  name: 'const',
  family: 'state',
  numInputs: 0,
  isConstantSource: true,
  infer: (ctx) => {
    const v = ctx.attrs.value;
    if (!isTensorValue(v)) throw new DTypeError(`${ctx.where}attr 'value' must be a tensor value`);
    return [{ dtype: v.dtype, shape: [...v.shape] }];
  },
});

/** A variable's current value; the session holds the storage, resident on the backend's device. */
registerOp({
  name: 'variable',
  family: 'state',
  numInputs: 0,
  stateful: true,
  infer: (ctx) => declaredOutput(ctx, false),
});

/** assign/assignAdd/assignSub(ref, value): update the variable in place; output is the new value. */
for (const [name, assignment] of [
  ['assign', 'replace'],
  ['assignAdd', 'add'],
  ['assignSub', 'sub'],
] as const) {
  registerOp({
    name,
    family: 'state',
    numInputs: 2,
    stateful: true,
    assignment,
    infer: (ctx) => {
      const [ref, value] = ctx.inputs;
      return [updatedVariable(ctx, ref, value)];
    },
  });
}



/** Sets `ref` (a variable) to `value`; running the result performs the update. */
export function assign(ref: SymbolicTensor, value: TensorLike, name?: string): SymbolicTensor {
  requireVariable(ref, 'assign');
  return apply1('assign', [ref, value], {}, name);
}

export function assignAdd(ref: SymbolicTensor, value: TensorLike, name?: string): SymbolicTensor {
  requireVariable(ref, 'assignAdd');
  return apply1('assignAdd', [ref, value], {}, name);
}

export function assignSub(ref: SymbolicTensor, value: TensorLike, name?: string): SymbolicTensor {
  requireVariable(ref, 'assignSub');
  return apply1('assignSub', [ref, value], {}, name);
}
