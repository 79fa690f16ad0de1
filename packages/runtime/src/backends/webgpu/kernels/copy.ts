import type { WgslDispatch } from '../kernel';
import { grid1d } from '../wgsl';

/** Copies the first `bytes` (a multiple of 4) of binding 0 into binding 1, as 32-bit words. */
export function copyDispatch(bytes: number, maxPerDim: number): WgslDispatch {
  const words = Math.ceil(bytes / 4);
  const grid = grid1d(words, maxPerDim);
  return {
    bindings: [
      { ref: { input: 0 }, name: 'src', type: 'array<u32>' },
      { ref: { scratch: 0 }, name: 'dst', type: 'array<u32>' },
    ],
    body: `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = ${grid.index};
  if (i < ${words}u) { dst[i] = src[i]; }
}`,
    workgroups: grid.workgroups,
  };
}
