/** Seeded uniform values in offset + [-scale, scale) (an LCG): the example models' fixed weights, the same on every rebuild. */
export function seeded(n: number, seed: number, scale: number, offset = 0): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = offset + ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Seeded N(0, stddev^2) values (LCG + Box-Muller): He-initialized example weights, the same on every rebuild. */
export function seededNormal(n: number, seed: number, stddev: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / 4294967297;
  };
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()) * stddev;
  return out;
}
