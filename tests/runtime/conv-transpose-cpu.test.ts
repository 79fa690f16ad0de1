import { Graph, Session, TensorValue, importOnnx, ops, setSimdGemm, tensor } from 'graphc';
import { buildModel } from '../onnx/onnx-builder';

/**
 * The cpu's channels-first transposed convolution (ONNX ConvTranspose) against its definition,
 * summed directly in float64: every input element, times every tap, lands at output position
 * i * stride - padBegin + t * dilation (dropped where that falls outside). 1-D, 2-D and 3-D, groups,
 * strides, dilations, uneven pads, output padding and a bias. float32 scatters on WebAssembly
 * (a channel at a time in the kernels' memory), float64 and float32 with the SIMD kernels off in
 * JavaScript.
 */

interface Case {
  x: number[];
  w: number[];
  group?: number;
  strides?: number[];
  dilations?: number[];
  pads?: number[];
  outputPadding?: number[];
  bias?: boolean;
}

function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.round(((s / 4294967296) * 2 - 1) * 64) / 32;
  });
}

const prod = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function reference(c: Case, xv: number[], wv: number[], bv: number[] | null): { shape: number[]; data: number[] } {
  const [N, C, ...spatial] = c.x;
  const [, Mg, ...kernel] = c.w;
  const s = spatial.length;
  const group = c.group ?? 1;
  const strides = c.strides ?? new Array(s).fill(1);
  const dil = c.dilations ?? new Array(s).fill(1);
  const pads = c.pads ?? new Array(2 * s).fill(0);
  const op = c.outputPadding ?? new Array(s).fill(0);
  const out = spatial.map((d, i) => strides[i] * (d - 1) + op[i] + (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[s + i]);
  const M = Mg * group;
  const Cg = C / group;
  const data = new Array(N * M * prod(out)).fill(0);
  const index = (coords: number[], dims: number[]): number => coords.reduce((acc, v, k) => acc * dims[k] + v, 0);
  const each = (dims: number[], f: (coords: number[]) => void): void => {
    const total = prod(dims);
    for (let flat = 0; flat < total; flat++) {
      const coords: number[] = [];
      let r = flat;
      for (let k = dims.length - 1; k >= 0; k--) {
        coords.unshift(r % dims[k]);
        r = Math.floor(r / dims[k]);
      }
      f(coords);
    }
  };
  for (let n = 0; n < N; n++) {
    for (let ci = 0; ci < C; ci++) {
      const g = Math.floor(ci / Cg);
      each(spatial, (pos) => {
        const xval = xv[index([n, ci, ...pos], c.x)];
        each(kernel, (tap) => {
          const o = pos.map((p, k) => p * strides[k] - pads[k] + tap[k] * dil[k]);
          if (o.some((v, k) => v < 0 || v >= out[k])) return;
          for (let m = 0; m < Mg; m++) {
            data[index([n, g * Mg + m, ...o], [N, M, ...out])] += xval * wv[index([ci, m, ...tap], c.w)];
          }
        });
      });
    }
  }
  if (bv) for (let i = 0; i < data.length; i++) data[i] += bv[Math.floor(i / prod(out)) % M];
  return { shape: [N, M, ...out], data };
}

const CASES: [string, Case][] = [
  ['2-D, stride 2, kernel 4, pads 1 (a decoder layer)', { x: [2, 3, 4, 5], w: [3, 2, 4, 4], strides: [2, 2], pads: [1, 1, 1, 1], bias: true }],
  ['2-D, uneven pads and output padding', { x: [1, 2, 5, 4], w: [2, 3, 3, 3], strides: [2, 3], pads: [0, 2, 1, 0], outputPadding: [1, 2] }],
  ['2-D, dilated, stride 3', { x: [2, 2, 3, 4], w: [2, 2, 2, 3], strides: [3, 1], dilations: [2, 3], pads: [1, 0, 0, 2] }],
  ['2-D, groups', { x: [1, 4, 3, 3], w: [4, 3, 3, 2], group: 2, strides: [2, 2], bias: true }],
  ['2-D, pads wider than the kernel reach on one side', { x: [1, 1, 4, 6], w: [1, 2, 3, 3], strides: [1, 2], pads: [2, 0, 3, 1] }],
  ['1-D', { x: [2, 3, 7], w: [3, 2, 5], strides: [2], pads: [2, 1], bias: true }],
  ['3-D', { x: [1, 2, 3, 2, 3], w: [2, 2, 2, 3, 2], strides: [2, 1, 2], pads: [0, 1, 1, 1, 0, 0] }],
];

describe('convTransposeNchw on the cpu', () => {
  test.each(CASES)('%s equals its definition', async (_label, c) => {
    const xv = values(prod(c.x), 3);
    const wv = values(prod(c.w), 5);
    const M = c.w[1] * (c.group ?? 1);
    const bv = c.bias ? values(M, 7) : null;
    const want = reference(c, xv, wv, bv);
    for (const [dtype, simd] of [['float32', true], ['float32', false], ['float64', true]] as const) {
      setSimdGemm(simd);
      const g = new Graph();
      const x = g.placeholder(dtype, c.x, 'x');
      const w = g.constant(tensor(wv, c.w, dtype), 'w');
      const b = bv ? g.constant(tensor(bv, [M], dtype), 'b') : null;
      const y = ops.convTransposeNchw(x, w, b, { group: c.group, strides: c.strides, dilations: c.dilations, pads: c.pads, outputPadding: c.outputPadding });
      // read through a copy, so the convolution's output lies in the arena; the second run finds the
      // first's values there (a kernel that adds into its output must clear it first)
      const fetched = ops.mul(y, 1);
      let got: TensorValue;
      try {
        // O1: a memory plan, no fusion
        const session = new Session(g, { optimize: 1 });
        const feeds = { x: tensor(xv, c.x, dtype) };
        await session.run(fetched, feeds);
        got = (await session.run(fetched, feeds)) as TensorValue;
      } finally {
        setSimdGemm(true);
      }
      expect(got.shape).toEqual(want.shape);
      const far = Array.from(got.data).filter((v, i) => Math.abs(v - want.data[i]) > 1e-4 * (1 + Math.abs(want.data[i]))).length;
      expect({ dtype, simd, far }).toEqual({ dtype, simd, far: 0 });
    }
  });

  test('one node whose image size is known only at run time (a Reshape by a fed shape): each run equals its definition', async () => {
    const c: Case = { x: [1, 2, 5, 6], w: [2, 3, 4, 4], strides: [2, 2], pads: [1, 1, 1, 1] };
    const wv = values(prod(c.w), 5);
    const bytes = buildModel({
      inputs: [
        { name: 'flat', shape: [60] },
        { name: 'shape', elemType: 7, shape: [4] },
      ],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Reshape', inputs: ['flat', 'shape'], outputs: ['x'] },
        { op: 'ConvTranspose', inputs: ['x', 'w'], outputs: ['y'], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
      ],
      initializers: { w: tensor(wv, c.w) },
    });
    const { graph } = importOnnx(bytes, { file: 'dynamic-convtranspose.onnx' });
    // one signature (feeds of the same shapes), so one plan runs both image sizes
    const session = new Session(graph);
    for (const shape of [[1, 2, 5, 6], [1, 2, 3, 10], [1, 2, 5, 6]]) {
      const xv = values(60, shape[3]);
      const want = reference({ ...c, x: shape }, xv, wv, null);
      const got = (await session.run('y', { flat: tensor(xv, [60]), shape: tensor(shape, [4], 'int64') })) as TensorValue;
      expect(got.shape).toEqual(want.shape);
      const far = Array.from(got.data).filter((v, i) => Math.abs(v - want.data[i]) > 1e-4 * (1 + Math.abs(want.data[i]))).length;
      expect({ shape, far }).toEqual({ shape, far: 0 });
    }
    expect(session.compileCount).toBe(1);
  });
});

