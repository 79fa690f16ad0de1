import { DType, TypedArray, allocArray, arrayTypeOf, isDType } from './dtype';
import { GraphcError, ShapeError } from './errors';
import { sizeOf } from './shape';

/** A concrete value: what feeds, fetches, constants and variables hold. Row-major. */
export interface TensorValue {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

type NestedNumbers = number | boolean | NestedNumbers[];

function flatten(data: NestedNumbers, out: number[]): void {
  if (Array.isArray(data)) for (const d of data) flatten(d, out);
  else out.push(typeof data === 'boolean' ? (data ? 1 : 0) : data);
}

function inferNestedShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let cur: NestedNumbers = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

/**
 * Makes a tensor value. `data` is a typed array or a nested/flat number array; `shape` defaults to
 * the nesting of `data` (a scalar for a single number).
 *
 * ```ts
 * tensor([1, 2, 3, 4], [2, 2]);             // float32 2x2
 * tensor([[1, 2], [3, 4]]);                  // same, shape from the nesting
 * tensor(new Int32Array([0, 2]), [2], 'int32');
 * ```
 */
export function tensor(
  data: TypedArray | NestedNumbers | ArrayLike<number>,
  shape?: number[],
  dtype: DType = 'float32',
): TensorValue {
  if (!isDType(dtype)) throw new GraphcError(`unknown dtype '${String(dtype)}'`);
  let flat: ArrayLike<number>;
  if (ArrayBuffer.isView(data)) flat = data as TypedArray;
  else if (typeof data === 'number' || typeof data === 'boolean') flat = [Number(data)];
  else if (Array.isArray(data)) {
    const out: number[] = [];
    flatten(data as NestedNumbers, out);
    flat = out;
    shape ??= inferNestedShape(data as NestedNumbers);
  } else flat = Array.from(data as ArrayLike<number>);
  shape ??= flat.length === 1 && !ArrayBuffer.isView(data) ? [] : [flat.length];
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(`tensor shape [${shape.join(', ')}] must hold non-negative integers`);
  }
  const size = sizeOf(shape);
  if (flat.length !== size) {
    throw new ShapeError(`tensor data has ${flat.length} elements but shape [${shape.join(', ')}] needs ${size}`);
  }
  const Ctor = arrayTypeOf(dtype);
  const array = flat instanceof Ctor ? flat : Ctor.from(flat as ArrayLike<number>);
  return { dtype, shape: [...shape], data: array };
}

export function scalar(value: number, dtype: DType = 'float32'): TensorValue {
  return tensor([value], [], dtype);
}

export function zerosValue(shape: number[], dtype: DType = 'float32'): TensorValue {
  return { dtype, shape: [...shape], data: allocArray(dtype, sizeOf(shape)) };
}

export function isTensorValue(v: unknown): v is TensorValue {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Partial<TensorValue>;
  return isDType(t.dtype) && Array.isArray(t.shape) && ArrayBuffer.isView(t.data);
}

/** Plain nested-array view of a value, for printing and tests. */
export function toNested(t: TensorValue): unknown {
  const flat = Array.from(t.data as ArrayLike<number>, (v) => (t.dtype === 'bool' ? v !== 0 : v));
  if (t.shape.length === 0) return flat[0];
  const build = (dim: number, offset: number): unknown[] => {
    const n = t.shape[dim];
    const stride = sizeOf(t.shape.slice(dim + 1));
    return Array.from({ length: n }, (_, i) =>
      dim === t.shape.length - 1 ? flat[offset + i] : build(dim + 1, offset + i * stride),
    );
  };
  return build(0, 0);
}
