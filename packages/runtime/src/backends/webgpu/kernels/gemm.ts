import { NoGpuKernel, WebGpuKernelContext, WgslBinding, WgslDispatch } from '../kernel';
import { u32Lit } from '../wgsl';

/**
 * The GEMM generator behind matmul, batched matmul, conv2d (implicit GEMM) and its gradients:
 * C[b] = act(op(A)[b] · op(B)[b] + bias) with C row-major [batch, M, N].
 *
 * Workgroup tiling: a workgroup of WX x WY threads computes a (WY*4*SM) x (WX*4*SN) tile of C, each
 * thread SM x SN register blocks of 4x4 (four vec4 accumulators each; see tileShape). K advances in steps of BK = 16: the workgroup stages an
 * A tile (stored k-major, so a thread reads its 4 rows as one vec4) and a B tile in workgroup memory,
 * loading 4 consecutive elements per vec4 where the operand is contiguous along a dimension of
 * multiple-of-4 length, and scalar loads (consecutive threads on consecutive addresses) elsewhere.
 *
 * Operands are described by how to load an element, so the same kernel reads a plain matrix, a
 * transposed one, a broadcast batch entry, or an image patch gathered on the fly (implicit im2col).
 */
export interface GemmOperand {
  binding: WgslBinding;
  /** WGSL f32 expression of logical element (row, col) of batch entry `batch` (all u32 expressions). */
  load1(row: string, col: string, batch: string): string;
  /** WGSL vec4<f32> of 4 consecutive elements along `vecDim` from (row, col); only where such reads are aligned. */
  load4?(row: string, col: string, batch: string): string;
  /** The logical dimension contiguous in memory: `load4` runs along it, scalar loads are ordered by it. */
  vecDim: 'row' | 'col';
  /** Helper WGSL functions the loaders call. */
  helpers?: string;
}

/** Elementwise work done on each result before it is stored (bias, activation, residual, ...). */
export interface GemmEpilogue {
  /** Extra bindings (bias, ...) appended after A and B. */
  bindings: WgslBinding[];
  /**
   * Statements turning accumulated value `v` (f32) of output flat index `flat` (over [batch, M, N])
   * into the stored f32; `tag` keeps the names of the up to 64 instances in one thread apart.
   */
  apply(v: string, flat: string, tag: string): { lines: string[]; result: string };
}

export interface GemmSpec {
  m: number;
  n: number;
  k: number;
  batch: number;
  a: GemmOperand;
  b: GemmOperand;
  epilogue?: GemmEpilogue;
  /** Output binding: `array<vec4<f32>>` when N % 4 == 0, else `array<f32>` (see gemmOutputType). */
  out: WgslBinding;
  target: GemmTarget;
}

const BK = 16;

/** The output binding type a GEMM of width `n` writes (vec4 stores when rows are whole vec4s). */
export function gemmOutputType(n: number): string {
  return n % 4 === 0 ? 'array<vec4<f32>>' : 'array<f32>';
}

/**
 * Where a GEMM runs: the grid limit, and whether the adapter is a CPU emulation (lavapipe), whose
 * few cores want the fewest, largest workgroups while a GPU wants enough of them to fill its SMs.
 */
export interface GemmTarget {
  maxPerDim: number;
  software: boolean;
}

export function gemmTarget(ctx: WebGpuKernelContext): GemmTarget {
  return { maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, software: ctx.software };
}

/**
 * Tile size for large products (M and N of 128 or more): 128 (16x16 threads, 8x8 outputs each as
 * 2x2 blocks of 4x4 placed 64 apart: twice the multiply-adds per value staged) or 64 (16x16 threads,
 * 4x4 outputs each). 'auto' (the default) takes 128 on a software adapter, where it ran 512 and 1024
 * products 1.6-1.9x faster (BENCHMARKS.md, `node bench/webgpu.js --only gemm --gemm-tile both`), and
 * on a GPU only while 128-tiles still make MIN_GPU_WORKGROUPS workgroups: a 512x1024 product is 32
 * of them, which would leave most of a large GPU's 100+ SMs idle, and 128 of 64x64. (The threshold
 * is the usual occupancy reasoning, not yet measured on a GPU: bench/gpu-device.sh compares all
 * three.) `setWebGpuGemmTile(64 | 128 | 'auto')` or GRAPHC_WEBGPU_GEMM_TILE selects one (read when
 * a plan compiles).
 */
