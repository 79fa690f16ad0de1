import { Graph, Session, TensorValue, ops, setSimdKernels, tensor } from 'graphc';

/**
 * float32 sums and means over the middle axes of [B, ..., C] (a global average pool over NHWC) run
 * on WebAssembly SIMD rows (sumRowsSimd), each image's pixels added into its channels in float64, in
 * the JavaScript loop's order: the same bits as with the SIMD kernels off.
 */

function values(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 8 - 4;
  });
}

async function reduce(op: 'reduceSum' | 'reduceMean', shape: number[], axes: number[], keepDims: boolean, simd: boolean): Promise<TensorValue> {
  setSimdKernels(simd);
  try {
    const g = new Graph();
    const x = g.placeholder('float32', shape, 'x');
    const y = op === 'reduceSum' ? ops.reduceSum(x, axes, keepDims) : ops.reduceMean(x, axes, keepDims);
    return (await new Session(g).run(y, { x: tensor(values(shape.reduce((a, b) => a * b, 1), 9), shape) })) as TensorValue;
  } finally {
    setSimdKernels(true);
  }
}

const CASES: [string, 'reduceSum' | 'reduceMean', number[], number[], boolean][] = [
  ['a global average pool of a batch', 'reduceMean', [3, 16, 16, 32], [1, 2], false],
  ['kept dims', 'reduceMean', [2, 12, 12, 64], [1, 2], true],
  ['one image: every row into the channels', 'reduceSum', [1, 32, 32, 16], [1, 2], false],
  ['the leading axes summed', 'reduceSum', [64, 128], [0], false],
  ['channels not in whole vectors (JavaScript either way)', 'reduceMean', [2, 40, 40, 6], [1, 2], false],
  ['too few values per image (JavaScript either way)', 'reduceMean', [4, 4, 4, 8], [1, 2], false],
];

describe('sums over the middle axes on SIMD rows', () => {
  test.each(CASES)('%s: the same bits as the JavaScript loop', async (_label, op, shape, axes, keepDims) => {
    const simd = await reduce(op, shape, axes, keepDims, true);
    const js = await reduce(op, shape, axes, keepDims, false);
    expect(simd.shape).toEqual(js.shape);
    const differing = Array.from(simd.data).filter((v, i) => !Object.is(v, js.data[i])).length;
    expect(differing).toBe(0);
    // and the values are the sums: image 0's channel 0 summed directly
    if (axes.length === 2 && !keepDims) {
      const x = values(shape.reduce((a, b) => a * b, 1), 9);
      const [, h, w, c] = shape;
      let s = 0;
      for (let p = 0; p < h * w; p++) s += x[p * c];
      const want = op === 'reduceMean' ? s / (h * w) : s;
      expect(Math.abs(simd.data[0] - want)).toBeLessThan(1e-5 * (1 + Math.abs(want)));
    }
  });
});
