import { Graph, Padding, Session, gradients, ops, tensor } from 'graphc';
import { inputGradientByPhases } from '../../packages/runtime/src/backends/cpu/kernels/nn/conv2d-backprop';

/**
 * The cpu input gradient of a float32 convolution runs as a forward convolution of dy by the turned
 * filter (no col2im; read as windows where the input channels are a multiple of 8); a strided one
 * as one such convolution per phase of dx (the pixels at one offset modulo the strides); float64
 * keeps the column-buffer path. The two agree to float32 rounding on every geometry: SAME and VALID,
 * explicit and lopsided pads, dilations, even and odd windows, strides that skip taps.
 */

function values(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 1.5);
}

async function inputGradient(dtype: 'float32' | 'float64', xShape: number[], fShape: number[], strides: number | [number, number], padding: Padding, dilations: number | [number, number]): Promise<Float64Array> {
  const g = new Graph();
  const x = g.placeholder(dtype, xShape, 'x');
  const w = g.constant(tensor(values(fShape.reduce((a, b) => a * b, 1), 2), fShape, dtype), 'w');
  const y = ops.conv2d(x, w, strides, padding, { dilations });
  const dy = g.constant(tensor(values(y.shape.reduce((a, b) => a! * b!, 1)!, 3), y.shape as number[], dtype), 'dy');
  const [dx] = gradients(ops.reduceSum(ops.mul(y, dy)), [x]);
  const out = await new Session(g).run(dx, { x: tensor(values(xShape.reduce((a, b) => a * b, 1), 1), xShape, dtype) });
  return Float64Array.from(out.data as ArrayLike<number>);
}

test.each<[string, number[], number[], number | [number, number], Padding, number | [number, number]]>([
  ['3x3 SAME', [2, 9, 8, 5], [3, 3, 5, 7], 1, 'SAME', 1],
  ['3x3 VALID', [2, 9, 8, 5], [3, 3, 5, 7], 1, 'VALID', 1],
  ['2x4 SAME (even window, lopsided pads)', [1, 7, 9, 3], [2, 4, 3, 4], 1, 'SAME', 1],
  ['explicit pads', [1, 8, 8, 4], [3, 3, 4, 6], 1, [[2, 0], [1, 2]], 1],
  ['3x3 dilated by 2, SAME', [1, 11, 10, 4], [3, 3, 4, 5], 1, 'SAME', 2],
  ['5x5, one input channel', [3, 12, 12, 1], [5, 5, 1, 8], 1, 'SAME', 1],
  ['strided: by phases', [1, 9, 9, 4], [3, 3, 4, 6], 2, 'SAME', 1],
  ['stride 2, 8 input channels: the phases read as windows', [2, 10, 9, 8], [3, 3, 8, 16], 2, 'SAME', 1],
  ['stride 3, 2x4 VALID: phases no tap reaches', [1, 11, 13, 4], [2, 4, 4, 6], 3, 'VALID', 1],
  ['strides 2 and 3, explicit pads', [2, 9, 10, 8], [3, 3, 8, 8], [2, 3], [[1, 1], [2, 1]], 1],
  ['stride 2, 1x1 (a projection shortcut: the column path)', [2, 8, 7, 16], [1, 1, 16, 8], 2, 'VALID', 1],
  ['stride 2, pads past the reach (phases read dy cropped)', [1, 8, 8, 8], [3, 3, 8, 4], 2, [[3, 0], [0, 3]], 1],
  ['stride 2, dilated (the column path)', [1, 11, 11, 8], [3, 3, 8, 4], 2, 'SAME', 2],
  ['8 input channels: the turned convolution read as windows', [2, 9, 7, 8], [3, 3, 8, 6], 1, 'SAME', 1],
  ['16 input channels, 2x3 lopsided pads, dilated 2 down the columns', [1, 10, 9, 16], [2, 3, 16, 5], 1, [[1, 0], [0, 2]], [2, 1]],
  ['8 input channels, pads past the reach (turned pads negative: the column path)', [1, 6, 6, 8], [3, 3, 8, 4], 1, [[3, 0], [0, 3]], 1],
])('%s: float32 input gradient equals float64 to float32 rounding', async (_label, xShape, fShape, strides, padding, dilations) => {
  const got = await inputGradient('float32', xShape, fShape, strides, padding, dilations);
  const want = await inputGradient('float64', xShape, fShape, strides, padding, dilations);
  expect(got.length).toBe(want.length);
  const scale = Math.max(...Array.from(want, Math.abs));
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(2e-6 * scale);
});

