import { Attrs, SymbolicTensor, TensorValue, getOpDef, hasOp, ops, shapesEqual } from '@graphc/graph';
import { constValue, isConstFilled } from '../analysis';
import { NCHW_RULES } from './nchw-rules';
import { TRANSPOSE_RULES } from './transpose-rules';
import type { Match, NodeView, OpPattern } from './pattern';
import { isIdentityPerm, perm } from './permutation';

/** Adds nodes to the graph being built; the first one takes the rewritten node's name. */
export interface RuleBuilder {
  op(op: string, inputs: SymbolicTensor[], attrs?: Attrs): SymbolicTensor;
  /** A node of several outputs: all of them. */
  outputs(op: string, inputs: SymbolicTensor[], attrs?: Attrs): SymbolicTensor[];
}

/**
 * One rewrite: when `pattern` matches a node, `rewrite` returns what stands for its output (an
 * existing tensor or new nodes), or undefined to decline. The driver checks the result has the
 * node's exact dtype and static shape (where the node's dimension is unknown, the result's may be
 * known), so a rule never needs to re-check broadcasting.
 */
export interface Rule {
  name: string;
  pattern: OpPattern;
  rewrite?: (m: Match, b: RuleBuilder, root: NodeView) => SymbolicTensor | undefined;
  /** For a node of several outputs: what stands for each, or undefined to decline. */
  rewriteOutputs?: (m: Match, b: RuleBuilder, root: NodeView) => SymbolicTensor[] | undefined;
}

const x = { bind: 'x' };
const y = { bind: 'y' };
const filled = (v: number) => ({ bind: 'c', when: (t: SymbolicTensor) => isConstFilled(t, v) });

/** Shape-only ops (reshape, expandDims, squeeze): they alias their input and change metadata only. */
const reshapeLike = (op: string): boolean => {
  if (!hasOp(op)) return false;
  const d = getOpDef(op);
  return d.aliasesInput === true && d.family === 'array' && d.numInputs === 1;
};

/** A permutation that keeps the batch axes and swaps the last two (a matrix transpose). */
const swapsLastTwo = (n: NodeView): boolean => {
  const p = perm(n);
  const r = p.length;
  return r >= 2 && p[r - 1] === r - 2 && p[r - 2] === r - 1 && p.slice(0, r - 2).every((v, i) => v === i);
};
const unknownDims = (shape: (number | null)[]): number => shape.filter((d) => d === null).length;

/**
 * A dynamicAttrs node whose parameters have become constants (folded shape arithmetic) as its target
 * op with the attrs they give. Declined where the rule cannot decide yet, the parameters are bad or
 * the result would pass the element cap: the node then reports that itself when it runs.
 */
function knownDynamicAttrs(n: NodeView, b: RuleBuilder): SymbolicTensor | undefined {
  const { data, params } = ops.dynamicAttrsSplit(n.inputs, n.attrs);
  try {
    const { target, attrs } = ops.resolveDynamicAttrs(n.attrs, params.map((t) => constValue(t) as TensorValue), data.map((t) => ({ dtype: t.dtype, shape: t.shape })), `node '${n.name}': `);
    return b.op(target, data, attrs);
  } catch {
    return undefined;
  }
}
const paramsKnown = (n: NodeView): boolean => ops.dynamicAttrsSplit(n.inputs, n.attrs).params.every((t) => constValue(t) !== undefined);

/**
 * RMS normalization written out, as exporters and hand-built graphs write it: x times the inverse
 * root of mean(x^2) + eps over trailing axes (kept), times a scale. The inverse root is 1 / sqrt,
 * reciprocal(sqrt), rsqrt, or x is divided by the root; `x * x` and `x ** 2` are `square(x)` by then.
 */
