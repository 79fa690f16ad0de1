import { DType, isFloat } from '../../dtype';
import type { Attrs } from '../../opdef';
import { Node, SymbolicTensor } from '../../graph';
import { getDynamicAttrsRule } from '../../ops/array/dynamic-attrs';
import { Shape } from '../../shape';
import { TensorValue, tensor } from '../../tensor';
import type { OnnxNode } from './context';
import './dynamic-rules';

/** A parameter input of an ONNX op: its tensor, and its value when known at import. */
export interface Param {
  tensor: SymbolicTensor;
  value?: TensorValue;
}

export function param(n: OnnxNode, index: number): Param {
  return { tensor: n.input(index), value: n.value(index) };
}

export function constParam(n: OnnxNode, value: TensorValue): Param {
  return { tensor: n.constant(value), value };
}

export function int64Param(n: OnnxNode, values: number[]): Param {
  return constParam(n, tensor(values, [values.length], 'int64'));
}

/**
 * Emits the graphc op of dynamic-attrs rule `rule`: the rule's target op with static attrs when every
 * parameter is known (and the rule can decide with the shapes known now), else a `dynamicAttrs` node
 * that decides at run time.
 */
export function withParams(n: OnnxNode, rule: string, data: SymbolicTensor[], params: Param[], fixed: Attrs = {}): Node {
  const r = getDynamicAttrsRule(rule);
  if (params.every((p) => p.value)) {
    const values = params.map((p) => p.value!);
    const attrs = r.attrs(
      values,
      data.map((d) => ({ dtype: d.dtype, shape: d.shape })),
      fixed,
    );
    if (attrs) return n.node(r.target, data, attrs);
    if (r.hint) fixed = { ...fixed, ...r.hint(values) };
  }
  return n.node('dynamicAttrs', [...data, ...params.map((p) => p.tensor)], { ...fixed, rule, numData: data.length });
}

/** A dimension of `x` as an int64 scalar: a constant when known at import, else read from its shape at run time. */
export function dimOf(n: OnnxNode, x: SymbolicTensor, axis: number): SymbolicTensor {
  const known = x.shape[axis];
  if (known !== null) return n.constant(tensor([known], [], 'int64'));
  return n.op('reshape', [n.op('shapeOf', [x], { start: axis, end: axis + 1 })], { shape: [] });
}

/** Scalar constant of `dtype`. */
export function scalarOf(n: OnnxNode, value: number, dtype: DType): SymbolicTensor {
  return n.constant(tensor([value], [], dtype));
}

/** An integer list attribute or, from opset `sinceOpset` on, input `index` (ONNX moved many attrs to inputs). */
export function intsFromAttrOrInput(n: OnnxNode, attr: string, index: number, sinceOpset: number): Param | undefined {
  if (n.opset >= sinceOpset) return n.has(index) ? param(n, index) : undefined;
  if (!n.attr.has(attr)) return undefined;
  const v = n.attr.ints(attr);
  return int64Param(n, v);
}

/** Reshapes `x` to `shape`, where unknown dims come from `like` at run time if needed. */
export function reshapeTo(n: OnnxNode, x: SymbolicTensor, shape: Shape, like?: SymbolicTensor): SymbolicTensor {
  const unknown = shape.filter((d) => d === null).length;
  if (unknown === 0) return n.op('reshape', [x], { shape: shape as number[] });
  if (unknown === 1) return n.op('reshape', [x], { shape: shape.map((d) => d ?? -1) });
  if (!like) return n.unsupported(`reshape to ${JSON.stringify(shape)} needs dimensions known at run time only`);
  const shapeTensor = n.op('shapeOf', [like]);
  return withParams(n, 'onnx.Reshape', [x], [{ tensor: shapeTensor }], { allowzero: true }).output(0);
}

export function isFloatTensor(t: SymbolicTensor): boolean {
  return isFloat(t.dtype);
}

/** Casts to `dtype` unless already of it. */
export function castTo(n: OnnxNode, x: SymbolicTensor, dtype: DType): SymbolicTensor {
  return x.dtype === dtype ? x : n.op('cast', [x], { dtype });
}

/** Product of known dims, null if any is unknown. */
export function knownSize(shape: Shape): number | null {
  let p = 1;
  for (const d of shape) {
    if (d === null) return null;
    p *= d;
  }
  return p;
}
