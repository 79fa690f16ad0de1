/** How far pad's mirroring and repeating modes reach: shared by the op's shape check and the kernels'. */

/** Modes that repeat x's elements as often as asked (the edge one, or x wrapped around): they need one. */
const REPEATING = ['edge', 'wrap'];

/**
 * The most a mirroring or repeating mode may pad one side of a dimension of length `dim`: reflect
 * leaves the edge out (dim - 1), symmetric repeats it (dim), edge and wrap repeat elements as often
 * as asked but need one; constant has no limit.
 */
export function padLimit(mode: string, dim: number): number {
  if (mode === 'constant' || (REPEATING.includes(mode) && dim > 0)) return Infinity;
  return mode === 'reflect' ? dim - 1 : mode === 'symmetric' ? dim : 0;
}

/** Why `before` and `after` cannot pad dimension `axis` (length `dim`) of `shape` in `mode`. */
export function padTooLarge(mode: string, before: number, after: number, axis: number, shape: string, dim: number): string {
  const most = padLimit(mode, dim);
  return most === 0 && REPEATING.includes(mode)
    ? `${mode} padding of [${before}, ${after}] needs elements to repeat: dimension ${axis} of ${shape} is empty`
    : `${mode} padding of [${before}, ${after}] is too large for dimension ${axis} of ${shape} (at most ${most})`;
}
