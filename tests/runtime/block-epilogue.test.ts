import { Graph, Node, TensorValue, ops, tensor } from '@graphc/graph';
import { ElementwiseProgram, Session, runElementwise, setCpuThreads, setSimdKernels } from '@graphc/runtime';
import { getCpuEpilogueKernel, heapAlloc } from '../../packages/runtime/src/backends/cpu/kernel';
import { blockEpilogue } from '../../packages/runtime/src/backends/cpu/wasm-elementwise';
import { Prng } from '../../packages/runtime/src/random';

/**
 * A fused matmul's or convolution's epilogue (bias, activation, residual) applied by the kernel to
 * each block of its output while that block is in the SIMD kernels' memory: matmul's GEMMs, the 1x1
 * GEMM, the window-read 3x3, the im2col and tap-major GEMMs, the depthwise bands, on one thread and
 * on two (where a product splits over the threads, its kernel's memory is the shared one).
 * Each must report the epilogue applied, and give the bits of the convolution followed by the
 * epilogue as a pass of its own (the exact f32x4 forms: add, clip, relu6, relu).
 */

function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.37 + seed) * 2));
}

/** Positions where two results differ (NaN equal to NaN); 0 for the same bits. A count, not a diff: jest's diff of long arrays takes minutes. */
function differences(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let count = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) count++;
  return count;
}

const input = (k: number): { input: number } => ({ input: k });
const step = (k: number): { step: number } => ({ step: k });
const f32 = (n: number): ElementwiseProgram['inputDTypes'] => new Array(n).fill('float32');

/** Epilogues by the kinds of their extra inputs: a bias row, a residual, scalars. */
const EPILOGUES: { name: string; program: ElementwiseProgram; extras: (shape: number[]) => TensorValue[] }[] = [
  {
    name: 'bias + relu6',
    program: {
      inputDTypes: f32(2),
      statements: [
        { js: 'a + b', args: [input(0), input(1)], dtype: 'float32' },
        { js: '(a > 0 ? (a < 6 ? a : 6) : 0)', args: [step(0)], dtype: 'float32' },
      ],
    },
    extras: (shape) => [tensor(values(shape[shape.length - 1], 3), [shape[shape.length - 1]])],
  },
  {
    name: 'bias + residual + relu',
    program: {
      inputDTypes: f32(3),
      statements: [
        { js: 'a + b', args: [input(0), input(1)], dtype: 'float32' },
        { js: 'a + b', args: [step(0), input(2)], dtype: 'float32' },
        { js: 'H.relu(a)', args: [step(1)], dtype: 'float32' },
      ],
    },
    extras: (shape) => [tensor(values(shape[shape.length - 1], 4), shape.map((d, i) => (i === shape.length - 1 ? d : 1))), tensor(values(shape.reduce((a, b) => a * b, 1), 5), shape)],
  },
  {
    // the residual's region before the bias's in the scratch
    name: 'residual + bias + relu6',
    program: {
      inputDTypes: f32(3),
      statements: [
        { js: 'a + b', args: [input(0), input(1)], dtype: 'float32' },
        { js: 'a + b', args: [step(0), input(2)], dtype: 'float32' },
        { js: '(a > 0 ? (a < 6 ? a : 6) : 0)', args: [step(1)], dtype: 'float32' },
      ],
    },
    extras: (shape) => [tensor(values(shape.reduce((a, b) => a * b, 1), 7), shape), tensor(values(shape[shape.length - 1], 8), [shape[shape.length - 1]])],
  },
  {
    name: 'clip between scalars',
    program: { inputDTypes: f32(3), statements: [{ js: '(a < b ? b : a > c ? c : a)', args: [input(0), input(1), input(2)], dtype: 'float32' }] },
    extras: () => [tensor([-0.5], []), tensor([1.25], [])],
  },
];

interface Case {
  name: string;
  op: 'conv2d' | 'depthwiseConv2d' | 'matmul';
  x: number[];
  filter: number[];
  stride?: number;
  padding?: 'SAME' | 'VALID';
  transposeB?: boolean;
}

