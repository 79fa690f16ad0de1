import { BYTES_PER_ELEMENT, DType, Node, OutputInfo, SymbolicTensor, isFullyKnown, sizeOf } from '@graphc/graph';
import { def } from '../analysis';

/**
 * Where one tensor lives in the arena. `own`: a region of its own; `inplace`: the region of the
 * input it overwrites; `alias`: the region of the tensor it is a view of (reshape, identity).
 */
export interface TensorSlot {
  kind: 'own' | 'inplace' | 'alias';
  /** The buffer (tensors sharing one, in place or as views, share its id). */
  buffer: number;
  offset: number;
  bytes: number;
  dtype: DType;
  /** Element count. */
  length: number;
}

export interface MemoryPlan {
  /** Per scheduled node, per output: its arena slot, or undefined where the kernel allocates for itself. */
  slots: Map<Node, (TensorSlot | undefined)[]>;
  /** One buffer per tensor the run allocates (the cost without planning). */
  naiveBytes: number;
  /** The arena: every planned tensor at its offset. */
  plannedBytes: number;
  /** The largest set of buffers live at any one step: no placement can use less. */
  lowerBoundBytes: number;
  /** Buffers placed (tensors sharing a buffer in place or as views count once). */
  buffers: number;
  /** Outputs written over a dying input. */
  inplace: number;
  /** Tensors of known shape left to their kernels: data-dependent or unknown shapes. */
  unplanned: number;
  alignment: number;
}

export interface MemoryPlanRequest {
  /** The order the plan runs nodes in. */
  schedule: Node[];
  /** Output types with this run's shapes (dims still null where data-dependent: those are not planned). */
  outputInfo: Map<Node, OutputInfo[]>;
  /** Fetched tensors: live to the end of the run, never overwritten. */
  fetches: SymbolicTensor[];
  /** Fed tensors: the caller's memory, never planned or overwritten. */
  feeds: SymbolicTensor[];
  /** Byte alignment of every offset (default 16: enough for every dtype's typed-array view). */
  alignment?: number;
}

interface Buffer {
  id: number;
  first: number;
  last: number;
  bytes: number;
  dtype: DType;
  pinned: boolean;
  offset: number;
}

const key = (n: Node, i: number): string => `${n.id}:${i}`;

/**
 * Bytes the kernels of `schedule` allocate for their outputs at `outputInfo`'s shapes with no plan
 * (a plan's `naiveBytes`): a buffer a tensor; feeds, state ops (constants, variables, placeholders)
 * and views allocate none, and a tensor whose shape is not fully known is not counted.
 */
export function allocatedBytes(schedule: Node[], outputInfo: Map<Node, OutputInfo[]>, feeds: SymbolicTensor[] = []): number {
  const fed = new Set(feeds.map((f) => key(f.node, f.index)));
  let bytes = 0;
  for (const n of schedule) {
    const d = def(n);
    if (d.family === 'state' || d.aliasesInput) continue;
    (outputInfo.get(n) ?? n.outputs).forEach((info, i) => {
      if (!fed.has(key(n, i)) && isFullyKnown(info.shape)) bytes += sizeOf(info.shape) * BYTES_PER_ELEMENT[info.dtype];
    });
  }
  return bytes;
}

/**
 * Memory planning on a final schedule, as MXNet's plan_memory: liveness of every tensor, in-place
 * reuse where the op allows it (OpDef.inplaceInput) and the input's buffer dies at that op, views
 * (OpDef.aliasesInput) sharing their input's buffer, then offsets in one arena by best fit, largest
 * buffers first. Constants, variables, feeds and their views are never planned, so never
 * overwritten; fetched tensors live to the end of the run. Pure: the same request gives the same plan.
 */
