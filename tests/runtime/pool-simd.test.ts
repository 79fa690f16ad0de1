import { Graph, Padding, Session, gradients, ops, tensor, setSimdKernels } from 'graphc';
import { maxPoolArgmaxSimd, maxPoolGradSimd, maxPoolSimd } from '../../packages/runtime/src/backends/cpu/wasm-pool';

/**
 * float32 max pooling and its gradient on WebAssembly SIMD give the JavaScript kernels' exact bits:
 * NaN cells (first in a window or later), signed zeros, infinities and ties, over whole windows,
 * windows cut by SAME padding, overlapping windows and uneven strides.
 */

const SPECIAL = [0, -0, 1, -1, NaN, Infinity, -Infinity, 2, 2, -0, 3.4028235e38, 1e-45];

const show = (a: ArrayLike<number>): string[] => Array.from(a, (v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v)));

async function poolAndGradient(simd: boolean, shape: number[], k: number | [number, number], s: number | [number, number], padding: Padding) {
  expect(setSimdKernels(simd)).toBe(simd);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? SPECIAL[(i / 7) % SPECIAL.length] : Math.round(Math.sin(i) * 4) / 2));
  const g = new Graph();
  const x = g.placeholder('float32', shape, 'x');
  const y = ops.maxPool(x, k, s, padding);
  const dy = g.constant(tensor(Float32Array.from({ length: y.shape.reduce((a, b) => a! * b!, 1)! }, (_, i) => (i % 9 === 4 ? -0 : i % 23 === 7 ? NaN : Math.cos(i))), y.shape as number[]));
  const [dx] = gradients(ops.reduceSum(ops.mul(y, dy)), [x]);
  const out = await new Session(g).run([y, dx], { x: tensor(data, shape) });
  setSimdKernels(true);
  return { y: show(out[0].data), dx: show(out[1].data) };
}

test.each<[string, number[], number | [number, number], number | [number, number], Padding]>([
  ['2x2 stride 2, VALID', [3, 12, 12, 16], 2, 2, 'VALID'],
  ['3x3 stride 1, SAME (cut windows, overlaps)', [2, 9, 9, 8], 3, 1, 'SAME'],
  ['3x3 stride 2, SAME, odd sizes', [2, 11, 10, 4], 3, 2, 'SAME'],
  ['2x3 window, strides 1 and 2', [1, 7, 8, 12], [2, 3], [1, 2], 'SAME'],
  // windows that do not overlap: whole ones on the unrolled kernels, cut ones on the general loops
  ['2x2 stride 2, SAME over odd sizes (cut windows beside whole ones)', [2, 9, 11, 8], 2, 2, 'SAME'],
  ['3x3 stride 3, VALID, rows and columns left over', [2, 10, 11, 4], 3, 3, 'VALID'],
  ['3x2 window, strides 3 and 2', [1, 9, 8, 12], [3, 2], [3, 2], 'VALID'],
])('%s: the same bits as the JavaScript kernels', async (_label, shape, k, s, padding) => {
  const simd = await poolAndGradient(true, shape, k, s, padding);
  const js = await poolAndGradient(false, shape, k, s, padding);
  expect(simd.y).toEqual(js.y);
  expect(simd.dx).toEqual(js.dx);
});

test('the SIMD kernels run for those pools, and decline channels that are not whole vectors', () => {
  const g = { n: 1, h: 4, w: 4, c: 8, kh: 2, kw: 2, sh: 2, sw: 2, dh: 1, dw: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, outH: 2, outW: 2 };
  const x = Float32Array.from({ length: 128 }, (_, i) => (i * 7) % 11);
  const out = new Float32Array(32);
  expect(maxPoolSimd(x, g, 2, 2, out)).toBe(true);
  // output pixel (0, 0), channel 3: the largest of the four cells' channel 3
  expect(out[3]).toBe(Math.max(x[3], x[11], x[35], x[43]));
  const argmax = new Int32Array(32);
  expect(maxPoolArgmaxSimd(x, g, 2, 2, argmax, 32)).toBe(true);
  expect(x[argmax[3]]).toBe(out[3]);
  // the gradient: dy lands on each window's maximum and nowhere else
  const dy = Float32Array.from({ length: 32 }, (_, i) => i + 1);
  const dx = new Float32Array(128).fill(NaN);
  expect(maxPoolGradSimd(x, dy, g, 2, 2, dx)).toBe(true);
  const expected = new Float32Array(128);
  argmax.forEach((at, o) => (expected[at] += dy[o]));
  expect(Array.from(dx)).toEqual(Array.from(expected));
  expect(maxPoolSimd(x.subarray(0, 96), { ...g, c: 6 }, 2, 2, new Float32Array(24))).toBe(false);
});
