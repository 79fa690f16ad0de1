import { NBitsLayout, nbitsLayout, sizeOf } from '@graphc/graph';
import { KernelPlan, NoGpuKernel, WebGpuKernelContext, WgslDispatch, registerWebGpuKernel, requireDTypes } from '../kernel';
import { u32Lit } from '../wgsl';

const U = u32Lit;

/** Invocations per workgroup: `lanes` threads on each of THREADS / lanes columns. */
const THREADS = 256;
/** Rows of a one workgroup multiplies per pass over its columns' weights (registers per thread). */
const MAX_ROW_TILE = 8;
/** The most threads that split one column's words (then tree-reduce their partial sums). */
const MAX_LANES = 32;

/**
 * matmulNBits, shaped for the LLM decode case (a few rows of a, large n and k), where the work is
 * reading the packed weights: each workgroup takes a tile of columns and a tile of up to
 * MAX_ROW_TILE rows, and reads each of its columns' packed words once for all those rows.
 *
 * On a GPU a column's words are split among `lanes` threads (word w to lane w % lanes), so
 * neighbouring threads read neighbouring words (coalesced) and a short column (small k) still keeps
 * a workgroup's threads busy; the lanes' partial sums are then tree-reduced in workgroup memory. On
 * a software adapter each column is one thread's (NBitsColumnThreads says why).
 *
 * A thread unpacks a word's 32 / bits values four at a time as a vec4 (shift, mask), dequantizes
 * them as the CPU kernel does, (q - zero point) * scale (a word never straddles two blocks, as a
 * block is whole words), and adds their dot product with the same four values of each row of a.
 * The last word of a column may be partly padding (k not a multiple of 32 / bits): one lane does
 * its values below k one by one. More rows than a tile take more tiles (the grid's y), each reading
 * the words again: at 4 bits, 8 rows a pass read as many bytes as one pass over float32 weights.
 */
registerWebGpuKernel('matmulNBits', (ctx): KernelPlan => {
  // a and the output float32 (inference makes packed int32 and scales and zero points float32)
  requireDTypes(ctx, ['float32', 'int32']);
  // the gradient's product (a training step's): through the CPU, the transfer recorded in the plan
  if (ctx.attrs.transposeW === true) throw new NoGpuKernel('transposeW (the gradient with respect to a) has no WGSL kernel');
  const [a, packed] = ctx.inputs;
  const layout = nbitsLayout(ctx.attrs);
  const n = packed.shape[0];
  const rows = sizeOf(a.shape) / layout.k;
  if (rows === 0 || n === 0) return { dispatches: [] };
  return { dispatches: [nbitsDispatch(layout, rows, n, ctx)] };
});

/**
 * How many threads share a column's words: 'auto' (the default) splits each column among up to
 * MAX_LANES of them on a GPU (coalesced reads; short columns still keep the threads busy) and gives
 * each column a thread of its own on a software adapter, where the split's workgroup barriers cost
 * more than they save (lavapipe, one-off on 2 cores, 4 bits, one row: k = 512, n = 1408 0.8 ms a
 * run against 2.9 split; k = n = 4096 13 ms against 19). 'split' and 'single' force one layout (the
 * tests run both on any adapter). Read when a plan compiles.
 */
export type NBitsColumnThreads = 'auto' | 'split' | 'single';

let columnThreads: NBitsColumnThreads = 'auto';

export function setWebGpuNBitsColumnThreads(mode: NBitsColumnThreads): void {
  if (mode !== 'auto' && mode !== 'split' && mode !== 'single') throw new Error(`matmulNBits column threads must be 'auto', 'split' or 'single', got ${String(mode)}`);
  columnThreads = mode;
}

/**
 * Threads per column: 1 where the column takes a single thread, else a power of two up to
 * MAX_LANES, no more than the column's whole words (at least one each).
 */
export function nbitsLanes(layout: NBitsLayout, software: boolean): number {
  if (columnThreads === 'single' || (columnThreads === 'auto' && software)) return 1;
  const fullWords = Math.floor(layout.k / layout.perWord);
  let lanes = 1;
  while (lanes < MAX_LANES && lanes * 2 <= fullWords) lanes *= 2;
  return lanes;
}

