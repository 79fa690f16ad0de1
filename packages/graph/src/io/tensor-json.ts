import { isDType } from '../dtype';
import { FeedError } from '../errors';
import { sizeOf } from '../shape';
import { TensorValue, tensor } from '../tensor';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * The JSON form of API.md: `{ "x": { "dtype", "shape", "data" } }`, data flat and row-major;
 * int64 values that do not fit a double exactly are strings.
 */
export function tensorToJson(t: TensorValue): { dtype: string; shape: number[]; data: (number | string | boolean)[] } {
  const data = Array.from(t.data as ArrayLike<number>, (v) => {
    if (t.dtype === 'bool') return v !== 0;
    if (t.dtype === 'int64' && Math.abs(v) > MAX_SAFE) return BigInt(v).toString();
    if (!Number.isFinite(v)) return String(v); // JSON has no NaN/Infinity: "NaN", "Infinity", "-Infinity"
    return v;
  });
  return { dtype: t.dtype, shape: [...t.shape], data };
}

/** Parses one tensor of the JSON form; `where` names the feed or file in errors. */
export function tensorFromJson(value: unknown, where: string): TensorValue {
  if (!value || typeof value !== 'object') throw new FeedError(`${where}: expected { dtype, shape, data }`);
  const v = value as { dtype?: unknown; shape?: unknown; data?: unknown };
  const dtype = v.dtype ?? 'float32';
  if (!isDType(dtype)) throw new FeedError(`${where}: unknown dtype '${String(dtype)}'`);
  if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new FeedError(`${where}: 'shape' must be a list of non-negative integers`);
  }
  if (!Array.isArray(v.data)) throw new FeedError(`${where}: 'data' must be a flat list`);
  const shape = v.shape as number[];
  if (v.data.length !== sizeOf(shape)) {
    throw new FeedError(`${where}: 'data' has ${v.data.length} values, but shape [${shape.join(', ')}] needs ${sizeOf(shape)}`);
  }
  const numbers = v.data.map((d, i) => {
    const n = typeof d === 'boolean' ? (d ? 1 : 0) : typeof d === 'string' ? Number(d) : d;
    if (typeof n !== 'number' || (Number.isNaN(n) && d !== 'NaN')) throw new FeedError(`${where}: data[${i}] is not a number`);
    return n;
  });
  return tensor(numbers, shape, dtype);
}

/** Parses a feeds file: an object of tensors keyed by name. */
export function tensorsFromJson(doc: unknown, where: string): Map<string, TensorValue> {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new FeedError(`${where}: expected an object keyed by tensor name`);
  return new Map(Object.entries(doc).map(([k, v]) => [k, tensorFromJson(v, `${where}: '${k}'`)]));
}
