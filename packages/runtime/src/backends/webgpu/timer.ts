import { createBuffer, destroyBuffer } from './device';

/** Timestamp queries per query set: WebGPU allows at most 4096, two per timed pass. */
const QUERIES_PER_SET = 4096;

/**
 * GPU time per slot (a plan step) from timestamp queries, for profiling: a timed slot's dispatches
 * run in a compute pass of their own whose start and end the GPU stamps. After a run's work is
 * encoded, `resolve` adds the copies of the stamps into buffers the run reads back with its
 * fetches, and `record` adds each slot's end minus start to its total.
 */
export class GpuTimer {
  /** Milliseconds per slot, summed over the runs recorded. */
  readonly ms: Float64Array;
  private readonly sets: { querySet: GPUQuerySet; resolved: GPUBuffer; queries: number }[] = [];

  constructor(
    private readonly device: GPUDevice,
    slots: number,
  ) {
    this.ms = new Float64Array(slots);
    for (let first = 0; first < 2 * slots; first += QUERIES_PER_SET) {
      const queries = Math.min(QUERIES_PER_SET, 2 * slots - first);
      const querySet = device.createQuerySet({ type: 'timestamp', count: queries, label: 'graphc profile' });
      const resolved = createBuffer(device, queries * 8, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, 'graphc profile stamps');
      this.sets.push({ querySet, resolved, queries });
    }
  }

  /** The descriptor of slot `slot`'s compute pass: stamps at its start and end. */
  pass(slot: number): GPUComputePassDescriptor {
    const set = this.sets[Math.floor((2 * slot) / QUERIES_PER_SET)];
    const first = (2 * slot) % QUERIES_PER_SET;
    return { timestampWrites: { querySet: set.querySet, beginningOfPassWriteIndex: first, endOfPassWriteIndex: first + 1 } };
  }

  /** Encodes the stamps' resolution; returns the buffers (and byte counts) to read back. */
  resolve(encoder: GPUCommandEncoder): { buffer: GPUBuffer; bytes: number }[] {
    return this.sets.map((s) => {
      encoder.resolveQuerySet(s.querySet, 0, s.queries, s.resolved, 0);
      return { buffer: s.resolved, bytes: s.queries * 8 };
    });
  }

  /** Adds one run's pass times from the read-back stamps (in `resolve`'s order), nanoseconds to milliseconds. */
  record(stamps: ArrayBuffer[]): void {
    let slot = 0;
    for (const bytes of stamps) {
      const t = new BigUint64Array(bytes);
      for (let q = 0; q + 1 < t.length; q += 2, slot++) {
        // an adapter may stamp a pass's end before its start (clocks of different units): count nothing
        if (t[q + 1] > t[q]) this.ms[slot] += Number(t[q + 1] - t[q]) / 1e6;
      }
    }
  }

  dispose(): void {
    for (const s of this.sets) {
      s.querySet.destroy();
      destroyBuffer(s.resolved);
    }
  }
}
