import { ShapeError } from './errors';

/** A static shape: `null` marks a dimension unknown until run time. */
export type Shape = (number | null)[];

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function isFullyKnown(shape: Shape): shape is number[] {
  return shape.every((d) => d !== null);
}

export function shapeToString(shape: Shape): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

export function shapesEqual(a: readonly (number | null)[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Row-major strides of a concrete shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * numpy broadcasting of two (possibly partly unknown) shapes. An unknown dimension broadcast
 * against 1 stays unknown; against a known n > 1 it must be n (or 1) at run time, so it becomes n.
 */
export function broadcastShapes(a: Shape, b: Shape, context = ''): Shape {
  const rank = Math.max(a.length, b.length);
  const out: Shape = new Array(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === 1) out[i] = db;
    else if (db === 1) out[i] = da;
    else if (da === null) out[i] = db;
    else if (db === null) out[i] = da;
    else if (da === db) out[i] = da;
    else
      throw new ShapeError(
        `${context}shapes ${shapeToString(a)} and ${shapeToString(b)} cannot be broadcast (dimension ${i}: ${da} vs ${db})`,
      );
  }
  return out;
}

/** Resolves a possibly negative axis against `rank`, with a clear error when out of range. */
export function normalizeAxis(axis: number, rank: number, context = ''): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) {
    throw new ShapeError(`${context}axis ${axis} is out of range for rank ${rank}`);
  }
  return a;
}

/** Normalizes a list of axes (all axes when undefined), sorted and deduplicated. */
export function normalizeAxes(axes: number[] | undefined | null, rank: number, context = ''): number[] {
  if (axes === undefined || axes === null) return Array.from({ length: rank }, (_, i) => i);
  const set = new Set(axes.map((a) => normalizeAxis(a, rank, context)));
  return [...set].sort((x, y) => x - y);
}

/** Whether a concrete shape fits a static one (unknown dimensions match anything). */
export function shapeMatches(concrete: readonly number[], declared: Shape): boolean {
  return concrete.length === declared.length && declared.every((d, i) => d === null || d === concrete[i]);
}
