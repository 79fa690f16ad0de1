/// <reference types="@webgpu/types" preserve="true" />

/**
 * The device's compute pipelines by WGSL source: a kernel compiled once serves every plan that
 * needs it. A plan takes the pipelines of its kernels and gives them back when it is freed; a
 * pipeline no live plan uses is kept among the `idleLimit` most recently given back (a plan for a
 * shape that comes back finds them) and dropped after. The shapes are baked into the kernels, so a
 * process fed ever new shapes would otherwise hold the pipelines of every shape it saw.
 */
export class PipelineCache {
  private readonly entries = new Map<string, { pipeline: Promise<GPUComputePipeline>; users: number }>();
  /** Sources no plan uses, least recently given back first. */
  private readonly idle = new Set<string>();

  constructor(public idleLimit = 256) {}

  /** Pipelines held, in use or idle. */
  get size(): number {
    return this.entries.size;
  }

  /** The pipeline of `code`, made by `create` if none is held; the caller gives it back with `release`. */
  acquire(code: string, create: () => Promise<GPUComputePipeline>): Promise<GPUComputePipeline> {
    let entry = this.entries.get(code);
    if (!entry) {
      const pipeline = create();
      const made = { pipeline, users: 0 };
      // a kernel that does not compile is not kept: the next plan that needs it tries again
      pipeline.catch(() => {
        if (this.entries.get(code) === made) this.entries.delete(code);
        this.idle.delete(code);
      });
      this.entries.set(code, (entry = made));
    }
    entry.users++;
    this.idle.delete(code);
    return entry.pipeline;
  }

  release(code: string): void {
    const entry = this.entries.get(code);
    if (!entry || --entry.users > 0) return;
    this.idle.add(code);
    for (const oldest of this.idle) {
      if (this.idle.size <= this.idleLimit) break;
      this.idle.delete(oldest);
      this.entries.delete(oldest);
    }
  }
}