/**
 * Convolutions read their windows straight from the padded image (convByWindows: float32,
 * output channels a multiple of 8), and a single-channel image's filter gradient (and its forward
 * convolution where the windows do not apply) builds its columns tap by tap (tapMajorColumns).
 * Checked here against direct float64 loops, with blocks that cross images (the tap-major
 * forward's 256 pixels, the filter gradient's 14,563), rows whose last tile runs past the output
 * row, strided windows, a batch read as windows in chunks of images, and the geometries around
 * them (a single-channel strided row: the pixel-major im2col).
 */
describe('window-read and tap-major convolutions against direct loops', () => {
  type Geometry = { n: number; h: number; w: number; cin: number; kh: number; kw: number; cout: number; strides: [number, number]; dilations: [number, number]; pads: [[number, number], [number, number]] };

  /** conv2d and d(sum(conv2d * dy))/dfilter by direct float64 loops over explicit pads. */
  function direct(geo: Geometry, x: number[], f: number[], dy: number[]): { y: number[]; df: number[] } {
    const { n, h, w, cin, kh, kw, cout, strides: [sh, sw], dilations: [dh, dw], pads: [[top, bottom], [left, right]] } = geo;
    const outH = Math.floor((h + top + bottom - (kh - 1) * dh - 1) / sh) + 1;
    const outW = Math.floor((w + left + right - (kw - 1) * dw - 1) / sw) + 1;
    const y = new Array<number>(n * outH * outW * cout).fill(0);
    const df = new Array<number>(kh * kw * cin * cout).fill(0);
    for (let b = 0; b < n; b++)
      for (let oy = 0; oy < outH; oy++)
        for (let ox = 0; ox < outW; ox++)
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const [iy, ix] = [oy * sh - top + ky * dh, ox * sw - left + kx * dw];
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              for (let ci = 0; ci < cin; ci++) {
                const v = x[((b * h + iy) * w + ix) * cin + ci];
                const tap = ((ky * kw + kx) * cin + ci) * cout;
                for (let o = 0; o < cout; o++) {
                  const at = ((b * outH + oy) * outW + ox) * cout + o;
                  y[at] += v * f[tap + o];
                  df[tap + o] += v * dy[at];
                }
              }
            }
    return { y, df };
  }

  const one = (geo: Omit<Geometry, 'cin'>): Geometry => ({ ...geo, cin: 1 });
  const geometries: [string, Geometry][] = [
    ['1 channel, 3x3 SAME, 3 images of 13x11 (blocks cross images)', one({ n: 3, h: 13, w: 11, kh: 3, kw: 3, cout: 5, strides: [1, 1], dilations: [1, 1], pads: [[1, 1], [1, 1]] })],
    ['1 channel, 5x5 VALID, 8 outputs (read as windows)', one({ n: 2, h: 12, w: 14, kh: 5, kw: 5, cout: 8, strides: [1, 1], dilations: [1, 1], pads: [[0, 0], [0, 0]] })],
    ['1 channel, 2x4, lopsided pads wider than the window', one({ n: 2, h: 7, w: 9, kh: 2, kw: 4, cout: 3, strides: [1, 1], dilations: [1, 1], pads: [[2, 0], [5, 1]] })],
    ['1 channel, stride 2 and dilation 2 down the columns', one({ n: 2, h: 15, w: 10, kh: 3, kw: 3, cout: 4, strides: [2, 1], dilations: [2, 1], pads: [[1, 2], [1, 1]] })],
    ['1 channel, 15,000 output pixels, 16 outputs', one({ n: 5, h: 60, w: 50, kh: 3, kw: 3, cout: 16, strides: [1, 1], dilations: [1, 1], pads: [[1, 1], [1, 1]] })],
    ['1 channel, stride 2 along rows (the pixel-major path)', one({ n: 2, h: 9, w: 11, kh: 3, kw: 3, cout: 4, strides: [2, 2], dilations: [1, 1], pads: [[1, 1], [1, 1]] })],
    ['3 channels to 16, 3x3 SAME, rows of 7 (a last tile past the row)', { n: 2, h: 6, w: 7, cin: 3, kh: 3, kw: 3, cout: 16, strides: [1, 1], dilations: [1, 1], pads: [[1, 1], [1, 1]] }],
    ['16 channels to 24, 3x3 lopsided explicit pads, dilated 2 down the columns', { n: 2, h: 9, w: 10, cin: 16, kh: 3, kw: 3, cout: 24, strides: [1, 1], dilations: [2, 1], pads: [[3, 0], [0, 2]] }],
    ['5 channels to 8, 1x5 VALID', { n: 3, h: 4, w: 13, cin: 5, kh: 1, kw: 5, cout: 8, strides: [1, 1], dilations: [1, 1], pads: [[0, 0], [0, 0]] }],
    ['8 channels to 16, 3x3 stride 2 (read as windows; the last tile past the row)', { n: 2, h: 9, w: 11, cin: 8, kh: 3, kw: 3, cout: 16, strides: [2, 2], dilations: [1, 1], pads: [[1, 1], [1, 1]] }],
    ['16 channels to 8, 1x1 stride 2 (a projection shortcut)', { n: 3, h: 8, w: 7, cin: 16, kh: 1, kw: 1, cout: 8, strides: [2, 2], dilations: [1, 1], pads: [[0, 0], [0, 0]] }],
    ['3 channels to 8, 3x2 strides 2 down and 3 across, dilated 2 down, lopsided pads', { n: 2, h: 11, w: 13, cin: 3, kh: 3, kw: 2, cout: 8, strides: [2, 3], dilations: [2, 1], pads: [[2, 1], [0, 2]] }],
    ['4 images of 130x130x8 (read as windows three images at a time)', { n: 4, h: 130, w: 130, cin: 8, kh: 3, kw: 3, cout: 8, strides: [1, 1], dilations: [1, 1], pads: [[1, 1], [1, 1]] }],
  ];

  // the NCHW convolution (ONNX's Conv) runs through the same NHWC kernels
  test.each(geometries.filter(([, geo]) => geo.cout % 8 === 0))('%s, as an NCHW convolution', async (_label, geo) => {
    const { n, h, w, cin, kh, kw, cout } = geo;
    const x = values(n * h * w * cin, 1);
    const f = values(kh * kw * cin * cout, 2);
    const want = direct(geo, x, f, []).y;
    const g = new Graph();
    const nchw = Array.from({ length: x.length }, (_, i) => {
      const [b, c, p] = [Math.floor(i / (cin * h * w)), Math.floor(i / (h * w)) % cin, i % (h * w)];
      return x[(b * h * w + p) * cin + c];
    });
    const weights = Array.from({ length: f.length }, (_, i) => {
      const [m, c, t] = [Math.floor(i / (cin * kh * kw)), Math.floor(i / (kh * kw)) % cin, i % (kh * kw)];
      return f[(t * cin + c) * cout + m];
    });
    const [[top, bottom], [left, right]] = geo.pads;
    const y = ops.convNchw(g.constant(tensor(nchw, [n, cin, h, w])), g.constant(tensor(weights, [cout, cin, kh, kw])), null, {
      pads: [top, left, bottom, right],
      strides: geo.strides,
      dilations: geo.dilations,
    });
    const got = (await new Session(g).run(y)).data as Float32Array;
    const pixels = want.length / (n * cout);
    expect(got.length).toBe(want.length);
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
    for (let i = 0; i < got.length; i++) {
      const [b, m, p] = [Math.floor(i / (cout * pixels)), Math.floor(i / pixels) % cout, i % pixels];
      const expected = want[(b * pixels + p) * cout + m];
      if (!(Math.abs(got[i] - expected) <= 1e-5 * scale)) throw new Error(`element ${i}: got ${got[i]}, expected ${expected}`);
    }
  });

  test.each(geometries)('%s', async (_label, geo) => {
    const { n, h, w, cin, kh, kw, cout } = geo;
    const x = values(n * h * w * cin, 1);
    const f = values(kh * kw * cin * cout, 2);
    for (const dtype of ['float32', 'float64'] as const) {
      const g = new Graph();
      const px = g.placeholder(dtype, [n, h, w, cin], 'x');
      const y = ops.conv2d(px, g.constant(tensor(f, [kh, kw, cin, cout], dtype)), geo.strides, geo.pads, { dilations: geo.dilations });
      const dy = values(y.shape.reduce((a, b) => a! * b!, 1)!, 3);
      const [df] = gradients(ops.reduceSum(ops.mul(y, g.constant(tensor(dy, y.shape as number[], dtype)))), [y.node.inputs[1]]);
      const [gotY, gotDf] = await new Session(g).run([y, df], { x: tensor(x, [n, h, w, cin], dtype) });
      const want = direct(geo, x, f, dy);
      const close = (got: ArrayLike<number>, expected: number[], tolerance: number): void => {
        expect(got.length).toBe(expected.length);
        const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
        for (let i = 0; i < expected.length; i++) if (!(Math.abs(got[i] - expected[i]) <= tolerance * scale)) throw new Error(`${dtype} element ${i}: got ${got[i]}, expected ${expected[i]}`);
      };
      const tolerance = dtype === 'float32' ? 1e-5 : 1e-12;
      close(gotY.data as ArrayLike<number>, want.y, tolerance);
      close(gotDf.data as ArrayLike<number>, want.df, tolerance * 10);
    }
  });
});

