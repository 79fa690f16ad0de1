/**
 * Tensor contents as keys: FNV-1a over the bytes, a 32-bit word at a time where the view is aligned
 * (the bytes after the last whole word one at a time). Equal bytes hash equal; callers that merge or
 * share by hash compare the bytes in full (`sameBytes`) before they do.
 */
export function contentHash(data: ArrayBufferView): number {
  const { buffer, byteOffset, byteLength } = data;
  let h = 0x811c9dc5;
  const words = byteOffset % 4 === 0 ? byteLength >> 2 : 0;
  const w = new Int32Array(buffer, byteOffset, words);
  for (let i = 0; i < words; i++) h = Math.imul(h ^ w[i], 0x01000193);
  const tail = new Uint8Array(buffer, byteOffset + words * 4, byteLength - words * 4);
  for (let i = 0; i < tail.length; i++) h = Math.imul(h ^ tail[i], 0x01000193);
  return h >>> 0;
}

const constantHashes = new WeakMap<ArrayBufferView, number>();

/**
 * contentHash of a constant's data, found once per array: constant values are never written, and
 * the plans of a session hold the same folded weights (the runtime's fold cache), so cse's keys and
 * the GPU's shared constants need not hash them again each plan.
 */
export function constantHash(data: ArrayBufferView): number {
  let h = constantHashes.get(data);
  if (h === undefined) constantHashes.set(data, (h = contentHash(data)));
  return h;
}

/** Whether two views hold the same bytes. */
export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
