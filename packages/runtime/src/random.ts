/**
 * Seeded pseudo-random numbers: a 32-bit PCG-style mix (mulberry32) per op, so a seeded op gives the
 * same sequence in every session and on every backend that runs it through the CPU reference.
 */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal by Box–Muller (one value per call; the second is discarded for simplicity). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

/** Seeds for ops without an explicit seed: deterministic per graph-level seed and node id. */
export function opSeed(seed: unknown, fallbackKey: string): number {
  if (typeof seed === 'number' && Number.isFinite(seed)) return seed >>> 0;
  let h = 2166136261;
  for (let i = 0; i < fallbackKey.length; i++) h = Math.imul(h ^ fallbackKey.charCodeAt(i), 16777619);
  return h >>> 0;
}
