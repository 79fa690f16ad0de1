/**
 * Buffer planning for one compiled plan: every intermediate tensor (and kernel scratch) gets a
 * lifetime in schedule steps, and tensors whose lifetimes do not overlap share a GPU buffer, chosen
 * best-fit by size (MXNet's plan_memory strategy, with buffers instead of arena offsets: a WebGPU
 * dispatch may not bind one buffer both read-only and writable, and separate buffers keep every
 * tensor at offset 0, aligned for vec4 loads).
 */
export interface Lifetime {
  bytes: number;
  /** Step that writes it (-1: written before the first step, as feeds are). */
  from: number;
  /** Last step that reads it (>= from). */
  to: number;
}

export interface BufferPlan {
  /** Physical buffer index of each lifetime, in input order. */
  assignment: number[];
  /** Size of each physical buffer. */
  sizes: number[];
  /** One buffer per tensor. */
  naiveBytes: number;
  plannedBytes: number;
  /** The most bytes live at any one step: no plan can use less. */
  lowerBoundBytes: number;
}

export function planBuffers(lifetimes: Lifetime[]): BufferPlan {
  const assignment = new Array<number>(lifetimes.length).fill(-1);
  const sizes: number[] = [];
  const free: number[] = [];
  const order = lifetimes.map((_, i) => i).sort((a, b) => lifetimes[a].from - lifetimes[b].from || a - b);
  const endsAt = new Map<number, number[]>();
  for (const i of order) {
    const to = lifetimes[i].to;
    if (!endsAt.has(to)) endsAt.set(to, []);
    endsAt.get(to)!.push(i);
  }
  const steps = [...new Set(lifetimes.flatMap((l) => [l.from, l.to]))].sort((a, b) => a - b);
  let cursor = 0;
  let live = 0;
  let lowerBoundBytes = 0;
  for (const step of steps) {
    for (; cursor < order.length && lifetimes[order[cursor]].from === step; cursor++) {
      const i = order[cursor];
      const need = lifetimes[i].bytes;
      let pick = -1;
      for (let f = 0; f < free.length; f++) {
        const s = sizes[free[f]];
        if (s >= need && (pick < 0 || s < sizes[free[pick]])) pick = f;
      }
      if (pick < 0 && free.length) {
        // nothing big enough: grow the largest free buffer rather than add one
        pick = 0;
        for (let f = 1; f < free.length; f++) if (sizes[free[f]] > sizes[free[pick]]) pick = f;
      }
      let buffer: number;
      if (pick >= 0) {
        buffer = free.splice(pick, 1)[0];
        sizes[buffer] = Math.max(sizes[buffer], need);
      } else {
        buffer = sizes.length;
        sizes.push(need);
      }
      assignment[i] = buffer;
      live += need;
    }
    lowerBoundBytes = Math.max(lowerBoundBytes, live);
    for (const i of endsAt.get(step) ?? []) {
      free.push(assignment[i]);
      live -= lifetimes[i].bytes;
    }
  }
  return {
    assignment,
    sizes,
    naiveBytes: lifetimes.reduce((s, l) => s + l.bytes, 0),
    plannedBytes: sizes.reduce((s, b) => s + b, 0),
    lowerBoundBytes,
  };
}