export type GemmTile = 64 | 128 | 'auto';

const MIN_GPU_WORKGROUPS = 256;

function tileFromEnv(value: string | undefined): GemmTile {
  return value === '64' ? 64 : value === '128' ? 128 : 'auto';
}

let largeTile: GemmTile = tileFromEnv(process.env.GRAPHC_WEBGPU_GEMM_TILE);

export function setWebGpuGemmTile(tile: GemmTile): void {
  if (tile !== 64 && tile !== 128 && tile !== 'auto') throw new Error(`GEMM tile must be 64, 128 or 'auto', got ${String(tile)}`);
  largeTile = tile;
}

export function webGpuGemmTile(): GemmTile {
  return largeTile;
}

/**
 * Prefetching: each thread loads its share of the next k step's tiles into registers before
 * multiplying the staged ones, and stores them after, so global-memory latency overlaps the
 * multiply-adds (as GPU GEMMs do) at the price of a few registers. Off by default: on lavapipe it
 * makes no difference worth having (BENCHMARKS.md), and on a GPU it is not measured yet
 * (bench/gpu-device.sh compares). `setWebGpuGemmPrefetch(true)` or GRAPHC_WEBGPU_GEMM_PREFETCH=1
 * turns it on for plans compiled after.
 */
let gemmPrefetch = process.env.GRAPHC_WEBGPU_GEMM_PREFETCH === '1';

export function setWebGpuGemmPrefetch(on: boolean): void {
  gemmPrefetch = on;
}

/** Whether a large product (M, N >= 128) takes 128x128 tiles under the current setting. */
export function takesLargeTiles(m: number, n: number, batch: number, target: GemmTarget): boolean {
  if (m < 128 || n < 128 || largeTile === 64) return false;
  if (largeTile === 128 || target.software) return true;
  return Math.ceil(m / 128) * Math.ceil(n / 128) * Math.max(1, batch) >= MIN_GPU_WORKGROUPS;
}

/**
 * Workgroup shape: wx x wy threads, each computing sm x sn blocks of 4x4 outputs (the blocks half a
 * tile apart, so neighbouring threads read neighbouring staged values): 128x128 tiles for large
 * products where takesLargeTiles says so, 64x64 otherwise, taller/wider tiles for skinny problems.
 */
function tileShape(m: number, n: number, batch: number, target: GemmTarget): { wx: number; wy: number; sm: number; sn: number } {
  if (m <= 16 && n > 16) return { wx: 16, wy: 4, sm: 1, sn: 1 };
  if (n <= 16 && m > 16) return { wx: 4, wy: 16, sm: 1, sn: 1 };
  if (m <= 16 && n <= 16) return { wx: 4, wy: 4, sm: 1, sn: 1 };
  if (takesLargeTiles(m, n, batch, target)) return { wx: 16, wy: 16, sm: 2, sn: 2 };
  return { wx: 16, wy: 16, sm: 1, sn: 1 };
}

