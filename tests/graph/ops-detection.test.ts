import { Graph, Session, ShapeError, SymbolicTensor, TensorValue, applyOp, ops, tensor } from 'graphc';

/** CPU kernels of the detection and sampling ops against hand-computed values. */

type Feeds = Record<string, TensorValue>;

async function run(t: SymbolicTensor, feeds: Feeds = {}): Promise<TensorValue> {
  return new Session(t.graph).run(t, feeds);
}

const values = (v: TensorValue): number[] => Array.from(v.data as ArrayLike<number>);

describe('nonMaxSuppression', () => {
  // ONNX's suppress_by_IOU boxes: three overlapping near x = 0, two near x = 10, one at x = 100
  const boxes = [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101];
  const scores = [0.9, 0.75, 0.6, 0.95, 0.5, 0.3];

  async function nms(b: number[], s: number[], max: number, iou: number, options: { scoreThreshold?: number; centerPointBox?: boolean; classes?: number } = {}) {
    const g = new Graph();
    const classes = options.classes ?? 1;
    const count = b.length / 4;
    const bx = g.placeholder('float32', [1, count, 4], 'boxes');
    const sc = g.placeholder('float32', [1, classes, count], 'scores');
    const out = ops.nonMaxSuppression(bx, sc, max, iou, { scoreThreshold: options.scoreThreshold, centerPointBox: options.centerPointBox });
    expect(out.dtype).toBe('int64');
    expect(out.shape).toEqual([null, 3]);
    const v = await run(out, { boxes: tensor(b, [1, count, 4]), scores: tensor(s, [1, classes, count]) });
    return { shape: v.shape, rows: values(v) };
  }

  test('greedy by score: overlapping boxes (IOU 0.82) are suppressed, disjoint ones kept, up to the max', async () => {
    expect(await nms(boxes, scores, 3, 0.5)).toEqual({ shape: [3, 3], rows: [0, 0, 3, 0, 0, 0, 0, 0, 5] });
    expect(await nms(boxes, scores, 2, 0.5)).toEqual({ shape: [2, 3], rows: [0, 0, 3, 0, 0, 0] });
    // a threshold above every IOU keeps all boxes, by decreasing score
    expect(await nms(boxes, scores, 10, 0.9)).toEqual({ shape: [6, 3], rows: [0, 0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 4, 0, 0, 5] });
  });

  test('empty selections: max 0, or a score threshold above every score', async () => {
    expect(await nms(boxes, scores, 0, 0.5)).toEqual({ shape: [0, 3], rows: [] });
    expect(await nms(boxes, scores, 3, 0.5, { scoreThreshold: 0.95 })).toEqual({ shape: [0, 3], rows: [] });
    // strictly above the score threshold: 0.9 and 0.95 pass 0.75, box 1 (0.75 itself) does not
    expect(await nms(boxes, scores, 3, 0.5, { scoreThreshold: 0.75 })).toEqual({ shape: [2, 3], rows: [0, 0, 3, 0, 0, 0] });
  });

  test('ties: equal scores are taken by increasing box index; IOU equal to the threshold does not suppress', async () => {
    const disjoint = [0, 0, 1, 1, 0, 2, 1, 3, 0, 4, 1, 5];
    expect(await nms(disjoint, [0.5, 0.5, 0.5], 2, 0)).toEqual({ shape: [2, 3], rows: [0, 0, 0, 0, 0, 1] });
    // box 1 covers half of box 0: IOU = 1 / 2 exactly
    const halves = [0, 0, 1, 2, 0, 0, 1, 1];
    expect(await nms(halves, [0.9, 0.8], 5, 0.5)).toEqual({ shape: [2, 3], rows: [0, 0, 0, 0, 0, 1] });
    expect(await nms(halves, [0.9, 0.8], 5, 0.49)).toEqual({ shape: [1, 3], rows: [0, 0, 0] });
    // boxes that only share an edge never suppress, even at threshold 0
    expect(await nms([0, 0, 1, 1, 0, 1, 1, 2], [0.9, 0.8], 5, 0)).toEqual({ shape: [2, 3], rows: [0, 0, 0, 0, 0, 1] });
  });

  test('flipped corners and center-point boxes select as the corner form does; zero-area boxes never suppress', async () => {
    const flipped = [1, 1, 0, 0, 1, 1.1, 0, 0.1, 0, 0.9, 1, -0.1, 1, 11, 0, 10, 1, 10.1, 0, 11.1, 1, 101, 0, 100];
    expect(await nms(flipped, scores, 3, 0.5)).toEqual({ shape: [3, 3], rows: [0, 0, 3, 0, 0, 0, 0, 0, 5] });
    const center = [0.5, 0.5, 1, 1, 0.5, 0.6, 1, 1, 0.5, 0.4, 1, 1, 0.5, 10.5, 1, 1, 0.5, 10.6, 1, 1, 0.5, 100.5, 1, 1];
    expect(await nms(center, scores, 3, 0.5, { centerPointBox: true })).toEqual({ shape: [3, 3], rows: [0, 0, 3, 0, 0, 0, 0, 0, 5] });
    expect(await nms([0, 0, 0, 0, 0, 0, 0, 0], [0.9, 0.8], 5, 0)).toEqual({ shape: [2, 3], rows: [0, 0, 0, 0, 0, 1] });
  });

  test('classes are suppressed independently', async () => {
    const two = [0, 0, 1, 1, 0, 0.1, 1, 1.1];
    // class 0 keeps box 0 (0.9) and drops box 1; class 1 keeps box 1 (0.7) and drops box 0
    expect(await nms(two, [0.9, 0.8, 0.1, 0.7], 5, 0.5, { classes: 2 })).toEqual({ shape: [2, 3], rows: [0, 0, 0, 0, 1, 1] });
  });

  test('build-time errors name the node', () => {
    const g = new Graph();
    const b = g.placeholder('float32', [1, 6, 3], 'b');
    const s = g.placeholder('float32', [1, 1, 6], 's');
    expect(() => ops.nonMaxSuppression(b, s, 3, 0.5, {}, 'nms')).toThrow(ShapeError);
    expect(() => ops.nonMaxSuppression(b, s, 3, 0.5, {}, 'nms')).toThrow(/nms/);
    const b4 = g.placeholder('float32', [1, 5, 4], 'b4');
    expect(() => ops.nonMaxSuppression(b4, s, 3, 0.5, {}, 'nms2')).toThrow(/scores \[1,1,6\]|scores/);
  });
});

