/// <reference types="@webgpu/types" preserve="true" />
import { createBuffer, destroyBuffer, exclusive } from './device';

/** A plan holding buffers of the pool: told when one of them is replaced by a larger one. */
export interface ArenaUser {
  arenaMoved(): void;
}

/**
 * The arena buffers of one session's plans. Device work is serialized (device.ts `exclusive`), so
 * the plans of a session, one per feed shape, can take turns in the same buffers where each would
 * otherwise hold its own: a plan's buffers, largest first, are the pool's rank by rank, each as
 * large as the largest any plan asked for at its rank. Growing replaces a buffer; the plans bound to
 * the old one make new bind groups before their next run, and the old one is destroyed after the
 * device work queued before it.
 */
export class GpuArenaPool {
  private buffers: GPUBuffer[] = [];
  /** Per rank, the plans bound to its buffer. */
  private users: Set<ArenaUser>[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
  ) {}

  /** Buffers of at least `sizes` bytes, in that order, for `user` until it leaves or hears they moved. */
  bind(user: ArenaUser, sizes: number[]): GPUBuffer[] {
    const ranked = sizes.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a] || a - b);
    const out = new Array<GPUBuffer>(sizes.length);
    ranked.forEach((index, rank) => {
      let buffer = this.buffers[rank];
      if (!buffer || buffer.size < sizes[index]) {
        const old = buffer;
        buffer = this.buffers[rank] = createBuffer(this.device, sizes[index], this.usage, `graphc arena ${rank}`);
        if (old) {
          for (const u of this.users[rank]) u.arenaMoved();
          this.users[rank].clear();
          void exclusive(async () => destroyBuffer(old));
        }
      }
      (this.users[rank] ??= new Set()).add(user);
      out[index] = buffer;
    });
    return out;
  }

  leave(user: ArenaUser): void {
    for (const users of this.users) users.delete(user);
  }

  /** Bytes the pool holds on the device. */
  get bytes(): number {
    return this.buffers.reduce((sum, b) => sum + b.size, 0);
  }

  dispose(): void {
    for (const b of this.buffers) destroyBuffer(b);
    this.buffers = [];
    this.users = [];
  }
}