export function gemmDispatch(spec: GemmSpec): WgslDispatch {
  const { m, n, k, batch } = spec;
  const { wx, wy, sm, sn } = tileShape(m, n, batch, spec.target);
  const maxPerDim = spec.target.maxPerDim;
  const threads = wx * wy;
  const bm = wy * 4 * sm;
  const bn = wx * 4 * sn;
  // a thread's 4x4 blocks sit one sub-tile (bm / sm rows, bn / sn columns) apart
  const subM = bm / sm;
  const subN = bn / sn;
  const groupsX = Math.ceil(n / bn);
  const groupsY = Math.ceil(m / bm);
  if (groupsX > maxPerDim || groupsY > maxPerDim || batch > maxPerDim) {
    throw new NoGpuKernel(`GEMM grid ${groupsX}x${groupsY}x${batch} exceeds the device's ${maxPerDim} workgroups per dimension`);
  }
  const U = u32Lit;
  // --- tile loads ---
  const A_TILE: TileGeometry = { rows: bm, cols: BK, origin: (k0) => ['m0', k0], rowLimit: m, colLimit: k };
  const B_TILE: TileGeometry = { rows: BK, cols: bn, origin: (k0) => [k0, 'n0'], rowLimit: k, colLimit: n };
  const aTile = tileLoader(spec.a, 'As', A_TILE, (r, c) => `(${c}) * ${U(bm)} + (${r})`, spec.a.vecDim === 'row' ? m % 4 === 0 : k % 4 === 0, threads);
  const bTile = tileLoader(spec.b, 'Bs', B_TILE, (r, c) => `(${r}) * ${U(bn)} + (${c})`, spec.b.vecDim === 'row' ? k % 4 === 0 : n % 4 === 0, threads);
  const prefetch = gemmPrefetch;

  // --- epilogue and stores ---
  const ep = spec.epilogue;
  const finish = (v: string, flat: string, tag: string): { lines: string[]; result: string } =>
    ep ? ep.apply(v, flat, tag) : { lines: [], result: v };
  const vecOut = spec.out.type.includes('vec4');
  const storeLines: string[] = [];
  const comps = ['x', 'y', 'z', 'w'];
  const acc = (si: number, i: number, sj: number): string => `acc${si}_${i}_${sj}`;
  for (let si = 0; si < sm; si++) {
    for (let i = 0; i < 4; i++) {
      storeLines.push(`{ let row = m0 + ${U(si * subM)} + ty * 4u + ${i}u;`);
      storeLines.push(`  if (row < ${U(m)}) {`);
      for (let sj = 0; sj < sn; sj++) {
        const tag = (j: number): string => `e${si}${i}${sj}${j}_`;
        if (vecOut) {
          storeLines.push(`    { let col = n0 + ${U(sj * subN)} + tx * 4u;`);
          storeLines.push(`    if (col < ${U(n)}) {`);
          storeLines.push(`      let flat = outBase + row * ${U(n)} + col;`);
          const results = comps.map((c, j) => {
            const f = finish(`${acc(si, i, sj)}.${c}`, `flat + ${j}u`, tag(j));
            storeLines.push(...f.lines.map((l) => `      ${l}`));
            return f.result;
          });
          storeLines.push(`      ${spec.out.name}[flat / 4u] = vec4<f32>(${results.join(', ')});`);
          storeLines.push('    } }');
        } else {
          comps.forEach((c, j) => {
            const f = finish(`${acc(si, i, sj)}.${c}`, 'flat', tag(j));
            storeLines.push(`    { let col = n0 + ${U(sj * subN)} + tx * 4u + ${j}u;`);
            storeLines.push(`      if (col < ${U(n)}) {`);
            storeLines.push(`        let flat = outBase + row * ${U(n)} + col;`);
            storeLines.push(...f.lines.map((l) => `        ${l}`));
            storeLines.push(`        ${spec.out.name}[flat] = ${f.result};`);
            storeLines.push('    } }');
          });
        }
      }
      storeLines.push('  }');
      storeLines.push('}');
    }
  }
  const accDecls: string[] = [];
  const innerLines: string[] = [];
  for (let si = 0; si < sm; si++) innerLines.push(`let a${si} = As[kk * ${U(bm / 4)} + ${U(si * (subM / 4))} + ty];`);
  for (let sj = 0; sj < sn; sj++) innerLines.push(`let b${sj} = Bs[kk * ${U(bn / 4)} + ${U(sj * (subN / 4))} + tx];`);
  for (let si = 0; si < sm; si++) {
    for (let i = 0; i < 4; i++) {
      for (let sj = 0; sj < sn; sj++) {
        accDecls.push(`var ${acc(si, i, sj)} = vec4<f32>(0.0);`);
        innerLines.push(`${acc(si, i, sj)} = fma(vec4<f32>(a${si}.${comps[i]}), b${sj}, ${acc(si, i, sj)});`);
      }
    }
  }

  const body = `
${spec.a.helpers ?? ''}
${spec.b.helpers ?? ''}
var<workgroup> As: array<vec4<f32>, ${(BK * bm) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(BK * bn) / 4}>;

@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let tx = lid.x;
  let ty = lid.y;
  let bz = wid.z;
  let m0 = wid.y * ${U(bm)};
  let n0 = wid.x * ${U(bn)};
  let outBase = bz * ${U(m * n)};
  ${accDecls.join('\n  ')}
  ${prefetch ? [...aTile.registers(), ...bTile.registers(), ...aTile.fetch('0u'), ...bTile.fetch('0u')].join('\n  ') : ''}
  for (var k0 = 0u; k0 < ${U(k)}; k0 += ${U(BK)}) {
    ${(prefetch ? [...aTile.stage(), ...bTile.stage()] : [...aTile.direct('k0'), ...bTile.direct('k0')]).join('\n    ')}
    workgroupBarrier();
    ${prefetch ? `if (k0 + ${U(BK)} < ${U(k)}) {\n      ${[...aTile.fetch(`k0 + ${U(BK)}`), ...bTile.fetch(`k0 + ${U(BK)}`)].join('\n      ')}\n    }` : ''}
    for (var kk = 0u; kk < ${U(BK)}; kk++) {
      ${innerLines.join('\n      ')}
    }
    workgroupBarrier();
  }
  ${storeLines.join('\n  ')}
}`;
  return {
    bindings: [spec.a.binding, spec.b.binding, ...(ep?.bindings ?? []), spec.out],
    body,
    workgroups: [groupsX, groupsY, Math.max(1, batch)],
  };
}

