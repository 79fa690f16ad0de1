import { SymbolicTensor, TensorValue, getOpDef, hasOp, sizeOf, stridesOf } from '@graphc/graph';
import { constValue } from '../analysis';
import type { NodeView } from './pattern';
import { inversePerm, isIdentityPerm, perm, samePerm } from './permutation';
import type { Rule, RuleBuilder } from './rules';

/**
 * Transposes sink towards the outputs: an op over transposed values runs on the values as they
 * were and one transpose follows it, `f(transpose(x, p)) = transpose(f(x), p)`. Sunk transposes
 * meet and cancel (transpose-transpose), or reach a reshape that only moves unit axes and vanish
 * into it. This is what lets a channels-first model run channels-last: the layout transposes
 * nchw-rules.ts puts around each window sink from one window to the next and cancel there, as in
 * onnxruntime's transpose optimizer and TVM's ConvertLayout.
 *
 * A transpose sinks only where nothing new is paid per run: the op's other inputs are transposed
 * the same way, single values, constants (permuted here, at compile time), or values whose
 * permutation moves only unit axes (a reshape, which moves no data).
 */

const isTranspose = (t: SymbolicTensor): boolean => t.node.op === 'transpose' && t.index === 0 && t.node.controlInputs.length === 0;

/** The first input that is a transpose of the op's full rank: its permutation, or undefined. */
function sinkingPerm(node: NodeView, rank: number): number[] | undefined {
  const t = node.inputs.find((i) => isTranspose(i) && i.rank === rank);
  return t ? perm(t.node) : undefined;
}

/** `v`'s elements in `shape` (its own, with leading ones) permuted by `q`: `transpose(v, q)` computed now. */
function permuteValue(v: TensorValue, shape: number[], q: number[]): TensorValue {
  const outShape = q.map((a) => shape[a]);
  const inStrides = stridesOf(shape);
  const data = new (v.data.constructor as new (n: number) => TensorValue['data'])(v.data.length);
  const index = new Array<number>(q.length).fill(0);
  for (let i = 0; i < data.length; i++) {
    let src = 0;
    for (let d = 0; d < q.length; d++) src += index[d] * inStrides[q[d]];
    data[i] = v.data[src];
    for (let d = q.length - 1; d >= 0; d--) {
      if (++index[d] < outShape[d]) break;
      index[d] = 0;
    }
  }
  return { dtype: v.dtype, shape: outShape, data } as TensorValue;
}

/**
 * Input `t` of an op whose transposed inputs sink past it with permutation `p` (rank `rank`): the
 * tensor under a transpose by `p`; a single value as it is; a constant permuted by p's inverse (with
 * leading ones to `rank` first, as broadcasting reads it); a value that permutation only reshapes,
 * reshaped; otherwise undefined.
 */
function unpermuted(t: SymbolicTensor, p: number[], rank: number, b: RuleBuilder): SymbolicTensor | undefined {
  if (isTranspose(t) && t.rank === rank && samePerm(perm(t.node), p)) return t.node.inputs[0];
  if (t.rank > rank) return undefined;
  const known = t.shape.every((d) => d !== null);
  if (known && sizeOf(t.shape as number[]) === 1) return t;
  const shape = [...new Array<number>(rank - t.rank).fill(1), ...t.shape];
  const q = inversePerm(p);
  const value = constValue(t);
  if (value && known) return b.op('const', [], { value: permuteValue(value, shape as number[], q) });
  // permuting only unit axes is a reshape, which moves no data: the per-channel [N, C, 1, 1] scale of
  // a squeeze-and-excitation block, say, viewed as [N, 1, 1, C]
  if (!permutesUnitAxesOnly(shape, q) || shape.filter((d) => d === null).length > 1) return undefined;
  return b.op('reshape', [t], { shape: q.map((a) => shape[a] ?? -1) });
}

/** Whether permuting axes of `shape` by `p` keeps every axis longer than one in order. */
function permutesUnitAxesOnly(shape: readonly (number | null)[], p: number[]): boolean {
  const long = p.filter((a) => shape[a] !== 1);
  return long.every((a, i) => i === 0 || long[i - 1] < a);
}