function nbitsDispatch(layout: NBitsLayout, rows: number, n: number, ctx: WebGpuKernelContext): WgslDispatch {
  const { bits, k, perWord, words, blocks, blockSize, mask } = layout;
  const lanes = nbitsLanes(layout, ctx.software);
  const cols = THREADS / lanes;
  const rowTile = Math.min(rows, MAX_ROW_TILE);
  const groupsX = Math.ceil(n / cols);
  const groupsY = Math.ceil(rows / rowTile);
  const maxPerDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groupsX > maxPerDim || groupsY > maxPerDim) throw new NoGpuKernel(`matmulNBits grid ${groupsX}x${groupsY} exceeds the device's ${maxPerDim} workgroups per dimension`);
  const fullWords = Math.floor(k / perWord);
  const tail = k % perWord;
  const rowIds = Array.from({ length: rowTile }, (_, r) => r);
  const acc = (r: number): string => `acc${r}`;

  // a whole word: perWord / 4 groups of four values, each dequantized once and dotted with every row
  const wordLines: string[] = [];
  for (let g = 0; g < perWord / 4; g++) {
    const shifts = [0, 1, 2, 3].map((i) => U((4 * g + i) * bits)).join(', ');
    wordLines.push(`let w${g} = (vec4<f32>((vec4<u32>(word) >> vec4<u32>(${shifts})) & vec4<u32>(${U(mask)})) - z) * s;`);
    for (const r of rowIds) wordLines.push(`${acc(r)} += dot(loadA4(aBase${r} + kk + ${U(4 * g)}), w${g});`);
  }
  // the last word's values below k, when k ends inside it
  const tailLines: string[] = [];
  for (let j = 0; j < tail; j++) {
    tailLines.push(`let w${j} = (f32((word >> ${U(j * bits)}) & ${U(mask)}) - z) * s;`);
    for (const r of rowIds) tailLines.push(`${acc(r)} += loadA1(aBase${r} + kk + ${U(j)}) * w${j};`);
  }
  // a row of a starts on a vec4 when k is a multiple of 4
  const vecA = k % 4 === 0;
  const loaders = vecA
    ? `fn loadA4(i: u32) -> vec4<f32> { return A[i / 4u]; }
fn loadA1(i: u32) -> f32 { return A[i / 4u][i % 4u]; }`
    : `fn loadA4(i: u32) -> vec4<f32> { return vec4<f32>(A[i], A[i + 1u], A[i + 2u], A[i + 3u]); }
fn loadA1(i: u32) -> f32 { return A[i]; }`;

  const partial = (r: number): string => `partial[${U(r * THREADS)} + tid]`;
  const store = (value: (r: number) => string): string[] =>
    rowIds.map((r) => `if (row0 + ${U(r)} < ${U(rows)}) { O[(row0 + ${U(r)}) * ${U(n)} + col] = ${value(r)}; }`);
  const finish =
    lanes === 1
      ? [`if (slotCol < ${U(n)}) {`, ...store(acc).map((l) => `  ${l}`), '}']
      : [
          ...rowIds.map((r) => `${partial(r)} = ${acc(r)};`),
          'workgroupBarrier();',
          `for (var stride = ${U(lanes / 2)}; stride > 0u; stride >>= 1u) {`,
          '  if (lane < stride) {',
          ...rowIds.map((r) => `    ${partial(r)} += partial[${U(r * THREADS)} + tid + stride];`),
          '  }',
          '  workgroupBarrier();',
          '}',
          `if (lane == 0u && slotCol < ${U(n)}) {`,
          ...store(partial).map((l) => `  ${l}`),
          '}',
        ];

  const body = `
${loaders}
${lanes > 1 ? `var<workgroup> partial: array<f32, ${THREADS * rowTile}>;` : ''}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let lane = tid % ${U(lanes)};
  let slotCol = wid.x * ${U(cols)} + tid / ${U(lanes)};
  // past the last column or row, a thread reads the last one's values (and stores nothing)
  let col = min(slotCol, ${U(n - 1)});
  let row0 = wid.y * ${U(rowTile)};
  ${rowIds.map((r) => `let aBase${r} = min(row0 + ${U(r)}, ${U(rows - 1)}) * ${U(k)};`).join('\n  ')}
  ${rowIds.map((r) => `var ${acc(r)} = 0.0;`).join('\n  ')}
  let wordBase = col * ${U(words)};
  let blockBase = col * ${U(blocks)};
  for (var wi = lane; wi < ${U(fullWords)}; wi += ${U(lanes)}) {
    let word = P[wordBase + wi];
    let b = blockBase + wi / ${U(blockSize / perWord)};
    let s = S[b];
    let z = Z[b];
    let kk = wi * ${U(perWord)};
    ${wordLines.join('\n    ')}
  }
  ${
    tail
      ? `if (lane == ${U(fullWords % lanes)}) {
    let word = P[wordBase + ${U(fullWords)}];
    let b = blockBase + ${U(Math.floor(fullWords / (blockSize / perWord)))};
    let s = S[b];
    let z = Z[b];
    let kk = ${U(fullWords * perWord)};
    ${tailLines.join('\n    ')}
  }`
      : ''
  }
  ${finish.join('\n  ')}
}`;
  return {
    bindings: [
      { ref: { input: 0 }, name: 'A', type: vecA ? 'array<vec4<f32>>' : 'array<f32>' },
      { ref: { input: 1 }, name: 'P', type: 'array<u32>' },
      { ref: { input: 2 }, name: 'S', type: 'array<f32>' },
      { ref: { input: 3 }, name: 'Z', type: 'array<f32>' },
      { ref: { output: 0 }, name: 'O', type: 'array<f32>' },
    ],
    body,
    workgroups: [groupsX, groupsY, 1],
  };
}