const meanSquarePlusEps: OpPattern = {
  op: 'add',
  commutative: true,
  args: [{ op: 'reduceMean', bind: 'mean', args: [{ op: 'square', args: [x] }] }, { bind: 'eps' }],
};
const rootOfMeanSquare: OpPattern = { op: 'sqrt', args: [meanSquarePlusEps] };
const NORMALIZED: OpPattern[] = [
  { op: 'mul', commutative: true, args: [x, { op: 'div', args: [filled(1), rootOfMeanSquare] }] },
  { op: 'mul', commutative: true, args: [x, { op: 'reciprocal', args: [rootOfMeanSquare] }] },
  { op: 'mul', commutative: true, args: [x, { op: 'rsqrt', args: [meanSquarePlusEps] }] },
  { op: 'div', args: [x, rootOfMeanSquare] },
];

/**
 * The matched normalization as one rmsNorm: the mean over x's last k axes (keepDims), eps a
 * non-negative constant, the scale of x's dtype and of rank k or less (so it broadcasts over the
 * normalized axes only). Declined otherwise.
 */
function rmsNormOf(m: Match, b: RuleBuilder): SymbolicTensor | undefined {
  const { x: input, eps, scale } = m.t;
  const mean = m.n.mean;
  const rank = input.rank;
  const axes = (mean.attrs.axes as number[]).map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
  const k = axes.length;
  if (mean.attrs.keepDims !== true || k === 0 || axes.some((a, i) => a !== rank - k + i)) return undefined;
  const epsilon = constValue(eps);
  if (!epsilon || epsilon.data.length !== 1 || !(Number(epsilon.data[0]) >= 0) || eps.dtype !== input.dtype) return undefined;
  if (scale.dtype !== input.dtype || scale.rank > k || (input.dtype !== 'float32' && input.dtype !== 'float64')) return undefined;
  return b.op('rmsNorm', [input, scale], { axis: rank - k, epsilon: Number(epsilon.data[0]) });
}

const RMS_NORM_RULES: Rule[] = NORMALIZED.map((normalized) => ({
  name: 'rms-norm',
  pattern: { op: 'mul', commutative: true, args: [normalized, { bind: 'scale' }] },
  rewrite: (m, b) => rmsNormOf(m, b),
}));

