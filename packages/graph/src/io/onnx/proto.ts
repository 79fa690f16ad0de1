import { onnx } from 'onnx-proto';
import { FormatError } from '../../errors';

/**
 * The ONNX protobuf messages (onnx-proto's generated protobufjs code) and the few guards every
 * reader needs: decoding never throws anything but a FormatError, and 64-bit integers come back as
 * exact JavaScript numbers or are refused.
 */
export { onnx };

export type ModelProto = onnx.ModelProto;
export type GraphProto = onnx.IGraphProto;
export type NodeProto = onnx.INodeProto;
export type TensorProto = onnx.ITensorProto;
export type AttributeProto = onnx.IAttributeProto;
export type ValueInfoProto = onnx.IValueInfoProto;

/** What protobufjs hands back for int64 fields: a number, a Long, or (from JSON) a string. */
export type Int64Like = number | string | { low: number; high: number; unsigned?: boolean; toNumber?: () => number } | null | undefined;

/** An int64 field as a number; `where` names it in the FormatError raised when it is not exact. */
export function toNumber(value: Int64Like, where: string): number {
  if (value === null || value === undefined) return 0;
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') n = Number(value);
  else if (typeof value === 'object' && typeof value.low === 'number' && typeof value.high === 'number') {
    const big = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
    const signed = value.unsigned ? big : BigInt.asIntN(64, big);
    // INT64_MAX / INT64_MIN are ONNX's "to the end" sentinels: they round to a double, which clamps the same
    n = Number(signed);
  } else throw new FormatError(`${where}: not an integer`);
  if (!Number.isFinite(n)) throw new FormatError(`${where}: not a finite integer`);
  return n;
}

/** Runs a protobuf decode, turning anything it throws (truncation, bad wire types, deep nesting) into a FormatError. */
function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(`${what} is not a valid ONNX protobuf: ${(e as Error)?.message ?? String(e)}`);
  }
}

export function decodeModel(bytes: Uint8Array, what: string): onnx.ModelProto {
  const model = guarded(what, () => onnx.ModelProto.decode(bytes));
  if (!model.graph) throw new FormatError(`${what} has no graph (not an ONNX model)`);
  return model;
}

export function decodeTensor(bytes: Uint8Array, what: string): onnx.TensorProto {
  return guarded(what, () => onnx.TensorProto.decode(bytes));
}

export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

export function encodeTensor(t: onnx.ITensorProto): Uint8Array {
  return onnx.TensorProto.encode(onnx.TensorProto.create(t)).finish();
}

export const DataType = onnx.TensorProto.DataType;
export const AttrType = onnx.AttributeProto.AttributeType;
