import { Graph, Session, TensorValue, checkGradients, gradients, ops, tensor } from 'graphc';
import { gridSampleFromPrimitives } from '../../../packages/graph/src/gradients/grid-sample';
import { values } from './helpers';

/**
 * Gradients of the detection and sampling ops from ONNX (float64, central differences), and the
 * primitive-op forwards the gradient builders differentiate, against the ops' kernels.
 */

type GridOptions = { mode: 'linear' | 'nearest' | 'cubic'; paddingMode: 'zeros' | 'border' | 'reflection'; alignCorners: boolean };

/** Grid coordinates in [-1.3, 1.3] (some outside the image), kept away from the kinks of the padding and of the tap positions. */
function gridValues(shape: number[], seed: number, spatial: number[], options: GridOptions): TensorValue {
  const v = values(shape, seed, -1.3, 1.3);
  const r = spatial.length;
  for (let i = 0; i < v.data.length; i++) {
    const len = spatial[r - 1 - (i % r)];
    const toPixel = (g: number) => (options.alignCorners ? ((g + 1) / 2) * (len - 1) : ((g + 1) * len - 1) / 2);
    const toGrid = (x: number) => (options.alignCorners ? (2 * x) / (len - 1) - 1 : (2 * x + 1) / len - 1);
    // nudge pixel coordinates within 0.05 of an integer or a half (rounding, floor, borders) off them
    let x = toPixel(v.data[i]);
    const frac = x * 2 - Math.floor(x * 2);
    if (frac < 0.1) x += 0.05;
    else if (frac > 0.9) x -= 0.05;
    v.data[i] = toGrid(x);
  }
  return v;
}

const GRID_CASES: [string, number[], number[], GridOptions][] = [];
for (const mode of ['linear', 'nearest', 'cubic'] as const) {
  for (const paddingMode of ['zeros', 'border', 'reflection'] as const) {
    for (const alignCorners of [false, true]) GRID_CASES.push([`${mode}, ${paddingMode}${alignCorners ? ', alignCorners' : ''}`, [2, 2, 4, 3], [2, 3, 2, 2], { mode, paddingMode, alignCorners }]);
  }
}
GRID_CASES.push(['linear, zeros, one spatial axis', [2, 3, 5], [2, 4, 1], { mode: 'linear', paddingMode: 'zeros', alignCorners: false }]);
GRID_CASES.push(['linear, reflection, three spatial axes', [1, 2, 3, 4, 3], [1, 2, 2, 2, 3], { mode: 'linear', paddingMode: 'reflection', alignCorners: false }]);
GRID_CASES.push(['cubic, border, three spatial axes, alignCorners', [1, 1, 3, 3, 4], [1, 2, 1, 2, 3], { mode: 'cubic', paddingMode: 'border', alignCorners: true }]);