/**
 * Depthwise convolutions' gradients on SIMD (float32, multiplier 1, channels a multiple of 4: the
 * input gradient scattered back tap by tap, the filter gradient summed per tap in a register)
 * against the float64 loops, over strides, dilations, pads and a multiplier of 2 (the loops in both).
 */
describe('depthwise gradients: float32 (SIMD) against float64 (loops)', () => {
  async function depthwiseGradients(dtype: 'float32' | 'float64', xShape: number[], fShape: number[], strides: number | [number, number], padding: Padding, dilations: number | [number, number]): Promise<Float64Array[]> {
    const g = new Graph();
    const x = g.placeholder(dtype, xShape, 'x');
    const w = g.placeholder(dtype, fShape, 'w');
    const y = ops.depthwiseConv2d(x, w, strides, padding, { dilations });
    const dy = g.constant(tensor(values(y.shape.reduce((a, b) => a! * b!, 1)!, 3), y.shape as number[], dtype), 'dy');
    const [dx, dw] = gradients(ops.reduceSum(ops.mul(y, dy)), [x, w]);
    const out = await new Session(g).run([dx, dw], {
      x: tensor(values(xShape.reduce((a, b) => a * b, 1), 1), xShape, dtype),
      w: tensor(values(fShape.reduce((a, b) => a * b, 1), 2), fShape, dtype),
    });
    return out.map((t) => Float64Array.from(t.data as ArrayLike<number>));
  }

  test.each<[string, number[], number[], number | [number, number], Padding, number | [number, number]]>([
    ['3x3 SAME, 8 channels', [2, 9, 8, 8], [3, 3, 8, 1], 1, 'SAME', 1],
    ['3x3 stride 2 SAME, 12 channels', [2, 11, 10, 12], [3, 3, 12, 1], 2, 'SAME', 1],
    ['5x5 VALID, strides 2 and 1', [1, 12, 13, 4], [5, 5, 4, 1], [2, 1], 'VALID', 1],
    ['3x3 dilated by 2, lopsided explicit pads', [1, 10, 11, 8], [3, 3, 8, 1], 1, [[2, 0], [1, 3]], 2],
    ['2x4 stride 3, windows apart', [2, 9, 13, 4], [2, 4, 4, 1], 3, 'SAME', 1],
    ['multiplier 2 (the loops)', [1, 7, 7, 4], [3, 3, 4, 2], 1, 'SAME', 1],
  ])('%s', async (_label, xShape, fShape, strides, padding, dilations) => {
    const got = await depthwiseGradients('float32', xShape, fShape, strides, padding, dilations);
    const want = await depthwiseGradients('float64', xShape, fShape, strides, padding, dilations);
    got.forEach((g, t) => {
      expect(g.length).toBe(want[t].length);
      const scale = want[t].reduce((m, v) => Math.max(m, Math.abs(v)), 1);
      for (let i = 0; i < g.length; i++) if (!(Math.abs(g[i] - want[t][i]) <= 1e-5 * scale)) throw new Error(`${t === 0 ? 'dx' : 'dw'} element ${i}: ${g[i]} against ${want[t][i]}`);
    });
  });
});