/** Where a staged tile comes from: logical rows x cols of the operand from `origin(k0)`, the k step's first row or column. */
interface TileGeometry {
  rows: number;
  cols: number;
  origin(k0: string): [string, string];
  rowLimit: number;
  colLimit: number;
}

/**
 * The code staging one operand tile in workgroup memory, each thread taking elements (or vec4s)
 * tid, tid + threads, ...: `direct(k)` loads and stores at once; with prefetching, `fetch(k)` loads
 * into the thread's registers (`registers()` declares them) and `stage()` stores them later, so the
 * next tile's global loads are in flight while the current one is multiplied.
 */
function tileLoader(
  op: GemmOperand,
  tile: 'As' | 'Bs',
  geo: TileGeometry,
  /** row-major index in the k-major staged tile of logical (r, c): As is [BK][bm], Bs is [BK][bn]. */
  stagedIndex: (r: string, c: string) => string,
  vecAligned: boolean,
  threads: number,
): { direct(k0: string): string[]; registers(): string[]; fetch(k0: string): string[]; stage(): string[] } {
  const U = u32Lit;
  const vec = Boolean(op.load4 && vecAligned);
  const alongRow = op.vecDim === 'row';
  const count = vec ? (geo.rows * geo.cols) / 4 : geo.rows * geo.cols;
  const loops = Math.ceil(count / threads);
  const zero = vec ? 'vec4<f32>(0.0)' : '0.0';
  // element e's logical (r, c) in the tile: consecutive threads run along the operand's contiguous dimension
  const position = ((): string => {
    if (!vec) return alongRow ? `let c = e / ${U(geo.rows)}; let r = e % ${U(geo.rows)};` : `let r = e / ${U(geo.cols)}; let c = e % ${U(geo.cols)};`;
    const perLine = alongRow ? geo.rows / 4 : geo.cols / 4;
    return alongRow ? `let c = e / ${U(perLine)}; let r = (e % ${U(perLine)}) * 4u;` : `let r = e / ${U(perLine)}; let c = (e % ${U(perLine)}) * 4u;`;
  })();
  const origin = (k0: string): string => {
    const [row0, col0] = geo.origin(k0);
    return `let gr = ${row0} + r; let gc = ${col0} + c;`;
  };
  const inBounds = `gr < ${U(geo.rowLimit)} && gc < ${U(geo.colLimit)}`;
  const load = vec ? op.load4!('gr', 'gc', 'bz') : op.load1('gr', 'gc', 'bz');
  const store = (v: string): string[] => {
    // a staged tile is k-major: for As, logical (r=m, c=k) sits at [c][r]; for Bs, (r=k, c=n) at [r][c]
    if (vec && ((tile === 'As' && alongRow) || (tile === 'Bs' && !alongRow))) return [`${tile}[(${stagedIndex('r', 'c')}) / 4u] = ${v};`];
    const scalar = (r: string, c: string, x: string): string => `${tile}[(${stagedIndex(r, c)}) / 4u][(${stagedIndex(r, c)}) % 4u] = ${x};`;
    if (!vec) return [scalar('r', 'c', v)];
    return [0, 1, 2, 3].map((j) => scalar(alongRow ? `r + ${j}u` : 'r', alongRow ? 'c' : `c + ${j}u`, `${v}[${j}]`));
  };
  /** One element's block: e, then `inner` under the count guard when the last round is partial. */
  const element = (e: string, inner: string[]): string[] => {
    const body = count % threads !== 0 ? [`if (e < ${U(count)}) {`, ...inner.map((l) => `  ${l}`), '}'] : inner;
    return ['{', `  let e = ${e};`, ...body.map((l) => `  ${l}`), '}'];
  };
  const reg = (l: number): string => `${tile}r${l}`;
  const each = (fn: (l: number) => string[]): string[] => Array.from({ length: loops }, (_, l) => fn(l)).flat();
  return {
    direct: (k0) => [
      `for (var l = 0u; l < ${U(loops)}; l++) {`,
      ...element(`tid + l * ${U(threads)}`, [position, origin(k0), `var v = ${zero};`, `if (${inBounds}) { v = ${load}; }`, ...store('v')]).map((x) => `  ${x}`),
      '}',
    ],
    registers: () => each((l) => [`var ${reg(l)} = ${zero};`]),
    fetch: (k0) => each((l) => element(`tid + ${U(l * threads)}`, [position, origin(k0), `${reg(l)} = ${zero};`, `if (${inBounds}) { ${reg(l)} = ${load}; }`])),
    stage: () => each((l) => element(`tid + ${U(l * threads)}`, [position, ...store(reg(l))])),
  };
}