/** Elementwise ops with broadcasting, and batchNorm (its statistics broadcast against x). */
const broadcasting = (op: string): boolean => op === 'batchNorm' || (hasOp(op) && getOpDef(op).elementwise !== undefined && !getOpDef(op).stateful);

function sinkThroughElementwise(node: NodeView, b: RuleBuilder): SymbolicTensor | undefined {
  const rank = node.outputs[0].shape.length;
  const p = sinkingPerm(node, rank);
  if (!p) return undefined;
  const inputs = node.inputs.map((t) => unpermuted(t, p, rank, b));
  if (inputs.some((t) => t === undefined)) return undefined;
  return b.op('transpose', [b.op(node.op, inputs as SymbolicTensor[], node.attrs)], { perm: p });
}

/** A reduction over transposed axes reduces the matching axes of the untransposed value. */
function sinkThroughReduce(node: NodeView, b: RuleBuilder): SymbolicTensor | undefined {
  const x = node.inputs[0];
  if (!isTranspose(x) || x.rank === 0) return undefined;
  const p = perm(x.node);
  const axes = ((node.attrs.axes as number[] | undefined) ?? p.map((_, i) => i)).map((a) => (a < 0 ? a + p.length : a));
  const reduced = new Set(axes.map((a) => p[a]));
  const y = b.op(node.op, [x.node.inputs[0]], { ...node.attrs, axes: [...reduced].sort((i, j) => i - j) });
  return node.attrs.keepDims === true ? b.op('transpose', [y], { perm: p }) : withoutAxes(y, p, reduced, b);
}

/** `y`, x reduced over axes `reduced` (x's own numbering) and dropped, in the order transpose(x, p) had the rest. */
function withoutAxes(y: SymbolicTensor, p: number[], reduced: Set<number>, b: RuleBuilder): SymbolicTensor {
  // the kept axes, in the order the transposed value had them, as positions among y's axes
  const kept = p.filter((a) => !reduced.has(a));
  const order = [...kept].sort((i, j) => i - j);
  const q = kept.map((a) => order.indexOf(a));
  return isIdentityPerm(q) ? y : b.op('transpose', [y], { perm: q });
}

/** Ops along one `axis` attr: softmax and logSoftmax keep it, argMax and argMin drop it. */
function sinkThroughAxisOp(node: NodeView, b: RuleBuilder): SymbolicTensor | undefined {
  const x = node.inputs[0];
  if (!isTranspose(x) || x.rank === 0) return undefined;
  const p = perm(x.node);
  const given = Number(node.attrs.axis ?? -1);
  const axis = p[given < 0 ? given + p.length : given];
  const y = b.op(node.op, [x.node.inputs[0]], { ...node.attrs, axis });
  return node.op === 'argMax' || node.op === 'argMin' ? withoutAxes(y, p, new Set([axis]), b) : b.op('transpose', [y], { perm: p });
}

function sinkThroughConcat(node: NodeView, b: RuleBuilder): SymbolicTensor | undefined {
  const rank = node.outputs[0].shape.length;
  const p = sinkingPerm(node, rank);
  if (!p || !node.inputs.every((t) => isTranspose(t) && samePerm(perm(t.node), p))) return undefined;
  const axis = Number(node.attrs.axis);
  const y = b.op('concat', node.inputs.map((t) => t.node.inputs[0]), { ...node.attrs, axis: p[axis < 0 ? axis + rank : axis] });
  return b.op('transpose', [y], { perm: p });
}

/**
 * Ops with one attr entry (or [before, after] pair) per axis: resize (sizes, scales and roi's
 * starts and ends), pad (paddings) and the slices (begin, strides, size). Over transposed axes they
 * take the entries in x's own order.
 */
