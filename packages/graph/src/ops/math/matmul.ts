import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import type { Attrs } from '../../opdef';
import { registerOp } from '../../registry';
import { Shape, broadcastShapes, shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireDType, sameDType } from '../infer-helpers';

/**
 * Which dimensions of a matmul's operands are which: `a` holds m x k in its last two dimensions
 * (k x m with transposeA), `b` holds k x n (n x k with transposeB), and everything before those is
 * batch. `D` is number for the kernels' concrete shapes, number | null for inference's.
 */
export interface MatmulGeometry<D extends number | null = number> {
  transposeA: boolean;
  transposeB: boolean;
  m: D;
  /** The inner dimension as `a` holds it. */
  k: D;
  /** The inner dimension as `b` holds it: inference checks it against `k`, kernels can rely on it. */
  kB: D;
  n: D;
  batchA: D[];
  batchB: D[];
}

/**
 * Reads m, k, n and the batch dimensions of a matmul from its operands' shapes and its transpose
 * attrs. Shared by shape inference and every backend's kernel, so they cannot disagree on where a
 * (possibly transposed) operand keeps its rows and columns.
 */
export function matmulGeometry<D extends number | null>(a: readonly D[], b: readonly D[], attrs: Attrs): MatmulGeometry<D> {
  const transposeA = attrs.transposeA === true;
  const transposeB = attrs.transposeB === true;
  return {
    transposeA,
    transposeB,
    m: a[a.length - (transposeA ? 1 : 2)],
    k: a[a.length - (transposeA ? 2 : 1)],
    kB: b[b.length - (transposeB ? 1 : 2)],
    n: b[b.length - (transposeB ? 2 : 1)],
    batchA: a.slice(0, -2),
    batchB: b.slice(0, -2),
  };
}

/**
 * Batched matrix product over the last two dimensions; leading (batch) dimensions broadcast.
 * Rank-1 operands are not promoted: use reshape/expandDims (as tf.matmul requires rank >= 2).
 */
registerOp({
  name: 'matmul',
  family: 'math',
  numInputs: 2,
  infer: (ctx) => {
    const dtype = sameDType(ctx);
    requireDType(ctx, 0, ['float32', 'float64', 'int32']);
    const [a, b] = ctx.inputs.map((i) => i.shape);
    if (a.length < 2 || b.length < 2) {
      throw new ShapeError(`${ctx.where}inputs must have rank >= 2, got ${shapeToString(a)} and ${shapeToString(b)}`);
    }
    const { transposeA: ta, transposeB: tb, m, k: ka, kB: kb, n, batchA, batchB } = matmulGeometry(a, b, ctx.attrs);
    if (ka !== null && kb !== null && ka !== kb) {
      throw new ShapeError(
        `${ctx.where}inner dimensions differ: ${shapeToString(a)}${ta ? 'ᵀ' : ''} x ${shapeToString(b)}${tb ? 'ᵀ' : ''} (${ka} vs ${kb})`,
      );
    }
    const batch: Shape = broadcastShapes(batchA, batchB, ctx.where);
    return [{ dtype, shape: [...batch, m, n] }];
  },
});

/** `a @ b` over the last two dimensions, optionally transposing either operand first. */
export function matmul(
  a: TensorLike,
  b: TensorLike,
  options: { transposeA?: boolean; transposeB?: boolean } = {},
  name?: string,
): SymbolicTensor {
  return apply1('matmul', [a, b], { transposeA: options.transposeA ?? false, transposeB: options.transposeB ?? false }, name);
}
