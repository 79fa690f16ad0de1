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

/** Bytes past which constantHash reads a sample of a constant, not all of it. */
const SAMPLED_PAST = 64 * 1024;
/** Four-byte words of that sample, spread evenly over the data, the first and last included. */
const SAMPLE_WORDS = 4096;

/**
 * A hash of a constant's data, found once per array: constant values are never written, and the
 * plans of a session hold the same folded weights (the runtime's fold cache), so cse's keys and the
 * GPU's shared constants need not hash them again each plan. Past 64 KB it hashes the length and
 * 4096 words spread over the data rather than every byte: its callers compare the bytes in full
 * (`sameBytes`) before they merge, so a weaker hash costs only a compare where two samples agree,
 * and a model's weights (an LLM's 26.6 MB in bench/onnx-llm.js) are not read whole at its first
 * compile.
 */
export function constantHash(data: ArrayBufferView): number {
  let h = constantHashes.get(data);
  if (h === undefined) constantHashes.set(data, (h = data.byteLength > SAMPLED_PAST ? sampledHash(data) : contentHash(data)));
  return h;
}

/** FNV-1a over the byte length and SAMPLE_WORDS four-byte words at evenly spaced offsets. */
function sampledHash(data: ArrayBufferView): number {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const last = bytes.length - 4;
  let h = Math.imul(0x811c9dc5 ^ bytes.length, 0x01000193);
  for (let i = 0; i < SAMPLE_WORDS; i++) {
    const at = Math.floor((last * i) / (SAMPLE_WORDS - 1));
    const word = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
    h = Math.imul(h ^ word, 0x01000193);
  }
  return h >>> 0;
}

/** Whether two views hold the same bytes (four at a time where both are aligned). */
export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const words = a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 ? a.byteLength >> 2 : 0;
  const xw = new Int32Array(a.buffer, a.byteOffset, words);
  const yw = new Int32Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) if (xw[i] !== yw[i]) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset + words * 4, a.byteLength - words * 4);
  const y = new Uint8Array(b.buffer, b.byteOffset + words * 4, b.byteLength - words * 4);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
