import { DType, DTypeError, TensorValue, TypedArray, allocArray, sizeOf } from '@graphc/graph';

/**
 * How each dtype lives in a GPU buffer. WGSL has f32, i32 and u32 but no 64-bit types, so:
 *
 * - float32 -> f32, int32 -> i32, bool -> u32 (0 or 1; 4 bytes, as WGSL has no byte loads).
 * - int64 -> i32. Every int64 value that reaches the device (feeds, constants, variables, results of
 *   CPU fallbacks) is checked to be an integer in [-2^31, 2^31): a value outside is a DTypeError
 *   naming the tensor, never a silent wrap. Kernels run on int64 only where the result cannot leave
 *   the range of the inputs (comparisons, max/min, select, gather, copies, ...); int64 arithmetic that
 *   can grow (add, mul, sum, ...) runs through the CPU fallback, which computes in doubles as the
 *   CPU backend does and checks the result on its way back.
 * - float64 -> the IEEE doubles themselves (8 bytes), opaque to WGSL: buffers keep float64 values
 *   resident, and every op that reads or writes float64 runs through the CPU fallback.
 */
export type WgslScalar = 'f32' | 'i32' | 'u32';

/** The WGSL element type of a dtype, or null for float64 (no WGSL kernel touches it). */
export function wgslType(dtype: DType): WgslScalar | null {
  switch (dtype) {
    case 'float32':
      return 'f32';
    case 'int32':
    case 'int64':
      return 'i32';
    case 'bool':
      return 'u32';
    case 'float64':
      return null;
  }
}

export function deviceElementBytes(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}

/** Bytes a tensor of `shape` takes on the device. */
export function deviceBytes(dtype: DType, shape: readonly number[]): number {
  return sizeOf(shape as number[]) * deviceElementBytes(dtype);
}

/** Buffers are sized in multiples of 16 bytes (vec4 loads) and never empty (WebGPU cannot bind size 0). */
export function bufferSize(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** The bytes to upload for a host value; int64 values are range-checked, naming `what` on failure. */
export function toDeviceArray(value: TensorValue, what: string): ArrayBufferView {
  const data = value.data;
  switch (value.dtype) {
    case 'float32':
    case 'int32':
    case 'float64':
      return data;
    case 'bool': {
      const out = new Uint32Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = data[i] ? 1 : 0;
      return out;
    }
    case 'int64': {
      const out = new Int32Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (!(v >= INT32_MIN && v <= INT32_MAX) || !Number.isInteger(v)) {
          throw new DTypeError(
            `${what}: int64 value ${v} (element ${i}) does not fit the webgpu backend's 32-bit integers; ` +
              `int64 tensors on webgpu hold values in [-2^31, 2^31) (use the cpu backend for larger ones)`,
          );
        }
        out[i] = v;
      }
      return out;
    }
  }
}

/** A host value from downloaded device bytes (a copy: the mapped range is released after). */
export function fromDeviceBytes(dtype: DType, shape: number[], bytes: ArrayBuffer, byteOffset = 0): TensorValue {
  const n = sizeOf(shape);
  let data: TypedArray;
  switch (dtype) {
    case 'float32':
      data = new Float32Array(bytes.slice(byteOffset, byteOffset + n * 4));
      break;
    case 'int32':
      data = new Int32Array(bytes.slice(byteOffset, byteOffset + n * 4));
      break;
    case 'float64':
      data = new Float64Array(bytes.slice(byteOffset, byteOffset + n * 8));
      break;
    case 'bool': {
      const src = new Uint32Array(bytes, byteOffset, n);
      data = allocArray('bool', n);
      for (let i = 0; i < n; i++) data[i] = src[i] ? 1 : 0;
      break;
    }
    case 'int64': {
      const src = new Int32Array(bytes, byteOffset, n);
      data = Float64Array.from(src);
      break;
    }
  }
  return { dtype, shape: [...shape], data };
}