/** Products that take each path of the kernels (the names say which). */
const CASES: Case[] = [
  { name: 'matmul 300x70 by 70x40 (5 blocks of C)', op: 'matmul', x: [300, 70], filter: [70, 40] },
  { name: 'matmul 300x70 by 40x70 transposed', op: 'matmul', x: [300, 70], filter: [40, 70], transposeB: true },
  { name: 'batched matmul [3, 50, 70] by one 70x24 (one tall product)', op: 'matmul', x: [3, 50, 70], filter: [70, 24] },
  { name: '1x1 (GEMM over the input in place)', op: 'conv2d', x: [2, 9, 10, 24], filter: [1, 1, 24, 40], stride: 1, padding: 'VALID' },
  { name: '1x1, 1,200 rows (many blocks of C)', op: 'conv2d', x: [3, 20, 20, 16], filter: [1, 1, 16, 96], stride: 1, padding: 'VALID' },
  { name: '1x1, 256 -> 256 (a block of C split over the threads on two)', op: 'conv2d', x: [1, 8, 9, 256], filter: [1, 1, 256, 256], stride: 1, padding: 'VALID' },
  { name: '3x3 stride 1, rows in whole tiles (window reads)', op: 'conv2d', x: [2, 8, 8, 8], filter: [3, 3, 8, 16], stride: 1, padding: 'SAME' },
  { name: '3x3 stride 1, rows padded to whole tiles (window reads)', op: 'conv2d', x: [2, 7, 7, 8], filter: [3, 3, 8, 24], stride: 1, padding: 'SAME' },
  { name: '3x3 stride 2 (im2col)', op: 'conv2d', x: [2, 11, 9, 6], filter: [3, 3, 6, 20], stride: 2, padding: 'SAME' },
  { name: '5x5 over one channel into 12 (tap-major columns, 4 blocks)', op: 'conv2d', x: [2, 20, 20, 1], filter: [5, 5, 1, 12], stride: 1, padding: 'SAME' },
  { name: 'depthwise 3x3 stride 1 (bands)', op: 'depthwiseConv2d', x: [2, 30, 30, 96], filter: [3, 3, 96, 1], stride: 1, padding: 'SAME' },
  { name: 'depthwise 3x3 stride 2', op: 'depthwiseConv2d', x: [3, 17, 17, 8], filter: [3, 3, 8, 1], stride: 2, padding: 'SAME' },
];

/** The kernel's output with the epilogue applied, and whether the kernel applied it. */
function convolve(c: Case, program: ElementwiseProgram, extrasOf: (shape: number[]) => TensorValue[], blocks: boolean) {
  const g = new Graph();
  const xs = g.placeholder('float32', c.x, 'x');
  const fs = g.placeholder('float32', c.filter, 'f');
  const y =
    c.op === 'matmul'
      ? ops.matmul(xs, fs, { transposeB: c.transposeB })
      : (c.op === 'conv2d' ? ops.conv2d : ops.depthwiseConv2d)(xs, fs, c.stride ?? 1, c.padding ?? 'VALID');
  const node: Node = y.node;
  const ctx = { node, outputs: node.outputs, alloc: heapAlloc, rng: () => new Prng(1), variables: new Map<string, TensorValue>() };
  const inputs = [tensor(values(c.x.reduce((a, b) => a * b, 1), 1), c.x), tensor(values(c.filter.reduce((a, b) => a * b, 1), 2), c.filter)];
  let extras: TensorValue[] = [];
  const { outputs, applied } = getCpuEpilogueKernel(c.op)!(inputs, node.attrs, ctx, (out) => {
    extras = extrasOf(out.shape);
    return blocks ? blockEpilogue(program, [out, ...extras]) : null;
  });
  const [out] = outputs;
  if (!applied) runElementwise(program, [out, ...extras], out.shape, out.data);
  return { out: out.data as Float32Array, applied };
}

