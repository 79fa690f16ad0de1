import * as fs from 'fs';
import * as zlib from 'zlib';
import { FormatError, TypedArray } from '@graphc/graph';

/** A raw array read from a data file: shape and values as stored (the first dimension is the example). */
export interface RawArray {
  shape: number[];
  data: TypedArray | Uint8Array | Int8Array | Int16Array;
}

const IDX_TYPES: Record<number, { bytes: number; read: (b: Buffer, o: number) => number; make: (n: number) => RawArray['data'] }> = {
  0x08: { bytes: 1, read: (b, o) => b[o], make: (n) => new Uint8Array(n) },
  0x09: { bytes: 1, read: (b, o) => b.readInt8(o), make: (n) => new Int8Array(n) },
  0x0b: { bytes: 2, read: (b, o) => b.readInt16BE(o), make: (n) => new Int16Array(n) },
  0x0c: { bytes: 4, read: (b, o) => b.readInt32BE(o), make: (n) => new Int32Array(n) },
  0x0d: { bytes: 4, read: (b, o) => b.readFloatBE(o), make: (n) => new Float32Array(n) },
  0x0e: { bytes: 8, read: (b, o) => b.readDoubleBE(o), make: (n) => new Float64Array(n) },
};

/**
 * Reads an IDX file (the format of MNIST and Fashion-MNIST: magic `00 00 TYPE RANK`, RANK big-endian
 * u32 dimensions, then the values big-endian), gzip-compressed or not.
 */
export function readIdx(file: string): RawArray {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  const key = stat ? `${fs.realpathSync(file)}:${stat.size}:${stat.mtimeMs}` : '';
  const cached = cache.get(key);
  if (cached) return cached;
  const array = parseIdx(file);
  if (key) cache.set(key, array);
  return array;
}

/** Parsed files of this process (tests train many times on the same files); callers never write into them. */
const cache = new Map<string, RawArray>();

function parseIdx(file: string): RawArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new FormatError(`data file '${file}' cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = zlib.gunzipSync(bytes);
    } catch (e) {
      throw new FormatError(`data file '${file}' is not valid gzip: ${(e as Error).message}`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || !IDX_TYPES[bytes[2]]) {
    throw new FormatError(`data file '${file}' is not an IDX file (bad magic)`);
  }
  const type = IDX_TYPES[bytes[2]];
  const rank = bytes[3];
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new FormatError(`data file '${file}': IDX header is truncated`);
  const shape = Array.from({ length: rank }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + count * type.bytes) {
    throw new FormatError(`data file '${file}': IDX dims [${shape.join(', ')}] need ${header + count * type.bytes} bytes, the file has ${bytes.length}`);
  }
  const data = type.make(count);
  if (type.bytes === 1 && bytes[2] === 0x08) (data as Uint8Array).set(bytes.subarray(header));
  else for (let i = 0; i < count; i++) data[i] = type.read(bytes, header + i * type.bytes);
  return { shape, data };
}