describe('gridSample', () => {
  test.each(GRID_CASES)('%s: the primitive-op forward is the kernel', async (_label, xs, gs, options) => {
    const g = new Graph({ makeDefault: false });
    const x = g.placeholder('float64', xs, 'x');
    const grid = g.placeholder('float64', gs, 'grid');
    const y = ops.gridSample(x, grid, options);
    const z = gridSampleFromPrimitives(x, grid, y.node.attrs);
    const s = new Session(g);
    const feeds = { x: values(xs, 3), grid: gridValues(gs, 4, xs.slice(2), options) };
    const [a, b] = await s.run([y, z], feeds);
    s.close();
    expect(b.shape).toEqual(a.shape);
    expect(Math.max(...Array.from(a.data, (v, i) => Math.abs(v - b.data[i])))).toBeLessThan(1e-12);
    expect(Array.from(a.data).some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  test.each(GRID_CASES)('%s: gradients w.r.t. x and grid', async (_label, xs, gs, options) => {
    const r = await checkGradients((x, grid) => ops.gridSample(x, grid, options), [values(xs, 5), gridValues(gs, 6, xs.slice(2), options)]);
    expect(Array.from(r.symbolic[0].data).some((v) => v !== 0)).toBe(true);
    // nearest is piecewise constant in the grid; the interpolating modes are not
    expect(Array.from(r.symbolic[1].data).some((v) => v !== 0)).toBe(options.mode !== 'nearest');
  });

  test('second derivatives stay closed: the gradient graph is itself differentiable', async () => {
    const opts: GridOptions = { mode: 'cubic', paddingMode: 'zeros', alignCorners: false };
    await checkGradients(
      (x, grid) => {
        const [dx] = gradients(ops.reduceSum(ops.square(ops.gridSample(x, grid, opts))), [x]);
        return dx;
      },
      [values([1, 1, 3, 3], 7), gridValues([1, 2, 2, 2], 8, [3, 3], opts)],
    );
  });
});

describe('maxUnpool', () => {
  test('gradient w.r.t. x: dy gathered at the indices, with and without a padded output', async () => {
    const idx = tensor([0, 3, 9, 14, 16, 19, 26, 31], [1, 2, 2, 2], 'int64');
    const r = await checkGradients((x) => ops.square(ops.maxUnpool(x, idx, [1, 2, 4, 4])), [values([1, 2, 2, 2], 9)]);
    expect(Array.from(r.symbolic[0].data).every((v) => v !== 0)).toBe(true);
    const padded = tensor([4, 0, 8, 2], [1, 1, 2, 2], 'int32');
    await checkGradients((x) => ops.mul(ops.maxUnpool(x, padded, [1, 1, 4, 5], [1, 1, 3, 3]), values([1, 1, 4, 5], 10)), [values([1, 1, 2, 2], 11)]);
  });
});

describe('roiAlign', () => {
  // inside, partly more than a pixel outside, across the last row and column, smaller than a pixel, reversed
  const rois = tensor([0.4, 0.3, 4.6, 3.7, -2.6, 1.2, 2.3, 6.1, 3.3, 2.2, 6.8, 5.9, 1.1, 1.3, 1.5, 1.6, 3.9, 3.1, 1.2, 0.7], [5, 4], 'float64');
  const batch = tensor([1, 0, 1, 0, 1], [5], 'int64');
  const CASES: [string, Parameters<typeof ops.roiAlign>[3]][] = [
    ['avg, half_pixel, samplingRatio 2', { outputHeight: 2, outputWidth: 3, samplingRatio: 2 }],
    ['avg, output_half_pixel, adaptive sampling, spatialScale', { outputHeight: 3, outputWidth: 2, coordinateTransformationMode: 'output_half_pixel', spatialScale: 0.8 }],
    ['max, half_pixel, adaptive sampling', { mode: 'max', outputHeight: 2, outputWidth: 2 }],
    ['max, output_half_pixel, samplingRatio 3', { mode: 'max', outputHeight: 2, outputWidth: 3, samplingRatio: 3, coordinateTransformationMode: 'output_half_pixel' }],
  ];

  test.each(CASES)('gradient w.r.t. x: %s', async (_, options) => {
    const weights = values([5, 3, options!.outputHeight!, options!.outputWidth!], 41);
    const r = await checkGradients((x) => ops.mul(ops.roiAlign(x, rois, batch, options), weights), [values([2, 3, 5, 6], 42)]);
    expect(Array.from(r.symbolic[0].data).filter((v) => v !== 0).length).toBeGreaterThan(10);
  });

  test('second derivative through avg (roiAlignGrad transposes back to roiAlign); max mode says it has none', async () => {
    const options = CASES[0][1];
    await checkGradients((x) => gradients(ops.reduceSum(ops.mul(ops.square(ops.roiAlign(x, rois, batch, options)), 0.5)), [x])[0], [values([2, 3, 5, 6], 43)]);
    const g = new Graph();
    const x = g.placeholder('float64', [2, 3, 5, 6], 'x');
    const [dx] = gradients(ops.reduceSum(ops.square(ops.roiAlign(x, rois, batch, { mode: 'max' }))), [x]);
    expect(() => gradients(ops.reduceSum(ops.square(dx)), [x])).toThrow(/roiAlign in max mode/);
  });
});
