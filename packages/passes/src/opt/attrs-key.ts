import type { AttrValue, Attrs, TensorValue } from '@graphc/graph';
import { contentHash, isTensorValue, sameBytes } from '@graphc/graph';

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
  let h = hashes.get(data);
  if (h === undefined) hashes.set(data, (h = contentHash(data)));
  return h;
}

export function tensorsEqual(a: TensorValue, b: TensorValue): boolean {
  if (a === b) return true;
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.data.length !== b.data.length) return false;
  return a.shape.every((d, i) => d === b.shape[i]) && sameBytes(a.data, b.data);
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