/**
 * The strided input gradient by phases itself (the op falls back to col2im where it declines, so the
 * op-level checks above cannot tell the two apart): which geometries it takes, and its dx against
 * direct float64 loops.
 */
describe('a strided input gradient by phases', () => {
  type Case = { n: number; h: number; w: number; cin: number; kh: number; kw: number; cout: number; sh: number; sw: number; pads: [number, number, number, number]; dh?: number };
  test.each<[string, Case, boolean]>([
    ['3x3 stride 2, SAME-like pads', { n: 2, h: 10, w: 9, cin: 8, kh: 3, kw: 3, cout: 16, sh: 2, sw: 2, pads: [0, 1, 1, 1] }, true],
    ['2x4 stride 3: phases no tap reaches', { n: 1, h: 11, w: 13, cin: 4, kh: 2, kw: 4, cout: 6, sh: 3, sw: 3, pads: [0, 0, 0, 0] }, true],
    ['strides 2 and 3, explicit pads', { n: 2, h: 9, w: 10, cin: 3, kh: 3, kw: 3, cout: 8, sh: 2, sw: 3, pads: [1, 1, 2, 1] }, true],
    ['1x1 stride 2: declined (col2im measured faster)', { n: 2, h: 8, w: 7, cin: 16, kh: 1, kw: 1, cout: 8, sh: 2, sw: 2, pads: [0, 0, 0, 0] }, false],
    ['1x3 stride 2 across, 1 down', { n: 2, h: 5, w: 9, cin: 8, kh: 1, kw: 3, cout: 8, sh: 1, sw: 2, pads: [0, 0, 1, 1] }, true],
    ['5x5 stride 2, pad 2 each side', { n: 1, h: 12, w: 11, cin: 8, kh: 5, kw: 5, cout: 8, sh: 2, sw: 2, pads: [2, 2, 2, 2] }, true],
    ['pads past the reach, and phases that start inside dy (cropped)', { n: 1, h: 8, w: 8, cin: 8, kh: 3, kw: 3, cout: 4, sh: 2, sw: 2, pads: [3, 0, 0, 3] }, true],
    ['dilated rows: declined', { n: 1, h: 11, w: 11, cin: 8, kh: 3, kw: 3, cout: 4, sh: 2, sw: 2, pads: [2, 2, 2, 2], dh: 2 }, false],
    ['pads 5 above a 2x2 window of stride 3 (dy cropped by 2)', { n: 1, h: 4, w: 4, cin: 8, kh: 2, kw: 2, cout: 4, sh: 3, sw: 3, pads: [5, 0, 0, 0] }, true],
    ['a row no window reaches but through its padding: declined', { n: 1, h: 1, w: 6, cin: 8, kh: 2, kw: 2, cout: 4, sh: 2, sw: 2, pads: [2, 0, 0, 0] }, false],
  ])('%s', (_label, c, takes) => {
    const { n, h, w, cin, kh, kw, cout, sh, sw, pads: [top, bottom, left, right] } = c;
    const dh = c.dh ?? 1;
    const outH = Math.floor((h + top + bottom - (kh - 1) * dh - 1) / sh) + 1;
    const outW = Math.floor((w + left + right - kw) / sw) + 1;
    const g = { n, h, w, c: cin, kh, kw, sh, sw, dh, dw: 1, padTop: top, padBottom: bottom, padLeft: left, padRight: right, outH, outW };
    const dy = Float32Array.from(values(n * outH * outW * cout, 4));
    const filter = Float32Array.from(values(kh * kw * cin * cout, 5));
    const dx = new Float32Array(n * h * w * cin).fill(NaN);
    const took = inputGradientByPhases({ dtype: 'float32', shape: [n, outH, outW, cout], data: dy }, { dtype: 'float32', shape: [kh, kw, cin, cout], data: filter }, g, dx);
    expect(took).toBe(takes);
    if (!took) return;
    const want = new Float64Array(dx.length);
    for (let b = 0; b < n; b++)
      for (let oy = 0; oy < outH; oy++)
        for (let ox = 0; ox < outW; ox++)
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const [iy, ix] = [oy * sh - top + ky * dh, ox * sw - left + kx];
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              for (let ci = 0; ci < cin; ci++)
                for (let co = 0; co < cout; co++) want[((b * h + iy) * w + ix) * cin + ci] += dy[((b * outH + oy) * outW + ox) * cout + co] * filter[((ky * kw + kx) * cin + ci) * cout + co];
            }
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
    for (let i = 0; i < want.length; i++) if (!(Math.abs(dx[i] - want[i]) <= 1e-5 * scale)) throw new Error(`dx element ${i}: ${dx[i]} against ${want[i]}`);
  });
});
