import type { TypedArray } from '@graphc/graph';
import { ensureMemory } from './wasm-assembler';
import type { SimdKernel } from './wasm-simd';

/**
 * The SIMD kernels' memory: a working area from 0, which each product or convolution lays its
 * operands into afresh, and above it the resident area, where constant operands (a dense layer's
 * weights), and variables' while nothing writes them, stay between runs. The kernels read operands
 * only from their own memory, so without it a product by a weight matrix copies the whole matrix in
 * on every run: for a batch of one (an LLM's decode step, one request to a server) that copy costs
 * as much as the product.
 *
 * The resident area sits at `base` floats, just past the largest working area asked for so far;
 * when a larger one is asked for, the resident area moves up (a memmove, rare: working areas grow
 * to their largest within the first runs). A resident operand's address is therefore read after
 * the call that sizes the working area (`residentAddress`).
 */

/** Floats that may be resident per memory: 256 MiB. Past it operands are copied per product, as before. */
export const MAX_RESIDENT_FLOATS = 64 * 1024 * 1024;

/** One resident copy: `floats` values of `data` from `offset`, at `at` floats into the resident area. */
export interface ResidentSlot {
  readonly data: WeakRef<TypedArray>;
  readonly offset: number;
  readonly floats: number;
  at: number;
  /** Floats the slot takes (the copy, the reads past it the kernel may make, 16-byte alignment). */
  readonly size: number;
  /** How the values are laid out, where not copied as they are (residentLaidOut). */
  readonly layout?: string;
  /** The data's version the copy holds (a variable's, see variableWritten; a constant's stays 0). */
  version: number;
}

interface ResidentArea {
  /** Where the area starts, in floats. */
  base: number;
  /** Floats used from the base. */
  used: number;
  slots: ResidentSlot[];
  byData: WeakMap<TypedArray, ResidentSlot[]>;
}

const areas = new WeakMap<SimdKernel, ResidentArea>();

/** Typed arrays of constants (the cpu executable marks its plan's when it compiles): their values never change. */
const constantData = new WeakSet<TypedArray>();

/**
 * Typed arrays of variables (the cpu's variable kernel marks them as it hands them out), and how
 * many times each was written (the assign kernels count). A variable's copy is made where it went
 * unwritten between two uses (an inference session's weights, from its second run), and made again
 * where it changed and then again went unwritten; one written between every two uses (a training
 * step's weights) is never copied, its products reading it as they did.
 */
const variableData = new WeakSet<TypedArray>();
const versions = new WeakMap<TypedArray, number>();
/** A variable's uses not yet resident: the version each slot key last saw. */
const seen = new WeakMap<TypedArray, Map<string, number>>();

/** Whether `data` holds values a kernel may keep resident: a constant's or a variable's (markConstantData, markVariableData). */
export function isResidentData(data: TypedArray): boolean {
  return constantData.has(data) || variableData.has(data);
}

/** Marks `data` as a constant's values, which a kernel may keep resident. */
export function markConstantData(data: TypedArray): void {
  constantData.add(data);
}

/** Marks `data` as a variable's values, which a kernel may keep resident while they go unwritten. */
export function markVariableData(data: TypedArray): void {
  variableData.add(data);
}

/** Counts a write of a variable's values in place: its resident copies are stale until made again. */
export function variableWritten(data: TypedArray): void {
  versions.set(data, (versions.get(data) ?? 0) + 1);
}

/**
 * Whether a variable's use under `key` should be resident now: its version is the one its last use
 * saw (so it went unwritten in between). Each use records the version it saw.
 */
function unwrittenSinceLastUse(data: TypedArray, key: string, version: number): boolean {
  let byKey = seen.get(data);
  if (!byKey) seen.set(data, (byKey = new Map()));
  const last = byKey.get(key);
  byKey.set(key, version);
  return last === version;
}

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/**
 * A Float32Array over the kernel's memory with a working area of at least `floats` elements from 0;
 * null when the memory cannot grow that far (then the caller takes the JavaScript path). The memory
 * keeps its largest size for reuse.
 */
export function simdMemory(kernel: SimdKernel, floats: number): Float32Array | null {
  const area = areas.get(kernel);
  if (!area || area.used === 0) {
    if (area) area.base = Math.max(area.base, roundUp(floats, 4));
    return ensureMemory(kernel.memory, floats * 4) ? new Float32Array(kernel.memory.buffer) : null;
  }
  if (floats > area.base) {
    const base = roundUp(floats, 4);
    if (!ensureMemory(kernel.memory, (base + area.used) * 4)) return null;
    const f = new Float32Array(kernel.memory.buffer);
    f.copyWithin(base, area.base, area.base + area.used);
    area.base = base;
    return f;
  }
  return new Float32Array(kernel.memory.buffer);
}

/**
 * The resident copy of `floats` values of `data` from `offset`, copied in now if it is not there yet
 * (`reserve` floats in all: the kernel may read that far, into results it drops); null when the
 * data is not a constant's or the resident area is full. Its address, `base + at` floats, holds
 * until the next `simdMemory` call: take it from `residentAddress` after that call.
 */
export function residentSlot(kernel: SimdKernel, data: TypedArray, offset: number, floats: number, reserve: number): ResidentSlot | null {
  if (!(data instanceof Float32Array)) return null;
  return placeResident(kernel, data, offset, floats, reserve);
}

