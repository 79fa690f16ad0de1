import type { WgslDispatch } from '../kernel';
import { flatDispatch } from '../wgsl';

/** Copies the first `bytes` (a multiple of 4) of binding 0 into binding 1, as 32-bit words. */
export function copyDispatch(bytes: number, maxPerDim: number): WgslDispatch {
  return flatDispatch({
    n: Math.ceil(bytes / 4),
    maxPerDim,
    bindings: [
      { ref: { input: 0 }, name: 'src', type: 'array<u32>' },
      { ref: { scratch: 0 }, name: 'dst', type: 'array<u32>' },
    ],
    body: 'dst[i] = src[i];',
  });
}
