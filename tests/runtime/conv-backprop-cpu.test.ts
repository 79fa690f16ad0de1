import { Graph, Padding, Session, gradients, ops, tensor } from 'graphc';

/**
 * The cpu input gradient of a stride-1 float32 convolution runs as a forward convolution of dy by
 * the turned filter (no col2im); float64 keeps the column-buffer path. The two agree to float32
 * rounding on every stride-1 geometry: SAME and VALID, explicit and lopsided pads, dilations, even
 * and odd windows; a strided one (the column path in both dtypes) is checked alongside.
 */

function values(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 1.5);
}

async function inputGradient(dtype: 'float32' | 'float64', xShape: number[], fShape: number[], strides: number, padding: Padding, dilations: number): Promise<Float64Array> {
  const g = new Graph();
  const x = g.placeholder(dtype, xShape, 'x');
  const w = g.constant(tensor(values(fShape.reduce((a, b) => a * b, 1), 2), fShape, dtype), 'w');
  const y = ops.conv2d(x, w, strides, padding, { dilations });
  const dy = g.constant(tensor(values(y.shape.reduce((a, b) => a! * b!, 1)!, 3), y.shape as number[], dtype), 'dy');
  const [dx] = gradients(ops.reduceSum(ops.mul(y, dy)), [x]);
  const out = await new Session(g).run(dx, { x: tensor(values(xShape.reduce((a, b) => a * b, 1), 1), xShape, dtype) });
  return Float64Array.from(out.data as ArrayLike<number>);
}

test.each<[string, number[], number[], number, Padding, number]>([
  ['3x3 SAME', [2, 9, 8, 5], [3, 3, 5, 7], 1, 'SAME', 1],
  ['3x3 VALID', [2, 9, 8, 5], [3, 3, 5, 7], 1, 'VALID', 1],
  ['2x4 SAME (even window, lopsided pads)', [1, 7, 9, 3], [2, 4, 3, 4], 1, 'SAME', 1],
  ['explicit pads', [1, 8, 8, 4], [3, 3, 4, 6], 1, [[2, 0], [1, 2]], 1],
  ['3x3 dilated by 2, SAME', [1, 11, 10, 4], [3, 3, 4, 5], 1, 'SAME', 2],
  ['5x5, one input channel', [3, 12, 12, 1], [5, 5, 1, 8], 1, 'SAME', 1],
  ['strided (the column path)', [1, 9, 9, 4], [3, 3, 4, 6], 2, 'SAME', 1],
])('%s: float32 input gradient equals float64 to float32 rounding', async (_label, xShape, fShape, strides, padding, dilations) => {
  const got = await inputGradient('float32', xShape, fShape, strides, padding, dilations);
  const want = await inputGradient('float64', xShape, fShape, strides, padding, dilations);
  expect(got.length).toBe(want.length);
  const scale = Math.max(...Array.from(want, Math.abs));
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(2e-6 * scale);
});
