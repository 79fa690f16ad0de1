import { UsageError } from './cli-error';

/** `--shape x=1,28,28,1`: concrete shapes for placeholders with unknown dimensions. */
export function parseShapes(specs: string[] = []): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const spec of specs) {
    const m = /^([^=]+)=(\d+(?:,\d+)*)?$/.exec(spec);
    if (!m) throw new UsageError(`--shape '${spec}' must look like name=d0,d1,... (e.g. x=1,28,28,1)`);
    out[m[1]] = m[2] ? m[2].split(',').map(Number) : [];
  }
  return out;
}
