import type { AttrValue, Attrs, TensorValue } from '@graphc/graph';
import { constantHash, isTensorValue, sameBytes } from '@graphc/graph';

/** A tensor's dtype, shape and content hash: equal values hash equal (cse then compares them in full). */
export function hashTensor(v: TensorValue): string {
  return `${v.dtype}[${v.shape.join(',')}]#${constantHash(v.data).toString(16)}`;
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
