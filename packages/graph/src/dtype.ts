/**
 * Element types. int64 values are held in a Float64Array in memory: exact up to 2^53, which
 * covers every index and shape a model uses, and it keeps every kernel free of BigInt arithmetic.
 * Values beyond 2^53 (ONNX's INT64_MAX "to the end" sentinels) round to the nearest double, which
 * still clamps correctly.
 */
export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool';

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'int64', 'bool'];

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export type TypedArrayConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int32ArrayConstructor
  | Uint8ArrayConstructor;

const ARRAY_TYPE: Record<DType, TypedArrayConstructor> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: Float64Array,
  bool: Uint8Array,
};

/** Bytes one element takes in memory (int64 takes 8 as its Float64Array storage). */
export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  bool: 1,
};

export function arrayTypeOf(dtype: DType): TypedArrayConstructor {
  return ARRAY_TYPE[dtype];
}

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function isInteger(dtype: DType): boolean {
  return dtype === 'int32' || dtype === 'int64';
}

/**
 * The lowest and highest finite values of `dtype` (int64 as its Float64Array storage holds them:
 * -2^63 and 2^63, the nearest doubles to its bounds).
 */
export function finiteRange(dtype: DType): [number, number] {
  switch (dtype) {
    case 'float32':
      return [-3.4028234663852886e38, 3.4028234663852886e38];
    case 'float64':
      return [-Number.MAX_VALUE, Number.MAX_VALUE];
    case 'int32':
      return [-2147483648, 2147483647];
    case 'int64':
      return [-(2 ** 63), 2 ** 63];
    case 'bool':
      return [0, 1];
  }
}

/** Allocates a zeroed array of the storage type of `dtype`. */
export function allocArray(dtype: DType, size: number): TypedArray {
  return new ARRAY_TYPE[dtype](size);
}
