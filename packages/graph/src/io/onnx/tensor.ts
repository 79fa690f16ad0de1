import * as fs from 'fs';
import { DType, TypedArray, allocArray } from '../../dtype';
import { DTypeError, FormatError } from '../../errors';
import { TensorValue } from '../../tensor';
import { resolveInside } from '../safe-fs';
import { DataType, TensorProto, decodeTensor, toNumber } from './proto';

/**
 * ONNX element types and graphc dtypes. graphc has five dtypes; the other numeric ONNX types are
 * widened to the smallest graphc type that holds every value exactly (narrow integers to int32,
 * uint32/uint64 to int64, float16/bfloat16 to float32). Strings and complex numbers are refused with
 * a DTypeError. Widening keeps values, not wrap-around: uint8 arithmetic that overflows in ONNX does
 * not wrap here (documented in docs/onnx-conformance.md).
 */
const WIDEN: Record<number, DType> = {
  [DataType.FLOAT]: 'float32',
  [DataType.UINT8]: 'int32',
  [DataType.INT8]: 'int32',
  [DataType.UINT16]: 'int32',
  [DataType.INT16]: 'int32',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.BOOL]: 'bool',
  [DataType.FLOAT16]: 'float32',
  [DataType.DOUBLE]: 'float64',
  [DataType.UINT32]: 'int64',
  [DataType.UINT64]: 'int64',
  [DataType.BFLOAT16]: 'float32',
};

export const ONNX_TYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING',
  9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128', 16: 'BFLOAT16',
  // the narrow types of opsets 19 to 25, named in errors (graphc reads none of them)
  17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2', 20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4',
  23: 'FLOAT4E2M1', 24: 'FLOAT8E8M0', 25: 'UINT2', 26: 'INT2',
};

/** The ONNX element type graphc writes for each dtype. */
export const DTYPE_TO_ONNX: Record<DType, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
};

export function onnxTypeName(t: number): string {
  return ONNX_TYPE_NAMES[t] ?? `type ${t}`;
}

/** The graphc dtype an ONNX element type is held in; a DTypeError for strings, complex numbers and unknown codes. */
export function dtypeOfOnnx(elemType: number, where: string): DType {
  const d = WIDEN[elemType];
  if (!d) throw new DTypeError(`${where}: ONNX element type ${onnxTypeName(elemType)} is not supported (graphc holds numbers and bools only)`);
  return d;
}

/** Whether an ONNX element type is an integer type narrower than its graphc storage (uint8 held as int32, ...). */
export function isWidenedInteger(elemType: number): boolean {
  return [DataType.UINT8, DataType.INT8, DataType.UINT16, DataType.INT16, DataType.UINT32, DataType.UINT64].includes(elemType);
}

const ELEM_BYTES: Record<number, number> = {
  1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2,
};

/** float16 bits to a number (IEEE 754 binary16). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function bfloat16ToFloat(b: number): number {
  const buf = new Float32Array(1);
  new Uint32Array(buf.buffer)[0] = (b & 0xffff) << 16;
  return buf[0];
}

export interface TensorSource {
  /** Folder of the model file, for external data (paths are confined to it); absent: external data is refused. */
  folder?: string;
  /** Names the file in errors. */
  file: string;
}

/** Validated dims of a TensorProto and their element count (never more than the data present can hold). */
function dimsOf(t: TensorProto, where: string): number[] {
  const dims = (t.dims ?? []).map((d, i) => toNumber(d as never, `${where} dims[${i}]`));
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new FormatError(`${where}: dimension ${d} is not a non-negative integer`);
  }
  return dims;
}

function countOf(dims: number[], where: string): number {
  let n = 1;
  for (const d of dims) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) throw new FormatError(`${where}: dims [${dims.join(', ')}] hold more elements than any file can`);
  }
  return n;
}