describe.each([1, 2])('block epilogues on %i thread(s)', (threads) => {
  beforeAll(() => expect(setCpuThreads(threads)).toBe(threads));
  afterAll(() => setCpuThreads(1));

  for (const c of CASES) {
    test.each(EPILOGUES)(`${c.name}: $name, applied in the kernel, equals the separate pass bit for bit`, ({ program, extras }) => {
      const inKernel = convolve(c, program, extras, true);
      const separate = convolve(c, program, extras, false);
      expect(inKernel.applied).toBe(true);
      expect(separate.applied).toBe(false);
      expect(differences(inKernel.out, separate.out)).toBe(0);
      // the epilogue did something: relu6 and the clip cut values, the residual moved them
      const plain = convolve(c, { inputDTypes: f32(1), statements: [{ js: 'a', args: [input(0)], dtype: 'float32' }] }, () => [], false).out;
      expect(differences(inKernel.out, plain)).toBeGreaterThan(0);
    });
  }
});

test('an epilogue without an f32x4 form, with a broadcast other than a row, or over a small or transposed product runs as a pass of its own', () => {
  const conv = CASES.find((c) => c.op === 'conv2d')!;
  const [biasRelu6, bias] = [EPILOGUES[0].program, EPILOGUES[0].extras];
  const cosine: ElementwiseProgram = { inputDTypes: f32(1), statements: [{ js: 'Math.cos(a)', args: [input(0)], dtype: 'float32' }] };
  expect(convolve(conv, biasRelu6, bias, true).applied).toBe(true);
  expect(convolve(conv, cosine, () => [], true).applied).toBe(false);
  // a [N, H, W, 1] scale broadcast along channels is not a row of C
  const column = convolve(conv, biasRelu6, (shape) => [tensor(values(shape[0] * shape[1] * shape[2], 6), [...shape.slice(0, 3), 1])], true);
  expect(column.applied).toBe(false);
  // a few rows by a transposed B run as C^T = B^T·A^T: no blocks of C to apply it to
  expect(convolve({ name: 'few rows', op: 'matmul', x: [40, 70], filter: [300, 70], transposeB: true }, biasRelu6, bias, true).applied).toBe(false);
  // a product of under 1,024 values: the separate pass runs it as JavaScript loops
  expect(convolve({ name: 'small', op: 'matmul', x: [20, 70], filter: [70, 40] }, biasRelu6, bias, true).applied).toBe(false);
  setSimdKernels(false);
  try {
    expect(convolve(conv, biasRelu6, bias, true).applied).toBe(false);
  } finally {
    setSimdKernels(true);
  }
});

test('a MobileNet block fused at O2 gives O0 bits (1x1 expansion, depthwise, 1x1 projection, residual, relu6)', async () => {
  const g = new Graph();
  const x = g.placeholder('float32', [2, 12, 12, 16], 'x');
  const c = (shape: number[], seed: number) => g.constant(tensor(values(shape.reduce((a, b) => a * b, 1), seed).map((v) => v * 0.3), shape));
  const expanded = ops.relu6(ops.add(ops.conv2d(x, c([1, 1, 16, 96], 1), 1, 'VALID'), c([96], 2)));
  const filtered = ops.relu6(ops.add(ops.depthwiseConv2d(expanded, c([3, 3, 96, 1], 3), 1, 'SAME'), c([96], 4)));
  const projected = ops.add(ops.add(ops.conv2d(filtered, c([1, 1, 96, 16], 5), 1, 'VALID'), c([16], 6)), x);
  const feeds = { x: tensor(values(2 * 12 * 12 * 16, 7), [2, 12, 12, 16]) };
  const [o0] = await new Session(g, { optimize: 0 }).run([projected], feeds);
  const fused = new Session(g, { optimize: 2, profile: true });
  const [o2] = await fused.run([projected], feeds);
  expect(fused.profile().map((t) => t.op).filter((op) => op !== 'const').sort()).toEqual(['fusedConv2d', 'fusedConv2d', 'fusedDepthwiseConv2d']);
  expect(differences(o2.data, o0.data)).toBe(0);
});