describe('gridSample', () => {
  test('nearest with reflection picks the reflected whole pixel (no float truncation)', async () => {
    const g = new Graph();
    const img = g.constant(tensor(Array.from({ length: 300 }, (_, i) => i), [1, 1, 1, 300]));
    // alignCorners: g = -1 - 2/299 denormalizes to pixel -1, whose reflection about 0 is pixel 1
    const grid = g.constant(tensor([-1 - 2 / 299, 0], [1, 1, 1, 2]));
    const y = ops.gridSample(img, grid, { mode: 'nearest', paddingMode: 'reflection', alignCorners: true });
    expect(values(await new Session(g).run(y))).toEqual([1]);
  });

  // x = [[1, 2], [3, 4]]; grid[..., 0] is the column (x) coordinate, grid[..., 1] the row (y)
  async function sample(points: number[][], options: Parameters<typeof ops.gridSample>[2]): Promise<number[]> {
    const g = new Graph();
    const x = g.constant(tensor([1, 2, 3, 4], [1, 1, 2, 2]));
    const grid = g.constant(tensor(points.flat(), [1, 1, points.length, 2]));
    const y = ops.gridSample(x, grid, options);
    expect(y.shape).toEqual([1, 1, 1, points.length]);
    return values(await run(y));
  }

  test('linear: corners and centre, alignCorners or not', async () => {
    // alignCorners: -1 and 1 are the corner pixels' centres
    expect(await sample([[-1, -1], [1, -1], [0, 0], [1, 1]], { alignCorners: true })).toEqual([1, 2, 2.5, 4]);
    // not aligned: -1 is the outer edge, half a pixel out, so zeros padding weighs in 3/4 zeros
    expect(await sample([[-1, -1], [0, 0]], {})).toEqual([0.25, 2.5]);
  });

  test('out-of-range coordinates under zeros, border and reflection padding', async () => {
    // (3, 0): column 3.5, row 0.5, far right of the image
    const points = [[-1, -1], [3, 0]];
    expect(await sample(points, { paddingMode: 'zeros' })).toEqual([0.25, 0]);
    // border: the column clamps to 1, the right column's mean
    expect(await sample(points, { paddingMode: 'border' })).toEqual([1, 3]);
    // reflection at -0.5 and 1.5: 3.5 reflects to -0.5, whose taps reflect to column 0
    expect(await sample(points, { paddingMode: 'reflection' })).toEqual([1, 2]);
  });

  test('nearest rounds half to even; a rounded coordinate past the edge reads the padding', async () => {
    // columns 0.6 -> 1, rows 0.4 -> 0; column 0.5 -> 0; column 1.5 -> 2 (outside)
    expect(await sample([[0.1, -0.1], [0, 0], [1, 0]], { mode: 'nearest' })).toEqual([2, 1, 0]);
    expect(await sample([[1, 0]], { mode: 'nearest', paddingMode: 'border' })).toEqual([2]);
  });

  test('cubic: Keys weights (A = -0.75), the outer taps dropped (zeros) or clamped (border)', async () => {
    // at the centre every tap fraction is 1/2: weights -0.09375, 0.59375, 0.59375, -0.09375
    const [z] = await sample([[0, 0]], { mode: 'cubic' });
    expect(z).toBeCloseTo(0.59375 * 0.59375 * 10, 6);
    const [b] = await sample([[0, 0]], { mode: 'cubic', paddingMode: 'border' });
    expect(b).toBeCloseTo(2.5, 6);
  });

  test('an empty grid gives an empty output; build-time errors name the node', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [1, 1, 2, 2], 'x');
    const y = ops.gridSample(x, g.placeholder('float32', [1, 0, 3, 2], 'grid'));
    const out = await run(y, { x: tensor([1, 2, 3, 4], [1, 1, 2, 2]), grid: tensor([], [1, 0, 3, 2]) });
    expect(out.shape).toEqual([1, 1, 0, 3]);
    expect(() => ops.gridSample(x, g.placeholder('float32', [1, 2, 2, 3], 'g3'), {}, 'gs')).toThrow(ShapeError);
    expect(() => ops.gridSample(x, g.placeholder('float32', [1, 2, 2, 3], 'g4'), {}, 'gs2')).toThrow(/gs2/);
    expect(() => ops.gridSample(x, g.placeholder('float32', [1, 2, 2, 2], 'g5'), { mode: 'bilinear' as never }, 'gs3')).toThrow(/mode 'bilinear'/);
  });
});