const PER_AXIS_ATTRS: Record<string, { attr: string; width: number; halves?: boolean }[]> = {
  resize: [{ attr: 'sizes', width: 1 }, { attr: 'scales', width: 1 }, { attr: 'roi', width: 1, halves: true }],
  pad: [{ attr: 'paddings', width: 2 }],
  slice: [{ attr: 'begin', width: 1 }, { attr: 'size', width: 1 }],
  stridedSlice: [{ attr: 'begin', width: 1 }, { attr: 'strides', width: 1 }, { attr: 'size', width: 1 }],
};

function sinkThroughPerAxis(node: NodeView, b: RuleBuilder): SymbolicTensor | undefined {
  const x = node.inputs[0];
  if (!isTranspose(x)) return undefined;
  const p = perm(x.node);
  const q = inversePerm(p);
  const attrs = { ...node.attrs };
  for (const { attr, width, halves } of PER_AXIS_ATTRS[node.op]) {
    const v = node.attrs[attr];
    if (!Array.isArray(v)) continue;
    const entries = v as number[];
    // entry j of x's order is entry q[j] of the transposed order; roi is [starts..., ends...]
    const take = (list: number[]) => q.flatMap((i) => list.slice(i * width, (i + 1) * width));
    const r = p.length;
    attrs[attr] = halves ? [...take(entries.slice(0, r)), ...take(entries.slice(r))] : take(entries);
  }
  return b.op('transpose', [b.op(node.op, [x.node.inputs[0]], attrs)], { perm: p });
}

/** A split along a transposed axis splits the matching axis of the untransposed value; each part is transposed after. */
function sinkThroughSplit(node: NodeView, b: RuleBuilder): SymbolicTensor[] | undefined {
  const x = node.inputs[0];
  if (!isTranspose(x)) return undefined;
  const p = perm(x.node);
  const axis = Number(node.attrs.axis);
  const parts = b.outputs('split', [x.node.inputs[0]], { ...node.attrs, axis: p[axis < 0 ? axis + p.length : axis] });
  return parts.map((t) => b.op('transpose', [t], { perm: p }));
}

/** A transpose that keeps the order of every axis longer than one only moves unit axes: a reshape, which moves no data. */
const movesUnitAxesOnly = (node: NodeView): boolean =>
  permutesUnitAxesOnly(node.inputs[0].shape, perm(node)) && node.outputs[0].shape.filter((d) => d === null).length <= 1;

export const TRANSPOSE_RULES: Rule[] = [
  { name: 'transpose-sink-elementwise', pattern: { op: broadcasting, when: (n) => n.inputs.some(isTranspose) }, rewrite: (_m, b, n) => sinkThroughElementwise(n, b) },
  {
    name: 'transpose-sink-reduce',
    pattern: { op: ['reduceSum', 'reduceMean', 'reduceMax', 'reduceMin', 'reduceProd'], when: (n) => isTranspose(n.inputs[0]) },
    rewrite: (_m, b, n) => sinkThroughReduce(n, b),
  },
  { name: 'transpose-sink-axis', pattern: { op: ['softmax', 'logSoftmax', 'argMax', 'argMin'], when: (n) => isTranspose(n.inputs[0]) }, rewrite: (_m, b, n) => sinkThroughAxisOp(n, b) },
  { name: 'transpose-sink-concat', pattern: { op: 'concat', when: (n) => n.inputs.length > 0 && n.inputs.every(isTranspose) }, rewrite: (_m, b, n) => sinkThroughConcat(n, b) },
  { name: 'transpose-sink-per-axis', pattern: { op: Object.keys(PER_AXIS_ATTRS), when: (n) => isTranspose(n.inputs[0]) }, rewrite: (_m, b, n) => sinkThroughPerAxis(n, b) },
  { name: 'transpose-sink-split', pattern: { op: 'split', when: (n) => isTranspose(n.inputs[0]) }, rewriteOutputs: (_m, b, n) => sinkThroughSplit(n, b) },
  {
    name: 'transpose-unit-axes',
    pattern: { op: 'transpose', when: movesUnitAxesOnly },
    rewrite: (_m, b, n) => b.op('reshape', [n.inputs[0]], { shape: n.outputs[0].shape.map((d) => d ?? -1) }),
  },
];
