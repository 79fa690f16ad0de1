import { ops, sizeOf } from '@graphc/graph';
import { GpuTensorInfo, KernelPlan, NoGpuKernel, WebGpuKernelContext, WgslBinding, registerWebGpuKernel, requireDTypes } from '../kernel';
import { flatDispatch, grid1d, u32Lit } from '../wgsl';
import { GemmOperand, gemmDispatch, gemmOutputType, gemmTarget } from './gemm';
import { valueType } from './elementwise';

/**
 * einsum and det. einsum resolves its labels as the CPU kernel does (broadcast '...' dimensions become
 * labels of their own; a label repeated within an input adds its strides: a diagonal; a size-1
 * dimension broadcasts with stride 0). A float32 contraction of two inputs whose output is
 * batch labels, then labels of one input, then labels of the other (matmul, bmm, 'bhqd,bhkd->bhqk',
 * ...) runs on the tiled GEMM, each operand loaded through its label strides; any other equation
 * runs a thread per output element looping over the summed labels.
 */
const U = u32Lit;

type EinsumLabels = ops.EinsumLoops;

function einsumLabels(equation: string, inputs: GpuTensorInfo[]): EinsumLabels {
  return ops.einsumLoops(equation, inputs.map((i) => i.shape));
}

/** WGSL expression: the offset contributed by flat index `flat` over `group` labels (row-major) in input k. */
function groupOffset(e: EinsumLabels, k: number, group: string[], flat: string): string {
  const parts: string[] = [];
  let inner = 1;
  for (let j = group.length - 1; j >= 0; j--) {
    const l = e.labels.indexOf(group[j]);
    const dim = e.dims[l];
    const stride = e.strides[k][l];
    if (stride !== 0 && dim > 1) {
      const coord = j === 0 ? (inner === 1 ? flat : `(${flat} / ${U(inner)})`) : inner === 1 ? `(${flat} % ${U(dim)})` : `((${flat} / ${U(inner)}) % ${U(dim)})`;
      parts.push(stride === 1 ? coord : `${coord} * ${U(stride)}`);
    }
    inner *= dim;
  }
  return parts.length ? parts.join(' + ') : '0u';
}

/** The GEMM form of a two-input contraction, or null when the equation is not one. */
function einsumGemm(ctx: WebGpuKernelContext, e: EinsumLabels): KernelPlan | null {
  if (ctx.inputs.length !== 2 || ctx.inputs.some((i) => i.dtype !== 'float32')) return null;
  const inP = (l: string, k: number): boolean => e.terms[k].includes(l);
  // every summed label must be in both inputs (a label summed within one input is a reduction first)
  if (e.sumLabels.some((l) => !inP(l, 0) || !inP(l, 1))) return null;
  const kind = (l: string): 'b' | '0' | '1' => (inP(l, 0) && inP(l, 1) ? 'b' : inP(l, 0) ? '0' : '1');
  const kinds = e.outLabels.map(kind).join('');
  const m = /^(b*)(0*)(1*)$/.exec(kinds) ?? /^(b*)(1*)(0*)$/.exec(kinds);
  if (!m) return null;
  const nb = m[1].length;
  const batchLabels = e.outLabels.slice(0, nb);
  const rowLabels = e.outLabels.slice(nb, nb + m[2].length);
  const colLabels = e.outLabels.slice(nb + m[2].length);
  // the operand whose labels are the output's rows is A
  const aInput = rowLabels.length ? (kind(rowLabels[0]) === '0' ? 0 : 1) : colLabels.length && kind(colLabels[0]) === '0' ? 1 : 0;
  const bInput = 1 - aInput;
  const size = (group: string[]): number => group.reduce((p, l) => p * e.dims[e.labels.indexOf(l)], 1);
  const M = size(rowLabels);
  const N = size(colLabels);
  const K = size(e.sumLabels);
  const batch = size(batchLabels);
  if (M * N * batch === 0) return null;
  const operand = (k: number, name: string, rows: string[], cols: string[], vecDim: 'row' | 'col'): GemmOperand => ({
    binding: { ref: { input: k }, name, type: 'array<f32>' },
    vecDim,
    load1: (r, c, b) => `${name}[${[groupOffset(e, k, batchLabels, b), groupOffset(e, k, rows, r), groupOffset(e, k, cols, c)].join(' + ')}]`,
  });
  // scalar loads run along the operand's contiguous logical dimension
  const lastStride = (k: number, group: string[]): number => (group.length ? e.strides[k][e.labels.indexOf(group[group.length - 1])] : 0);
  const aVec = lastStride(aInput, e.sumLabels) === 1 ? 'col' : 'row';
  const bVec = lastStride(bInput, colLabels) === 1 ? 'col' : 'row';
  return {
    dispatches: [
      gemmDispatch({
        m: M,
        n: N,
        k: K,
        batch,
        a: operand(aInput, 'A', rowLabels, e.sumLabels, aVec),
        b: operand(bInput, 'B', e.sumLabels, colLabels, bVec),
        out: { ref: { output: 0 }, name: 'C', type: gemmOutputType(N) },
        target: gemmTarget(ctx),
      }),
    ],
  };
}