describe('unique', () => {
  async function uniq(v: TensorValue, options: { axis?: number; sorted?: boolean } = {}) {
    const g = new Graph();
    const outs = ops.unique(g.constant(v), options);
    const got = await new Session(g).run(outs);
    return got.map((t) => ({ shape: t.shape, data: values(t) }));
  }

  test('elements, sorted: first occurrences, inverse and counts (ties keep the first index)', async () => {
    const [y, first, inverse, counts] = await uniq(tensor([2, 1, 1, 3, 4, 3], [6]));
    expect(y).toEqual({ shape: [4], data: [1, 2, 3, 4] });
    expect(first.data).toEqual([1, 0, 3, 4]);
    expect(inverse.data).toEqual([1, 0, 0, 2, 3, 2]);
    expect(counts.data).toEqual([2, 1, 2, 1]);
  });

  test('elements in order of first occurrence; a 2-D input is flattened', async () => {
    const [y, first, inverse, counts] = await uniq(tensor([2, 1, 1, 3, 4, 3], [2, 3], 'int32'), { sorted: false });
    expect(y).toEqual({ shape: [4], data: [2, 1, 3, 4] });
    expect(first.data).toEqual([0, 1, 3, 4]);
    expect(inverse.data).toEqual([0, 1, 1, 2, 3, 2]);
    expect(counts.data).toEqual([1, 2, 2, 1]);
  });

  test('slices along an axis, lexicographic; negative axis', async () => {
    // rows [1, 0, 0], [1, 0, 0], [2, 3, 4]
    const x = tensor([1, 0, 0, 1, 0, 0, 2, 3, 4], [3, 3]);
    const [y, first, inverse, counts] = await uniq(x, { axis: 0 });
    expect(y).toEqual({ shape: [2, 3], data: [1, 0, 0, 2, 3, 4] });
    expect([first.data, inverse.data, counts.data]).toEqual([[0, 2], [0, 0, 1], [2, 1]]);
    // columns [1, 1, 2], [0, 0, 3], [0, 0, 3]: the last two are equal and sort first
    const [yc, firstc, inversec, countsc] = await uniq(tensor([1, 0, 0, 1, 0, 0, 2, 3, 3], [3, 3]), { axis: -1 });
    expect(yc).toEqual({ shape: [3, 2], data: [0, 1, 0, 1, 3, 2] });
    expect([firstc.data, inversec.data, countsc.data]).toEqual([[1, 0], [1, 0, 0], [2, 1]]);
  });

  test('one element and an empty input', async () => {
    const [y, , inverse, counts] = await uniq(tensor([7], [1]));
    expect([y.data, inverse.data, counts.data]).toEqual([[7], [0], [1]]);
    const empty = await uniq(tensor([], [0]));
    expect(empty.map((t) => t.shape)).toEqual([[0], [0], [0], [0]]);
  });

  test('build-time errors name the node', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3], 'x');
    expect(() => ops.unique(x, { axis: 2 }, 'u')).toThrow(/u/);
    expect(ops.unique(x, { axis: 1 })[0].shape).toEqual([2, null]);
    expect(ops.unique(x)[2].shape).toEqual([6]);
  });
});

