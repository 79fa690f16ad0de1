import { sizeOf } from '@graphc/graph';
import { KernelPlan, NoGpuKernel, WebGpuKernelContext, WgslBinding, registerWebGpuKernel, requireDTypes } from '../kernel';
import { grid1d, u32Lit } from '../wgsl';

/**
 * matrixSolve, matrixTriangularSolve and cholesky, as the cpu kernels compute them, in f32: a
 * thread per matrix eliminates with partial pivoting (matrixSolve, on its copy of a in a scratch
 * buffer) or factors (cholesky), and a thread per right-hand-side column substitutes (the
 * triangular solve). The right-hand sides are copied into the output and solved there. Meant for the
 * small matrices these ops see (a thread's work is O(n^3)); a system without a solution gives NaN for
 * its whole matrix, as on the cpu.
 */
const U = u32Lit;

function dispatch(bindings: WgslBinding[], threads: number, ctx: WebGpuKernelContext, body: (index: string) => string, scratch?: number): KernelPlan {
  if (threads === 0) return { dispatches: [] };
  const grid = grid1d(threads, ctx.limits.maxComputeWorkgroupsPerDimension, 64);
  const main = `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = ${grid.index};
  if (t >= ${U(threads)}) { return; }
${body('t')}
}`;
  return { dispatches: [{ bindings, body: main, workgroups: grid.workgroups }], ...(scratch === undefined ? {} : { scratch: [scratch] }) };
}

/** The matrix read of input a: its entry (r, c), or (c, r) when `adjoint`. */
function entry(adjoint: boolean, n: number): (r: string, c: string) => string {
  return (r, c) => (adjoint ? `a[A + (${c}) * ${U(n)} + ${r}]` : `a[A + (${r}) * ${U(n)} + ${c}]`);
}

const SOLVE_BINDINGS: WgslBinding[] = [
  { ref: { input: 0 }, name: 'a', type: 'array<f32>' },
  { ref: { input: 1 }, name: 'b', type: 'array<f32>' },
  { ref: { output: 0 }, name: 'x', type: 'array<f32>' },
];

registerWebGpuKernel('matrixSolve', (ctx): KernelPlan => {
  requireDTypes(ctx, ['float32']);
  const b = ctx.inputs[1];
  const [n, k] = b.shape.slice(-2);
  const count = n * k === 0 ? 0 : sizeOf(b.shape) / (n * k);
  if (n * n * count * 4 > ctx.limits.maxStorageBufferBindingSize) throw new NoGpuKernel('the elimination scratch exceeds the largest storage binding');
  const read = entry(ctx.attrs.adjoint === true, n);
  const [N, K] = [U(n), U(k)];
  const s = (r: string, c: string): string => `s[A + (${r}) * ${N} + ${c}]`;
  const xs = (r: string, j: string): string => `x[X + (${r}) * ${K} + ${j}]`;
  const body = (t: string): string => `
  let A = ${t} * ${U(n * n)};
  let X = ${t} * ${U(n * k)};
  for (var r = 0u; r < ${N}; r++) { for (var c = 0u; c < ${N}; c++) { ${s('r', 'c')} = ${read('r', 'c')}; } }
  for (var e = 0u; e < ${U(n * k)}; e++) { x[X + e] = b[X + e]; }
  for (var c = 0u; c < ${N}; c++) {
    var pivot = c;
    for (var r = c + 1u; r < ${N}; r++) { if (abs(${s('r', 'c')}) > abs(${s('pivot', 'c')})) { pivot = r; } }
    let p = ${s('pivot', 'c')};
    if (p == 0.0 || gc_isnan(p)) {
      for (var e = 0u; e < ${U(n * k)}; e++) { x[X + e] = gc_nan(); }
      return;
    }
    if (pivot != c) {
      for (var j = c; j < ${N}; j++) { let v = ${s('c', 'j')}; ${s('c', 'j')} = ${s('pivot', 'j')}; ${s('pivot', 'j')} = v; }
      for (var j = 0u; j < ${K}; j++) { let v = ${xs('c', 'j')}; ${xs('c', 'j')} = ${xs('pivot', 'j')}; ${xs('pivot', 'j')} = v; }
    }
    for (var r = c + 1u; r < ${N}; r++) {
      let f = ${s('r', 'c')} / p;
      for (var j = c + 1u; j < ${N}; j++) { ${s('r', 'j')} -= f * ${s('c', 'j')}; }
      for (var j = 0u; j < ${K}; j++) { ${xs('r', 'j')} -= f * ${xs('c', 'j')}; }
    }
  }
  for (var q = 0u; q < ${N}; q++) {
    let r = ${U(n - 1)} - q;
    for (var i = r + 1u; i < ${N}; i++) {
      let f = ${s('r', 'i')};
      for (var j = 0u; j < ${K}; j++) { ${xs('r', 'j')} -= f * ${xs('i', 'j')}; }
    }
    let d = ${s('r', 'r')};
    for (var j = 0u; j < ${K}; j++) { ${xs('r', 'j')} /= d; }
  }`;
  return dispatch([...SOLVE_BINDINGS.slice(0, 2), { ref: { scratch: 0 }, name: 's', type: 'array<f32>' }, SOLVE_BINDINGS[2]], count, ctx, body, n * n * count * 4);
});

