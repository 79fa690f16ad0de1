import type { AttrValue, Attrs, TensorValue } from '@graphc/graph';
import { isTensorValue } from '@graphc/graph';

/** FNV-1a over a tensor's bytes, a 32-bit word at a time: equal values hash equal (then compared in full). */
export function hashTensor(v: TensorValue): string {
  return `${v.dtype}[${v.shape.join(',')}]#${hashBytes(v.data).toString(16)}`;
}

/**
 * Hashes by data array, once each: constant values are never written, and every plan of a session
 * holds the same weights (folded once, see the runtime's fold cache), so its passes need not hash
 * them again.
 */
const hashes = new WeakMap<ArrayBufferView, number>();

function hashBytes(data: ArrayBufferView): number {
  const known = hashes.get(data);
  if (known !== undefined) return known;
  const { buffer, byteOffset, byteLength } = data;
  let h = 0x811c9dc5;
  const words = byteOffset % 4 === 0 ? byteLength >> 2 : 0;
  const w = new Int32Array(buffer, byteOffset, words);
  for (let i = 0; i < words; i++) h = Math.imul(h ^ w[i], 0x01000193);
  const tail = new Uint8Array(buffer, byteOffset + words * 4, byteLength - words * 4);
  for (let i = 0; i < tail.length; i++) h = Math.imul(h ^ tail[i], 0x01000193);
  hashes.set(data, (h >>>= 0));
  return h;
}

export function tensorsEqual(a: TensorValue, b: TensorValue): boolean {
  if (a === b) return true;
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.data.length !== b.data.length) return false;
  if (!a.shape.every((d, i) => d === b.shape[i])) return false;
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function canonical(v: AttrValue | undefined): unknown {
  if (v === undefined || v === null || typeof v !== 'object') return v;
  if (isTensorValue(v)) return { $tensor: hashTensor(v) };
  if (Array.isArray(v)) return v.map((x) => canonical(x as AttrValue));
  const obj = v as Record<string, AttrValue>;
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, canonical(obj[k])]));
}

/** A canonical string of attrs (keys sorted, tensors by content hash): equal attrs, equal keys. */
export function attrsKey(attrs: Attrs): string {
  // attrs objects are shared by a node's copies in every pass's graph: key each once
  let key = keyCache.get(attrs);
  if (key === undefined) {
    key = Object.keys(attrs).length === 0 ? '{}' : JSON.stringify(canonical(attrs as AttrValue));
    keyCache.set(attrs, key);
  }
  return key;
}

const keyCache = new WeakMap<Attrs, string>();