describe('maxUnpool', () => {
  test('positions no index names are 0 at O2 too, where the arena hands out reused memory', async () => {
    // a max pool's output occupies arena memory first; the unpool may then reuse it
    const g = new Graph();
    const x = g.placeholder('float32', [1, 1, 4, 4], 'x');
    const pool = applyOp('maxPoolNchw', [ops.mul(x, 3)], { kernel: [2, 2], strides: [2, 2], withIndices: true });
    const y = ops.maxUnpool(ops.add(pool.output(0), 1), pool.output(1), [1, 1, 4, 4]);
    const feeds = { x: tensor(Array.from({ length: 16 }, (_, i) => (i * 7) % 16), [1, 1, 4, 4]) };
    const o0 = await new Session(g, { optimize: 0 }).run(y, feeds);
    const o2 = await new Session(g, { optimize: 2 }).run(y, feeds);
    expect(values(o2)).toEqual(values(o0));
    expect(values(o0).filter((v) => v === 0)).toHaveLength(12);
  });


  test('values return to their flat indices, zeros elsewhere; a larger output pads at the end', async () => {
    const g = new Graph();
    const x = g.constant(tensor([5, 6, 7, 8], [1, 1, 2, 2]));
    const i = g.constant(tensor([1, 3, 8, 6], [1, 1, 2, 2], 'int64'));
    expect(values(await run(ops.maxUnpool(x, i, [1, 1, 3, 3])))).toEqual([0, 5, 0, 6, 0, 0, 8, 0, 7]);
    // the same indices over [3, 3], padded to [3, 4] and [4, 3]
    expect(values(await run(ops.maxUnpool(x, i, [1, 1, 3, 4], [1, 1, 3, 3])))).toEqual([0, 5, 0, 0, 6, 0, 0, 0, 8, 0, 7, 0]);
    expect(values(await run(ops.maxUnpool(x, i, [1, 1, 4, 3], [1, 1, 3, 3])))).toEqual([0, 5, 0, 6, 0, 0, 8, 0, 7, 0, 0, 0]);
  });

  test('a repeated index keeps the later value; an index out of range is an error naming the node', async () => {
    const g = new Graph();
    const x = g.constant(tensor([5, 6], [1, 1, 1, 2]));
    expect(values(await run(ops.maxUnpool(x, g.constant(tensor([2, 2], [1, 1, 1, 2], 'int32')), [1, 1, 2, 2])))).toEqual([0, 0, 6, 0]);
    await expect(run(ops.maxUnpool(x, g.constant(tensor([0, 4], [1, 1, 1, 2], 'int32')), [1, 1, 2, 2], undefined, 'mu'))).rejects.toThrow(/'mu'.*index 4/);
    expect(() => ops.maxUnpool(x, g.constant(tensor([0, 1], [1, 1, 1, 2], 'int32')), [1, 2, 2, 2], undefined, 'mu2')).toThrow(/mu2/);
    expect(() => ops.maxUnpool(x, g.constant(tensor([0, 1], [1, 1, 1, 2], 'int32')), [1, 1, 2, 2], [1, 1, 3, 2], 'mu3')).toThrow(/indexShape/);
  });
});