/**
 * A plain row-major matrix operand [rows x cols] per batch entry (transposed: stored [cols x rows]),
 * batch entries `batchOffset(b)` elements apart. `vec4` binds it as array<vec4<f32>> for aligned reads.
 */
export function matrixOperand(
  name: string,
  inputIndex: number,
  rows: number,
  cols: number,
  transposed: boolean,
  batchOffset: (b: string) => string,
): GemmOperand {
  const contiguousLen = transposed ? rows : cols;
  const vec = contiguousLen % 4 === 0;
  const type = vec ? 'array<vec4<f32>>' : 'array<f32>';
  const idx = (r: string, c: string, b: string): string =>
    transposed ? `${batchOffset(b)} + (${c}) * ${u32Lit(rows)} + (${r})` : `${batchOffset(b)} + (${r}) * ${u32Lit(cols)} + (${c})`;
  return {
    binding: { ref: { input: inputIndex }, name, type },
    vecDim: transposed ? 'row' : 'col',
    load1: (r, c, b) => (vec ? `${name}[(${idx(r, c, b)}) / 4u][(${idx(r, c, b)}) % 4u]` : `${name}[${idx(r, c, b)}]`),
    load4: vec ? (r, c, b) => `${name}[(${idx(r, c, b)}) / 4u]` : undefined,
  };
}