/** matrixTriangularSolve: a thread per right-hand-side column, substituting forward (the matrix solved is lower) or backward. */
registerWebGpuKernel('matrixTriangularSolve', (ctx): KernelPlan => {
  requireDTypes(ctx, ['float32']);
  const b = ctx.inputs[1];
  const [n, k] = b.shape.slice(-2);
  const count = n * k === 0 ? 0 : sizeOf(b.shape) / (n * k);
  const adjoint = ctx.attrs.adjoint === true;
  const forward = (ctx.attrs.lower !== false) !== adjoint;
  const read = entry(adjoint, n);
  const [N, K] = [U(n), U(k)];
  const body = (t: string): string => `
  let A = (${t} / ${K}) * ${U(n * n)};
  let X = (${t} / ${K}) * ${U(n * k)} + ${t} % ${K};
  for (var q = 0u; q < ${N}; q++) {
    let r = ${forward ? 'q' : `${U(n - 1)} - q`};
    var v = b[X + r * ${K}];
    for (var i = ${forward ? '0u' : 'r + 1u'}; i < ${forward ? 'r' : N}; i++) { v -= ${read('r', 'i')} * x[X + i * ${K}]; }
    x[X + r * ${K}] = v / ${read('r', 'r')};
  }`;
  return dispatch(SOLVE_BINDINGS, count * k, ctx, body);
});

/** cholesky: a thread per matrix, row by row as the cpu kernel; zeros above the diagonal. */
registerWebGpuKernel('cholesky', (ctx): KernelPlan => {
  requireDTypes(ctx, ['float32']);
  const a = ctx.inputs[0];
  const n = a.shape[a.shape.length - 1];
  const count = n === 0 ? 0 : sizeOf(a.shape) / (n * n);
  const N = U(n);
  const body = (t: string): string => `
  let A = ${t} * ${U(n * n)};
  for (var i = 0u; i < ${N}; i++) {
    for (var j = 0u; j < ${N}; j++) {
      if (j > i) { l[A + i * ${N} + j] = 0.0; continue; }
      var s = a[A + i * ${N} + j];
      for (var p = 0u; p < j; p++) { s -= l[A + i * ${N} + p] * l[A + j * ${N} + p]; }
      if (i == j) {
        if (!(s > 0.0)) {
          for (var e = 0u; e < ${U(n * n)}; e++) { l[A + e] = gc_nan(); }
          return;
        }
        l[A + i * ${N} + i] = sqrt(s);
      } else {
        l[A + i * ${N} + j] = s / l[A + j * ${N} + j];
      }
    }
  }`;
  return dispatch(
    [
      { ref: { input: 0 }, name: 'a', type: 'array<f32>' },
      { ref: { output: 0 }, name: 'l', type: 'array<f32>' },
    ],
    count,
    ctx,
    body,
  );
});
