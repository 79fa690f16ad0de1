import { DType, TypedArray, allocArray, BYTES_PER_ELEMENT } from '../dtype';

/**
 * Tensor data <-> little-endian bytes as stored in weights files. int64 is stored as real 64-bit
 * integers on disk (for interop), although it is held in a Float64Array in memory.
 */
export function encodeTensorData(dtype: DType, data: TypedArray): Uint8Array {
  if (dtype === 'int64') {
    const out = new BigInt64Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = BigInt(Math.trunc(data[i]));
    return new Uint8Array(out.buffer);
  }
  const copy = (data as TypedArray).slice();
  return new Uint8Array(copy.buffer, 0, copy.byteLength);
}

export function decodeTensorData(dtype: DType, bytes: Uint8Array, count: number): TypedArray {
  // a copy (Buffer.slice would share, and misalign, the file's memory)
  const aligned = new Uint8Array(bytes.subarray(0, count * BYTES_PER_ELEMENT[dtype]));
  if (dtype === 'int64') {
    const raw = new BigInt64Array(aligned.buffer, 0, count);
    const out = allocArray('int64', count);
    for (let i = 0; i < count; i++) out[i] = Number(raw[i]);
    return out;
  }
  const out = allocArray(dtype, count);
  new Uint8Array(out.buffer).set(aligned);
  return out;
}
