/** Plans a session (and a staged plan's second stage, and a loop body) keeps unless told otherwise. */
export const DEFAULT_MAX_PLANS = 16;

/**
 * Compiled plans by signature, keeping the most recently used `capacity` of them. A plan serves one
 * set of feed shapes; a session fed many (sentences of every length, the last short batch of each
 * epoch, a loop whose carried tensor grows) would otherwise keep a plan, with its arena and on a GPU
 * its buffers and pipelines, for every shape it ever saw. An evicted plan is handed to `free` and
 * compiles again if its signature comes back; one evicted while a run of it is in flight (a GPU run
 * awaits its device) is freed when that run ends.
 */
export class PlanCache<V> {
  /** In use order, least recent first: a Map iterates in insertion order, and a hit re-inserts. */
  private readonly entries = new Map<string, V>();
  /** Runs in flight per value, and the values evicted meanwhile (freed when their runs end). */
  private readonly running = new Map<V, number>();
  private readonly doomed = new Set<V>();

  constructor(
    readonly capacity: number,
    private readonly free: (value: V) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a plan cache holds at least one plan (got ${capacity})`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
      this.evict(old);
    }
  }

  /** Runs `use` on a value of the cache: if it is evicted meanwhile, it is freed only after. */
  async using<R>(value: V, use: (value: V) => Promise<R>): Promise<R> {
    this.running.set(value, (this.running.get(value) ?? 0) + 1);
    try {
      return await use(value);
    } finally {
      const left = this.running.get(value)! - 1;
      if (left > 0) this.running.set(value, left);
      else {
        this.running.delete(value);
        if (this.doomed.delete(value)) this.free(value);
      }
    }
  }

  values(): IterableIterator<V> {
    return this.entries.values();
  }

  /** Empties the cache, freeing every plan (those in a run when the run ends). */
  clear(): void {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const v of all) this.evict(v);
  }

  private evict(value: V): void {
    if (this.running.has(value)) this.doomed.add(value);
    else this.free(value);
  }
}
