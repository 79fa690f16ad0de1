/** The failures of `runCase` over `seeds`, for the slices of the fuzzers that run in `npm test`. */
export async function failuresOf(runCase: (seed: number) => Promise<{ ok: boolean; detail?: string }>, seeds: number[]): Promise<string[]> {
  const failures: string[] = [];
  for (const seed of seeds) {
    const r = await runCase(seed);
    if (!r.ok) failures.push(r.detail ?? `seed ${seed}`);
  }
  return failures;
}

/** Seeds 1..n. */
export const firstSeeds = (n: number): number[] => Array.from({ length: n }, (_, i) => 1 + i);