export function planMemory(req: MemoryPlanRequest): MemoryPlan {
  const alignment = req.alignment ?? 16;
  const step = new Map<Node, number>();
  req.schedule.forEach((n, i) => step.set(n, i));
  const end = req.schedule.length;
  const lastUse = new Map<string, number>();
  for (const n of req.schedule) {
    const t = step.get(n)!;
    for (const i of n.inputs) lastUse.set(key(i.node, i.index), t);
  }
  const fetched = new Set(req.fetches.map((f) => key(f.node, f.index)));
  const fed = new Set(req.feeds.map((f) => key(f.node, f.index)));

  const bufferOf = new Map<string, Buffer>();
  const buffers: Buffer[] = [];
  const slotsOf = new Map<Node, { buffer: Buffer; kind: TensorSlot['kind']; dtype: DType; length: number }[]>();
  let inplace = 0;
  let unplanned = 0;

  for (const n of req.schedule) {
    const t = step.get(n)!;
    const d = def(n);
    const infos = req.outputInfo.get(n) ?? n.outputs;
    const entries: ({ buffer: Buffer; kind: TensorSlot['kind']; dtype: DType; length: number } | undefined)[] = [];
    const claimed = new Set<Buffer>();
    infos.forEach((info, i) => {
      const k = key(n, i);
      const until = fetched.has(k) ? end : Math.max(t, lastUse.get(k) ?? t);
      const pin = fetched.has(k);
      if (fed.has(k) || d.family === 'state') return entries.push(undefined);
      if (d.aliasesInput) {
        const src = n.inputs[0] && bufferOf.get(key(n.inputs[0].node, n.inputs[0].index));
        if (!src || !isFullyKnown(info.shape)) return entries.push(undefined);
        src.last = Math.max(src.last, until);
        src.pinned ||= pin;
        bufferOf.set(k, src);
        return entries.push({ buffer: src, kind: 'alias', dtype: info.dtype, length: sizeOf(info.shape) });
      }
      if (!isFullyKnown(info.shape)) {
        unplanned++;
        return entries.push(undefined);
      }
      const length = sizeOf(info.shape);
      const bytes = length * BYTES_PER_ELEMENT[info.dtype];
      if (bytes === 0) return entries.push(undefined);
      if (i === 0 && d.inplaceInput !== undefined) {
        const input = n.inputs[d.inplaceInput];
        const src = input && bufferOf.get(key(input.node, input.index));
        const sharedByOther = n.inputs.some((o, j) => j !== d.inplaceInput && bufferOf.get(key(o.node, o.index)) === src);
        if (src && !src.pinned && src.last === t && src.bytes === bytes && src.dtype === info.dtype && !sharedByOther && !claimed.has(src)) {
          src.last = until;
          src.pinned = pin;
          claimed.add(src);
          bufferOf.set(k, src);
          inplace++;
          return entries.push({ buffer: src, kind: 'inplace', dtype: info.dtype, length });
        }
      }
      const buffer: Buffer = { id: buffers.length, first: t, last: until, bytes, dtype: info.dtype, pinned: pin, offset: -1 };
      buffers.push(buffer);
      claimed.add(buffer);
      bufferOf.set(k, buffer);
      return entries.push({ buffer, kind: 'own', dtype: info.dtype, length });
    });
    slotsOf.set(n, entries as never);
  }

  const lowerBoundBytes = peakLive(buffers, end);
  const plannedBytes = placeBestFit(buffers, alignment);
  const slots = new Map<Node, (TensorSlot | undefined)[]>();
  for (const [n, entries] of slotsOf) {
    slots.set(
      n,
      entries.map((e) => e && { kind: e.kind, buffer: e.buffer.id, offset: e.buffer.offset, bytes: e.length * BYTES_PER_ELEMENT[e.dtype], dtype: e.dtype, length: e.length }),
    );
  }
  return { slots, naiveBytes: allocatedBytes(req.schedule, req.outputInfo, req.feeds), plannedBytes, lowerBoundBytes, buffers: buffers.length, inplace, unplanned, alignment };
}

/** The most bytes live at once: buffers occupy steps first..last inclusive. */
function peakLive(buffers: Buffer[], steps: number): number {
  const delta = new Float64Array(steps + 2);
  for (const b of buffers) {
    delta[b.first] += b.bytes;
    delta[b.last + 1] -= b.bytes;
  }
  let live = 0;
  let peak = 0;
  for (let i = 0; i < delta.length; i++) {
    live += delta[i];
    if (live > peak) peak = live;
  }
  return peak;
}

const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/**
 * Greedy by size with best fit (as TFLite's arena planner): largest buffers first; each goes into
 * the smallest gap between already placed buffers whose lifetimes overlap its own, else above them.
 * Returns the arena size.
 */
function placeBestFit(buffers: Buffer[], alignment: number): number {
  const order = [...buffers].sort((a, b) => b.bytes - a.bytes || a.first - b.first);
  const placed: Buffer[] = [];
  let arena = 0;
  for (const b of order) {
    const size = alignUp(b.bytes, alignment);
    const overlapping = placed.filter((p) => p.first <= b.last && b.first <= p.last).sort((p, q) => p.offset - q.offset);
    let best = -1;
    let bestGap = Infinity;
    let cursor = 0;
    for (const p of overlapping) {
      const gap = p.offset - cursor;
      if (gap >= size && gap < bestGap) {
        best = cursor;
        bestGap = gap;
      }
      cursor = Math.max(cursor, p.offset + alignUp(p.bytes, alignment));
    }
    b.offset = best >= 0 ? best : cursor;
    arena = Math.max(arena, b.offset + size);
    placed.push(b);
  }
  return arena;
}

/**
 * Whether a scheduled node launches a kernel: not a source of stored values (const, placeholder,
 * variable), not a pure control node (noOp), not a view of its input (reshape, identity).
 */
export function launchesKernel(n: Node): boolean {
  const d = def(n);
  if (d.aliasesInput) return false;
  if (d.numInputs === 0 && (d.family === 'state' || d.family === 'control')) return false;
  return true;
}

/** Kernel launches of a schedule (the report's kernel counts). */
export function countKernels(schedule: Node[]): number {
  return schedule.filter(launchesKernel).length;
}
