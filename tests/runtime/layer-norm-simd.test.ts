import { Graph, Session, TensorValue, ops, setSimdKernels, tensor } from 'graphc';

/**
 * float32 layerNorm and rmsNorm over the last axis on WebAssembly SIMD (wasm-layer-norm.ts) against
 * the JavaScript kernel and a float64 reference: statistics in float64, the output within a few
 * float32 ulps, a large mean beside a small spread included; other layouts keep the JavaScript kernel.
 */

afterEach(() => setSimdKernels(true));

async function both(shape: number[], data: Float32Array, scale: TensorValue, bias: TensorValue | null, axis = -1, op = 'layerNorm') {
  const g = new Graph();
  const x = g.placeholder('float32', shape, 'x');
  const inputs = [x, g.constant(scale), ...(bias ? [g.constant(bias)] : [])];
  const node = g.addNode(op, inputs, { axis, epsilon: 1e-5 });
  const run = async (simd: boolean) => {
    setSimdKernels(simd);
    const s = new Session(g);
    const out = await s.run(node.outputTensors, { x: tensor(data, shape) });
    s.close();
    return out.map((t) => Float32Array.from(t.data));
  };
  const results = { simd: await run(true), js: await run(false) };
  setSimdKernels(true);
  return results;
}

const f32 = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));

describe('layerNorm on WebAssembly SIMD', () => {
  test.each([
    [1024, 256, 0, 3],
    [300, 64, 1000, 0.01], // a large mean beside a small spread: the deviations are taken in float64
    [8, 4096, -5, 2],
  ])('%i rows of %i (mean %d, spread %d): within a few ulps of float64, the statistics as the JavaScript kernel', async (rows, len, offset, spread) => {
    const data = f32(rows * len, (i) => offset + Math.sin(i * 1.37) * spread);
    const scale = tensor(f32(len, (i) => 1 + Math.sin(i) * 0.3), [len]);
    const bias = tensor(f32(len, (i) => Math.cos(i) * 0.1), [len]);
    const { simd, js } = await both([rows, len], data, scale, bias);
    let differs = false;
    for (let r = 0; r < rows; r++) {
      const row = Array.from(data.subarray(r * len, (r + 1) * len));
      const mean = row.reduce((s, v) => s + v, 0) / len;
      const inv = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / len + 1e-5);
      expect(Math.abs(simd[1][r] - mean)).toBeLessThanOrEqual(Math.abs(mean) * 2 ** -23 + 1e-30);
      expect(Math.abs(simd[2][r] - inv)).toBeLessThanOrEqual(inv * 2 ** -22);
      for (let j = 0; j < len; j++) {
        const want = (row[j] - mean) * inv * scale.data[j] + bias.data[j];
        const got = simd[0][r * len + j];
        if (!(Math.abs(got - want) <= 4 * 2 ** -23 * (Math.abs(want) + Math.abs(bias.data[j]) + 1))) throw new Error(`row ${r} column ${j}: ${got}, want ${want}`);
        differs ||= got !== js[0][r * len + j];
      }
    }
    expect(differs).toBe(true);
  });

  test('no bias, and NaN in a row: the row is NaN, the others are not', async () => {
    const [rows, len] = [64, 32];
    const data = f32(rows * len, (i) => (i === 5 ? NaN : Math.sin(i)));
    const { simd, js } = await both([rows, len], data, tensor(new Float32Array(len).fill(2), [len]), null);
    expect(simd[0].subarray(0, len).every((v) => Number.isNaN(v))).toBe(true);
    for (let i = len; i < rows * len; i++) expect(Math.abs(simd[0][i] - js[0][i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(js[0][i])));
  });

  test.each([
    [1024, 256, 0, 3],
    [300, 64, 1000, 0.01],
    [8, 4096, -5, 2],
  ])('rmsNorm: %i rows of %i (mean %d, spread %d): no mean subtracted, within a few ulps of float64', async (rows, len, offset, spread) => {
    const data = f32(rows * len, (i) => offset + Math.sin(i * 1.37) * spread);
    const scale = tensor(f32(len, (i) => 1 + Math.sin(i) * 0.3), [len]);
    const { simd, js } = await both([rows, len], data, scale, null, -1, 'rmsNorm');
    expect(simd).toHaveLength(2);
    let differs = false;
    for (let r = 0; r < rows; r++) {
      const row = Array.from(data.subarray(r * len, (r + 1) * len));
      const inv = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / len + 1e-5);
      expect(Math.abs(simd[1][r] - inv)).toBeLessThanOrEqual(inv * 2 ** -22);
      expect(Math.abs(js[1][r] - inv)).toBeLessThanOrEqual(inv * 2 ** -22);
      for (let j = 0; j < len; j++) {
        const want = row[j] * inv * scale.data[j];
        const got = simd[0][r * len + j];
        if (!(Math.abs(got - want) <= 4 * 2 ** -23 * (Math.abs(want) + 1e-30))) throw new Error(`row ${r} column ${j}: ${got}, want ${want}`);
        if (!(Math.abs(js[0][r * len + j] - want) <= 2 * 2 ** -23 * (Math.abs(want) + 1e-30))) throw new Error(`js row ${r} column ${j}: ${js[0][r * len + j]}, want ${want}`);
        differs ||= got !== js[0][r * len + j];
      }
    }
    expect(differs).toBe(true);
  });

  test('a row length not a multiple of 4, a broadcast scale and an earlier axis keep the JavaScript kernel (the same bits)', async () => {
    const cases: [number[], number, TensorValue][] = [
      [[100, 30], -1, tensor(f32(30, (i) => 1 + i / 30), [30])],
      [[100, 32], -1, tensor([1.5], [1])],
      [[16, 8, 16], 1, tensor(f32(128, (i) => 1 + i / 128), [8, 16])],
    ];
    for (const [shape, axis, scale] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      for (const op of ['layerNorm', 'rmsNorm']) {
        const { simd, js } = await both(shape, f32(n, (i) => Math.sin(i * 0.7)), scale, null, axis, op);
        simd.forEach((t, k) => expect(Array.from(t)).toEqual(Array.from(js[k])));
      }
    }
  });
});