describe('roiAlign', () => {
  // x[h, w] = 3h + w: bilinear samples inside the image read 3y + x exactly
  const ramp = tensor([0, 1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 3, 3]);

  async function align(x: TensorValue, rois: number[], options: Parameters<typeof ops.roiAlign>[3]): Promise<number[]> {
    const g = new Graph();
    const r = rois.length / 4;
    const y = ops.roiAlign(g.constant(x), g.constant(tensor(rois, [r, 4])), g.constant(tensor(new Array(r).fill(0), [r], 'int64')), options);
    return values(await run(y));
  }

  test('avg: the mean of a bin grid of bilinear samples; half_pixel shifts the roi by half a pixel', async () => {
    // samples at 0.5 and 1.5 on each axis: 2, 3, 5, 6
    expect(await align(ramp, [0, 0, 2, 2], { samplingRatio: 2, coordinateTransformationMode: 'output_half_pixel' })).toEqual([4]);
    expect(await align(ramp, [0.5, 0.5, 2.5, 2.5], { samplingRatio: 2 })).toEqual([4]);
    // samplingRatio 0: ceil(roi size / bins) samples per axis; two bins of one row: samples at y 1, x 0.5 and 1.5
    expect(await align(ramp, [0, 0.5, 2, 1.5], { outputWidth: 2, coordinateTransformationMode: 'output_half_pixel' })).toEqual([3.5, 4.5]);
  });

  test("max: per sample the largest of its four weighted terms (ONNX's reference), then the largest sample", async () => {
    // samples (0.5, 0.5) .. (1.5, 1.5): the quarter-weighted corners peak at 0.25 * 8
    expect(await align(ramp, [0, 0, 2, 2], { mode: 'max', samplingRatio: 2, coordinateTransformationMode: 'output_half_pixel' })).toEqual([2]);
  });

  test('samples past a pixel outside the image read 0; past the last row or column they read its edge', async () => {
    const negative = tensor([-1, -2, -3, -4, -5, -6, -7, -8, -9], [1, 1, 3, 3]);
    // x samples at -2.75 (outside: weights 0, so 0 times pixel 0, -0) and -0.25 (clamped to column 0)
    expect(await align(negative, [-4, 0, 1, 1], { mode: 'max', samplingRatio: 2, coordinateTransformationMode: 'output_half_pixel' })).toEqual([-0]);
    // one sample at y 2.5, x 1: collapsed onto the last row, 3 * 2 + 1
    expect(await align(ramp, [0.5, 2, 1.5, 3], { samplingRatio: 1, coordinateTransformationMode: 'output_half_pixel' })).toEqual([7]);
    // reversed corners under half_pixel: an empty sample grid, 0
    expect(await align(ramp, [2, 2, 1, 1], {})).toEqual([0]);
  });

  test('rois pick their image by batchIndices; output [R, C, outputHeight, outputWidth]', async () => {
    const g = new Graph();
    const x = g.constant(tensor(Array.from({ length: 36 }, (_, i) => i), [2, 2, 3, 3]));
    const y = ops.roiAlign(x, g.constant(tensor([0, 0, 2, 2, 0, 0, 2, 2], [2, 4])), g.constant(tensor([1, 0], [2], 'int32')), { samplingRatio: 2, coordinateTransformationMode: 'output_half_pixel' });
    expect(y.shape).toEqual([2, 2, 1, 1]);
    expect(values(await run(y))).toEqual([22, 31, 4, 13]);
  });

  test('build-time errors name the node; a batch index out of range is a run-time error', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3, 8, 8], 'x');
    const rois = g.placeholder('float32', [5, 4], 'rois');
    const batch = g.placeholder('int64', [5], 'batch');
    expect(ops.roiAlign(x, rois, batch, { outputHeight: 7, outputWidth: 6 }).shape).toEqual([5, 3, 7, 6]);
    expect(() => ops.roiAlign(x, g.placeholder('float32', [5, 5], 'r5'), batch, {}, 'ra')).toThrow(ShapeError);
    expect(() => ops.roiAlign(x, g.placeholder('float32', [5, 5], 'r6'), batch, {}, 'ra2')).toThrow(/ra2.*rois \[5, 5\]/);
    expect(() => ops.roiAlign(x, rois, g.placeholder('int64', [4], 'b4'), {}, 'ra3')).toThrow(/ra3.*batchIndices/);
    expect(() => ops.roiAlign(x, rois, g.placeholder('float32', [5], 'bf'), {}, 'ra4')).toThrow(/ra4/);
    expect(() => ops.roiAlign(x, rois, batch, { mode: 'sum' as never }, 'ra5')).toThrow(/ra5.*mode 'sum'/);
    expect(() => ops.roiAlign(x, rois, batch, { outputHeight: 0 }, 'ra6')).toThrow(/ra6.*outputHeight/);
    expect(() => ops.roiAlign(x, rois, batch, { samplingRatio: -1 }, 'ra7')).toThrow(/ra7.*samplingRatio/);
    expect(() => ops.roiAlign(g.placeholder('float32', [2, 3, 8], 'x3'), rois, batch, {}, 'ra8')).toThrow(/ra8/);
    const g2 = new Graph();
    const y = ops.roiAlign(g2.constant(ramp), g2.constant(tensor([0, 0, 1, 1], [1, 4])), g2.constant(tensor([1], [1], 'int64')), {}, 'far');
    await expect(run(y)).rejects.toThrow(/far.*batch index 1/);
  });

  test('a roi of absurd size (or an infinite corner) is a ShapeError, not an endless loop', async () => {
    for (const corner of [1e9, Infinity]) {
      const g = new Graph();
      const y = ops.roiAlign(g.constant(ramp), g.constant(tensor([0, 0, corner, 1], [1, 4])), g.constant(tensor([0], [1], 'int64')), {}, 'huge');
      await expect(run(y)).rejects.toThrow(/samples per bin; at most 1024 per axis/);
    }
  });
});