function readExternal(t: TensorProto, source: TensorSource, where: string): Uint8Array {
  if (!source.folder) throw new FormatError(`${where}: external data is only read for a model loaded from a file`);
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (!location) throw new FormatError(`${where}: external data without a 'location'`);
  const file = resolveInside(source.folder, location, `${where} external data`);
  const offset = entries.has('offset') ? Number(entries.get('offset')) : 0;
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    throw new FormatError(`${where}: external data file '${location}' cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const length = entries.has('length') ? Number(entries.get('length')) : size - offset;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new FormatError(`${where}: external data range (offset ${entries.get('offset') ?? 0}, length ${entries.get('length') ?? '-'}) lies outside '${location}' (${size} bytes)`);
  }
  const out = new Uint8Array(length);
  const fd = fs.openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, out, done, length - done, offset + done);
      if (n <= 0) throw new FormatError(`${where}: external data file '${location}' ended early`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

function fromRaw(elemType: number, bytes: Uint8Array, count: number): TypedArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dtype = WIDEN[elemType];
  const out = allocArray(dtype, count);
  const le = true;
  switch (elemType) {
    case DataType.FLOAT:
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, le);
      break;
    case DataType.DOUBLE:
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, le);
      break;
    case DataType.INT32:
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, le);
      break;
    case DataType.INT16:
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, le);
      break;
    case DataType.UINT16:
      for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, le);
      break;
    case DataType.INT8:
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case DataType.UINT8:
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      break;
    case DataType.BOOL:
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i) ? 1 : 0;
      break;
    case DataType.INT64:
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, le));
      break;
    case DataType.UINT64:
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigUint64(i * 8, le));
      break;
    case DataType.UINT32:
      for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, le);
      break;
    case DataType.FLOAT16:
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, le));
      break;
    case DataType.BFLOAT16:
      for (let i = 0; i < count; i++) out[i] = bfloat16ToFloat(view.getUint16(i * 2, le));
      break;
  }
  return out;
}

/** The typed repeated field that holds a tensor of `elemType` when it has no raw_data. */
function fromFields(t: TensorProto, elemType: number, count: number, where: string): TypedArray {
  const dtype = WIDEN[elemType];
  let src: ArrayLike<unknown>;
  let convert: (v: unknown) => number = (v) => v as number;
  switch (elemType) {
    case DataType.FLOAT:
      src = t.floatData ?? [];
      break;
    case DataType.DOUBLE:
      src = t.doubleData ?? [];
      break;
    case DataType.INT64:
      src = t.int64Data ?? [];
      convert = (v) => toNumber(v as never, where);
      break;
    case DataType.UINT32:
    case DataType.UINT64:
      src = t.uint64Data ?? [];
      convert = (v) => {
        const n = toNumber(v as never, where);
        return n < 0 ? n + 2 ** 64 : n;
      };
      break;
    case DataType.FLOAT16:
      src = t.int32Data ?? [];
      convert = (v) => halfToFloat(v as number);
      break;
    case DataType.BFLOAT16:
      src = t.int32Data ?? [];
      convert = (v) => bfloat16ToFloat(v as number);
      break;
    case DataType.BOOL:
      src = t.int32Data ?? [];
      convert = (v) => ((v as number) ? 1 : 0);
      break;
    default:
      src = t.int32Data ?? [];
  }
  if (src.length !== count) {
    throw new FormatError(`${where}: holds ${src.length} values, but dims [${(t.dims ?? []).join(', ')}] need ${count}`);
  }
  const out = allocArray(dtype, count);
  for (let i = 0; i < count; i++) out[i] = convert(src[i]);
  return out;
}

/**
 * A TensorProto as a graphc value (widened as `dtypeOfOnnx` says). Every size is checked against
 * the bytes actually present before anything is allocated, so a file declaring huge dims over a
 * few bytes of data is a FormatError, not an allocation.
 */
export function tensorFromProto(t: TensorProto, source: TensorSource, label?: string): TensorValue {
  const where = `${source.file}: tensor '${label ?? t.name ?? ''}'`;
  const elemType = t.dataType ?? 0;
  const dtype = dtypeOfOnnx(elemType, where);
  if (t.segment) throw new FormatError(`${where}: segmented tensors are not supported`);
  const dims = dimsOf(t, where);
  const count = countOf(dims, where);
  const external = t.dataLocation === 1;
  const raw = external ? readExternal(t, source, where) : t.rawData && t.rawData.length ? t.rawData : null;
  let data: TypedArray;
  if (raw) {
    const need = count * ELEM_BYTES[elemType];
    if (raw.byteLength !== need) {
      throw new FormatError(`${where}: has ${raw.byteLength} bytes of data, but ${onnxTypeName(elemType)} [${dims.join(', ')}] needs ${need}`);
    }
    data = fromRaw(elemType, raw, count);
  } else data = fromFields(t, elemType, count, where);
  return { dtype, shape: dims, data };
}

/** Reads one TensorProto file (ONNX test data: input_0.pb, output_0.pb, ...). */
export function readTensorProtoFile(file: string): { name: string; value: TensorValue; elemType: number } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new FormatError(`tensor file '${file}' cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const proto = decodeTensor(bytes, `tensor file '${file}'`);
  return { name: proto.name ?? '', value: tensorFromProto(proto, { file }), elemType: proto.dataType ?? 0 };
}

/** A graphc value as a TensorProto (raw little-endian data; int64 as real 64-bit integers). */
export function tensorToProto(value: TensorValue, name: string): TensorProto {
  const count = value.data.length;
  let raw: Uint8Array;
  if (value.dtype === 'int64') {
    const big = new BigInt64Array(count);
    // doubles at or beyond +-2^63 (ONNX's "to the end" sentinels) saturate rather than wrap
    const max = 2n ** 63n - 1n;
    for (let i = 0; i < count; i++) {
      const v = value.data[i];
      big[i] = v >= 2 ** 63 ? max : v <= -(2 ** 63) ? -max - 1n : BigInt(Math.trunc(v));
    }
    raw = new Uint8Array(big.buffer);
  } else {
    const copy = value.data.slice();
    raw = new Uint8Array(copy.buffer, 0, copy.byteLength);
  }
  return { name, dims: [...value.shape], dataType: DTYPE_TO_ONNX[value.dtype], rawData: raw };
}
