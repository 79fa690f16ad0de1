import type { Node } from '@graphc/graph';
import type { NodeView } from './pattern';

/** Axis permutations, as transpose's `perm` attr: output axis i is input axis p[i]. */

/** A transpose node's permutation. */
export const perm = (n: NodeView | Node): number[] => n.attrs.perm as number[];

/** Whether `a` (an attr, so possibly anything) is the permutation `b`. */
export const samePerm = (a: unknown, b: number[]): boolean => Array.isArray(a) && a.length === b.length && a.every((v, i) => v === b[i]);

export const isIdentityPerm = (p: number[]): boolean => p.every((v, i) => v === i);

/** The permutation undoing `p`: transposing by p, then by inversePerm(p), gives the input back. */
export function inversePerm(p: number[]): number[] {
  const q = new Array<number>(p.length);
  p.forEach((v, i) => (q[v] = i));
  return q;
}
