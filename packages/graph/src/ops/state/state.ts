import { isDType } from '../../dtype';
import { DTypeError, ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import type { InferContext, OutputInfo } from '../../opdef';
import { registerOp } from '../../registry';
import { Shape, shapeMatches, shapeToString } from '../../shape';
import { isTensorValue } from '../../tensor';
import { apply1 } from '../builder';
import { broadcastShapes } from '../../shape';

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
for (const name of ['assign', 'assignAdd', 'assignSub']) {
  registerOp({
    name,
    family: 'state',
    numInputs: 2,
    stateful: true,
    infer: (ctx) => {
      const [ref, value] = ctx.inputs;
      if (ref.dtype !== value.dtype) throw new DTypeError(`${ctx.where}value dtype ${value.dtype} differs from variable dtype ${ref.dtype}`);
      const refShape = ref.shape as number[];
      // the value may broadcast (a scalar learning-rate update), but never change the variable's shape
      const b = broadcastShapes(refShape, value.shape, ctx.where);
      if (!shapeMatches(refShape, b)) {
        throw new ShapeError(`${ctx.where}value shape ${shapeToString(value.shape)} does not fit variable shape ${shapeToString(ref.shape)}`);
      }
      return [{ dtype: ref.dtype, shape: [...ref.shape] }];
    },
  });
}

function requireVariable(ref: SymbolicTensor, op: string): void {
  if (!(ref instanceof SymbolicTensor) || ref.node.op !== 'variable') {
    throw new DTypeError(`${op}: the first argument must be a variable, got ${String(ref)}`);
  }
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