/**
 * As residentSlot for int32 words (matmulNBits' packed weights), copied bit for bit: `words` values
 * from `offset`, `reserve` words in all. A separate entry so that residentSlot never takes an int32
 * operand, which a float32 product copies in converted to floats.
 */
export function residentWords(kernel: SimdKernel, data: Int32Array, offset: number, words: number, reserve: number): ResidentSlot | null {
  return placeResident(kernel, data, offset, words, reserve);
}

/**
 * A resident slot of `floats` floats that `write(f, at)` fills from a constant's or a variable's
 * `data` (a weight matrix packed into panels), written once (a variable's again after it changes);
 * `layout` names the arrangement, so that slots of the same data laid out otherwise are never taken
 * for it. `write` may use the working area's first
 * `scratch` floats (sized before the slot is placed). Null as residentSlot.
 */
export function residentLaidOut(
  kernel: SimdKernel,
  data: TypedArray,
  layout: string,
  floats: number,
  write: (f: Float32Array, at: number) => void,
  scratch = 0,
): ResidentSlot | null {
  if (!(data instanceof Float32Array)) return null;
  return placeResident(kernel, data, 0, floats, floats, { layout, write, scratch });
}

function placeResident(
  kernel: SimdKernel,
  data: Float32Array | Int32Array,
  offset: number,
  floats: number,
  reserve: number,
  laidOut?: { layout: string; write: (f: Float32Array, at: number) => void; scratch: number },
): ResidentSlot | null {
  const variable = !constantData.has(data);
  if (variable && !variableData.has(data)) return null;
  let area = areas.get(kernel);
  const found = area?.byData.get(data)?.find((s) => s.offset === offset && s.floats === floats && s.size >= reserve && s.layout === laidOut?.layout);
  const version = variable ? (versions.get(data) ?? 0) : 0;
  if (found?.version === version) return found;
  if (variable && !unwrittenSinceLastUse(data, `${offset} ${floats} ${reserve} ${laidOut?.layout}`, version)) return null;
  if (found) {
    // a variable's copy, written since it was made, unwritten since its last use: made again in place
    if (laidOut?.scratch && !simdMemory(kernel, laidOut.scratch)) return null;
    fill(kernel, found, data, laidOut);
    found.version = version;
    return found;
  }
  area ??= newArea(kernel);
  const size = roundUp(Math.max(reserve, floats), 4);
  if (area.used + size > MAX_RESIDENT_FLOATS && (compact(kernel, area), area.used + size > MAX_RESIDENT_FLOATS)) return null;
  // the write's scratch before the slot's place is taken: sizing the working area may move the resident area up
  if (laidOut?.scratch && !simdMemory(kernel, laidOut.scratch)) return null;
  if (!ensureMemory(kernel.memory, (area.base + area.used + size) * 4)) return null;
  const slot: ResidentSlot = { data: new WeakRef(data), offset, floats, at: area.used, size, layout: laidOut?.layout, version };
  fill(kernel, slot, data, laidOut);
  area.used += size;
  area.slots.push(slot);
  const list = area.byData.get(data);
  if (list) list.push(slot);
  else area.byData.set(data, [slot]);
  return slot;
}

/** Writes a slot's values: laid out by `laidOut`, or copied as they are. */
function fill(kernel: SimdKernel, slot: ResidentSlot, data: Float32Array | Int32Array, laidOut?: { write: (f: Float32Array, at: number) => void }): void {
  const start = areas.get(kernel)!.base + slot.at;
  if (laidOut) {
    laidOut.write(new Float32Array(kernel.memory.buffer), start);
    return;
  }
  const copied = Math.min(slot.floats, data.length - slot.offset);
  // a view of the data's own type, so int32 words keep their bits
  const view = data instanceof Int32Array ? new Int32Array(kernel.memory.buffer) : new Float32Array(kernel.memory.buffer);
  view.set(data.subarray(slot.offset, slot.offset + copied), start);
}

/** A slot's address in floats, valid until the next `simdMemory` or `residentSlot` call. */
export function residentAddress(kernel: SimdKernel, slot: ResidentSlot): number {
  return areas.get(kernel)!.base + slot.at;
}

/** Floats resident in the kernel's memory (for tests and the profile of memory). */
export function residentFloats(kernel: SimdKernel): number {
  return areas.get(kernel)?.used ?? 0;
}

function newArea(kernel: SimdKernel): ResidentArea {
  // the working area so far is the memory's size: nothing asked for more
  const area: ResidentArea = { base: kernel.memory.buffer.byteLength / 4, used: 0, slots: [], byData: new WeakMap() };
  areas.set(kernel, area);
  return area;
}

/** Drops the slots whose data was collected (their constants' plans were freed) and packs the rest down. */
function compact(kernel: SimdKernel, area: ResidentArea): void {
  const f = new Float32Array(kernel.memory.buffer);
  let used = 0;
  const live: ResidentSlot[] = [];
  for (const slot of area.slots) {
    if (!slot.data.deref()) continue;
    if (slot.at !== used) f.copyWithin(area.base + used, area.base + slot.at, area.base + slot.at + slot.size);
    slot.at = used;
    used += slot.size;
    live.push(slot);
  }
  area.slots = live;
  area.used = used;
}