registerWebGpuKernel('einsum', (ctx): KernelPlan => {
  // int64 products can leave the 32-bit range and bool sums would saturate differently: those run on the cpu
  requireDTypes(ctx, ['float32', 'int32']);
  const e = einsumLabels(String(ctx.attrs.equation), ctx.inputs);
  const out = ctx.outputs[0];
  const total = sizeOf(out.shape);
  if (total === 0) return { dispatches: [] };
  try {
    const gemm = einsumGemm(ctx, e);
    if (gemm) return gemm;
  } catch (err) {
    // a grid past the device's limits: the generic kernel covers the output a thread per element
    if (!(err instanceof NoGpuKernel)) throw err;
  }
  const type = valueType(out.dtype);
  const sumCount = e.sumLabels.reduce((p, l) => p * e.dims[e.labels.indexOf(l)], 1);
  const bindings: WgslBinding[] = [
    ...ctx.inputs.map((_, k) => ({ ref: { input: k }, name: `in${k}`, type: `array<${type}>` })),
    { ref: { output: 0 }, name: 'out0', type: `array<${type}>` },
  ];
  const outBase = ctx.inputs.map((_, k) => `let o${k} = ${groupOffset(e, k, e.outLabels, 'i')};`);
  const prod = ctx.inputs.map((_, k) => `in${k}[o${k} + ${groupOffset(e, k, e.sumLabels, 's')}]`).join(' * ');
  const body = `${outBase.join('\n  ')}
  var acc = ${type}(0);
  for (var s = 0u; s < ${U(sumCount)}; s++) {
    acc += ${prod};
  }
  out0[i] = acc;`;
  return { dispatches: [flatDispatch({ n: total, maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension, bindings, body })] };
});

/**
 * det: a thread per matrix runs the CPU kernel's LU decomposition with partial pivoting (the first
 * largest pivot; a zero pivot makes the determinant 0) on its copy in a scratch buffer, in f32.
 */
registerWebGpuKernel('det', (ctx): KernelPlan => {
  requireDTypes(ctx, ['float32']);
  const x = ctx.inputs[0];
  const rank = x.shape.length;
  const n = x.shape[rank - 1];
  const count = sizeOf(x.shape.slice(0, -2));
  if (count === 0) return { dispatches: [] };
  if (n * n * count * 4 > ctx.limits.maxStorageBufferBindingSize) throw new NoGpuKernel('the LU scratch exceeds the largest storage binding');
  const grid = grid1d(count, ctx.limits.maxComputeWorkgroupsPerDimension, 64);
  const nn = n * n;
  const body = `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m = ${grid.index};
  if (m >= ${U(count)}) { return; }
  let base = m * ${U(nn)};
  for (var e = 0u; e < ${U(nn)}; e++) { a[base + e] = x[base + e]; }
  var det = 1.0;
  for (var c = 0u; c < ${U(n)}; c++) {
    var pivot = c;
    for (var r = c + 1u; r < ${U(n)}; r++) {
      if (abs(a[base + r * ${U(n)} + c]) > abs(a[base + pivot * ${U(n)} + c])) { pivot = r; }
    }
    if (a[base + pivot * ${U(n)} + c] == 0.0) { det = 0.0; break; }
    if (pivot != c) {
      for (var k = 0u; k < ${U(n)}; k++) {
        let t = a[base + c * ${U(n)} + k];
        a[base + c * ${U(n)} + k] = a[base + pivot * ${U(n)} + k];
        a[base + pivot * ${U(n)} + k] = t;
      }
      det = -det;
    }
    let p = a[base + c * ${U(n)} + c];
    det *= p;
    for (var r = c + 1u; r < ${U(n)}; r++) {
      let f = a[base + r * ${U(n)} + c] / p;
      for (var k = c; k < ${U(n)}; k++) { a[base + r * ${U(n)} + k] -= f * a[base + c * ${U(n)} + k]; }
    }
  }
  y[m] = det;
}`;
  return {
    dispatches: [
      {
        bindings: [
          { ref: { input: 0 }, name: 'x', type: 'array<f32>' },
          { ref: { scratch: 0 }, name: 'a', type: 'array<f32>' },
          { ref: { output: 0 }, name: 'y', type: 'array<f32>' },
        ],
        body,
        workgroups: grid.workgroups,
      },
    ],
    scratch: [n * n * count * 4],
  };
});