/** The rewrite table of the simplification pass, tried in order on every node. */
export const SIMPLIFY_RULES: Rule[] = [
  // arithmetic identities (exact in IEEE arithmetic, NaN and infinities included)
  { name: 'add-zero', pattern: { op: 'add', commutative: true, args: [x, filled(0)] }, rewrite: (m) => m.t.x },
  { name: 'sub-zero', pattern: { op: 'sub', args: [x, filled(0)] }, rewrite: (m) => m.t.x },
  { name: 'mul-one', pattern: { op: 'mul', commutative: true, args: [x, filled(1)] }, rewrite: (m) => m.t.x },
  { name: 'div-one', pattern: { op: 'div', args: [x, filled(1)] }, rewrite: (m) => m.t.x },
  { name: 'pow-one', pattern: { op: 'pow', args: [x, filled(1)] }, rewrite: (m) => m.t.x },
  { name: 'mul-minus-one', pattern: { op: 'mul', commutative: true, args: [x, filled(-1)] }, rewrite: (m, b) => b.op('neg', [m.t.x]) },
  { name: 'mul-self', pattern: { op: 'mul', args: [x, x] }, rewrite: (m, b) => b.op('square', [m.t.x]) },
  { name: 'pow-two', pattern: { op: 'pow', args: [x, filled(2)] }, rewrite: (m, b) => b.op('square', [m.t.x]) },
  { name: 'add-neg', pattern: { op: 'add', commutative: true, args: [x, { op: 'neg', args: [y] }] }, rewrite: (m, b) => b.op('sub', [m.t.x, m.t.y]) },
  { name: 'sub-neg', pattern: { op: 'sub', args: [x, { op: 'neg', args: [y] }] }, rewrite: (m, b) => b.op('add', [m.t.x, m.t.y]) },
  { name: 'neg-neg', pattern: { op: 'neg', args: [{ op: 'neg', args: [x] }] }, rewrite: (m) => m.t.x },
  { name: 'not-not', pattern: { op: 'logicalNot', args: [{ op: 'logicalNot', args: [x] }] }, rewrite: (m) => m.t.x },
  { name: 'max-self', pattern: { op: ['maximum', 'minimum'], args: [x, x] }, rewrite: (m) => m.t.x },
  { name: 'where-same', pattern: { op: 'where', args: [{ bind: 'cond' }, x, x] }, rewrite: (m) => m.t.x },

  // identity and no-op removal
  { name: 'identity', pattern: { op: ['identity', 'stopGradient'], args: [x] }, rewrite: (m) => m.t.x },
  // its value, input 0; the xs after it only mattered to autodiff, which has run (as for stopGradient)
  { name: 'custom-gradient', pattern: { op: 'customGradient' }, rewrite: (_m, _b, root) => root.inputs[0] },
  { name: 'cast-same', pattern: { op: 'cast', args: [x], when: (n) => n.attrs.dtype === n.inputs[0].dtype }, rewrite: (m) => m.t.x },
  {
    name: 'reduce-no-axes',
    pattern: { op: ['reduceSum', 'reduceMean', 'reduceMax', 'reduceMin', 'reduceProd'], args: [x], when: (n) => Array.isArray(n.attrs.axes) && (n.attrs.axes as number[]).length === 0 },
    rewrite: (m) => m.t.x,
  },

  // shape and layout: double transposes and reshapes collapse, no-op ones vanish
  {
    name: 'reshape-noop',
    pattern: { op: reshapeLike, args: [x], when: (n) => shapesEqual(n.outputs[0].shape, n.inputs[0].shape) && unknownDims(n.outputs[0].shape) <= 1 },
    rewrite: (m) => m.t.x,
  },
  {
    name: 'reshape-reshape',
    pattern: { op: reshapeLike, args: [{ op: reshapeLike, args: [x] }], when: (n) => unknownDims(n.outputs[0].shape) <= 1 },
    rewrite: (m, b, root) => b.op('reshape', [m.t.x], { shape: root.outputs[0].shape.map((d) => d ?? -1) }),
  },
  { name: 'transpose-identity', pattern: { op: 'transpose', args: [x], when: (n) => isIdentityPerm(perm(n)) }, rewrite: (m) => m.t.x },
  {
    name: 'transpose-transpose',
    pattern: { op: 'transpose', bind: 'outer', args: [{ op: 'transpose', bind: 'inner', args: [x] }] },
    rewrite: (m, b) => {
      const p = perm(m.n.inner);
      const composed = perm(m.n.outer).map((q) => p[q]);
      return isIdentityPerm(composed) ? m.t.x : b.op('transpose', [m.t.x], { perm: composed });
    },
  },
  // transposes sink past elementwise ops, reductions and concats, and vanish into unit-axis reshapes
  ...TRANSPOSE_RULES,
  {
    name: 'matmul-transposed-a',
    pattern: { op: 'matmul', bind: 'mm', args: [{ op: 'transpose', when: swapsLastTwo, args: [x] }, y] },
    rewrite: (m, b) => b.op('matmul', [m.t.x, m.t.y], { ...m.n.mm.attrs, transposeA: m.n.mm.attrs.transposeA !== true }),
  },
  {
    name: 'matmul-transposed-b',
    pattern: { op: 'matmul', bind: 'mm', args: [x, { op: 'transpose', when: swapsLastTwo, args: [y] }] },
    rewrite: (m, b) => b.op('matmul', [m.t.x, m.t.y], { ...m.n.mm.attrs, transposeB: m.n.mm.attrs.transposeB !== true }),
  },

  // a normalization written out as one kernel
  ...RMS_NORM_RULES,

  // run-time attrs that are known now (a plan knows its feeds' shapes)
  { name: 'dynamic-attrs-known', pattern: { op: 'dynamicAttrs', when: paramsKnown }, rewrite: (_m, b, n) => knownDynamicAttrs(n, b) },

  // NCHW windows as NHWC ops between layout transposes (which then cancel or sink)
  ...NCHW_RULES,
];
