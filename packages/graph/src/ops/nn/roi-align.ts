import { GradientError, ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import type { Attrs, InferContext } from '../../opdef';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireDType, requireFloat, requireRank } from '../infer-helpers';

export const ROI_ALIGN_MODES = ['avg', 'max'];
export const ROI_ALIGN_COORDINATE_MODES = ['half_pixel', 'output_half_pixel'];

/**
 * roiAlign(x, rois, batchIndices): ONNX RoiAlign (opset 10 and 16). x [N, C, H, W]; rois [R, 4] as
 * (x1, y1, x2, y2) in the input's coordinates before `spatialScale`; batchIndices [R] the image of
 * each roi. The result [R, C, outputHeight, outputWidth] pools each bin of a roi over a grid of
 * bilinear samples (`samplingRatio` per axis, or ceil(roi size / bins) when 0). `half_pixel` shifts
 * the scaled corners by -0.5; `output_half_pixel` (opset 10's behaviour) does not, and widens rois
 * smaller than a pixel to one. As ONNX's reference implementation (and onnxruntime): a sample more
 * than a pixel outside x reads 0; `max` takes, per sample, the largest of its four bilinear terms
 * (weight times pixel, not their sum), then the largest over the bin's samples.
 */
registerOp({
  name: 'roiAlign',
  family: 'nn',
  numInputs: 3,
  nonDifferentiableInputs: [1, 2],
  infer: (ctx) => {
    const dtype = checkRoiInputs(ctx, 0);
    const x = ctx.inputs[0].shape;
    const [height, width] = roiAlignOutputSize(ctx);
    return [{ dtype, shape: [ctx.inputs[1].shape[0] ?? ctx.inputs[2].shape[0], x[1], height, width] }];
  },
  gradient: ({ node, inputs, grads }) => [roiAlignGrad(grads[0]!, inputs[0], inputs[1], inputs[2], node.attrs), null, null],
});

/**
 * roiAlignGrad(dy, x, rois, batchIndices): roiAlign's gradient w.r.t. x, with its attrs: x's shape,
 * each output's dy spread back over the pixels its samples read. avg: every sample's four bilinear
 * weights times dy / count. max: dy times the weight of the one term that won the bin (the first
 * largest, in the forward's sample and term order); nothing when a sample outside x (value 0) won.
 * x is read only by max, for the winner. Linear in dy: its own gradient is roiAlign in avg mode.
 */
registerOp({
  name: 'roiAlignGrad',
  family: 'nn',
  numInputs: 4,
  nonDifferentiableInputs: [1, 2, 3],
  infer: (ctx) => {
    const dtype = checkRoiInputs(ctx, 1);
    if (ctx.inputs[0].dtype !== dtype) throw new ShapeError(`${ctx.where}dy must be ${dtype} as x, got ${ctx.inputs[0].dtype}`);
    const x = ctx.inputs[1].shape;
    const [height, width] = roiAlignOutputSize(ctx);
    const expected = [ctx.inputs[2].shape[0] ?? ctx.inputs[3].shape[0], x[1], height, width];
    const dy = requireRank(ctx, 0, 4);
    if (!dy.every((d, i) => d === null || expected[i] === null || d === expected[i])) {
      throw new ShapeError(`${ctx.where}dy ${shapeToString(dy)} must be roiAlign's output shape ${shapeToString(expected)}`);
    }
    return [{ dtype, shape: [...x] }];
  },
  gradient: ({ node, inputs, grads }) => {
    if (node.attrs.mode === 'max') {
      // the winner is a function of x, so the transpose needs it applied to another tensor; no op does that yet
      throw new GradientError(`gradient of roiAlignGrad (node '${node.name}'): the second derivative of roiAlign in max mode is not supported`);
    }
    return [roiAlignWith(grads[0]!, inputs[2], inputs[3], node.attrs), null, null, null];
  },
});

/** Checks x (input `at`), rois and batchIndices (the two after it); returns x's dtype. */
function checkRoiInputs(ctx: InferContext, at: number): ReturnType<typeof requireFloat> {
  const dtype = requireFloat(ctx, at);
  const x = requireRank(ctx, at, 4);
  const rois = requireRank(ctx, at + 1, 2);
  const batch = requireRank(ctx, at + 2, 1);
  if (ctx.inputs[at + 1].dtype !== dtype) throw new ShapeError(`${ctx.where}rois must be ${dtype} as x, got ${ctx.inputs[at + 1].dtype}`);
  requireDType(ctx, at + 2, ['int32', 'int64']);
  if (rois[1] !== null && rois[1] !== 4) throw new ShapeError(`${ctx.where}rois ${shapeToString(rois)} must be [R, 4] (x1, y1, x2, y2) for x ${shapeToString(x)}`);
  if (rois[0] !== null && batch[0] !== null && rois[0] !== batch[0]) {
    throw new ShapeError(`${ctx.where}batchIndices ${shapeToString(batch)} must have one entry per roi of rois ${shapeToString(rois)}`);
  }
  const oneOf = (name: string, allowed: string[], fallback: string) => {
    const v = String(ctx.attrs[name] ?? fallback);
    if (!allowed.includes(v)) throw new ShapeError(`${ctx.where}${name} '${v}' is not one of ${allowed.join(', ')}`);
  };
  oneOf('mode', ROI_ALIGN_MODES, 'avg');
  oneOf('coordinateTransformationMode', ROI_ALIGN_COORDINATE_MODES, 'half_pixel');
  const ratio = ctx.attrs.samplingRatio ?? 0;
  if (typeof ratio !== 'number' || !Number.isInteger(ratio) || ratio < 0) throw new ShapeError(`${ctx.where}samplingRatio must be a whole number >= 0, got ${String(ratio)}`);
  const scale = ctx.attrs.spatialScale ?? 1;
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new ShapeError(`${ctx.where}spatialScale must be a finite number, got ${String(scale)}`);
  return dtype;
}

function roiAlignOutputSize(ctx: InferContext): [number, number] {
  return (['outputHeight', 'outputWidth'] as const).map((name) => {
    const v = ctx.attrs[name] ?? 1;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ShapeError(`${ctx.where}${name} must be a whole number >= 1, got ${String(v)}`);
    return v;
  }) as [number, number];
}

/** Where one roi's bins lie (in pixels of x) and how many samples each takes per axis. */
export interface RoiAlignBins {
  startH: number;
  startW: number;
  binH: number;
  binW: number;
  /** Samples per bin along each axis; 0 where the reference's grid is empty (a roi of no size). */
  gridH: number;
  gridW: number;
  /** The divisor of avg: gridH * gridW, at least 1. */
  count: number;
}

/** Samples per bin and axis at most (with samplingRatio 0): the webgpu kernel clamps there, the others raise a ShapeError. */
export const MAX_ROI_SAMPLES = 1024;

/** The bins of roi (x1, y1, x2, y2), as ONNX's reference: no rounding of the corners. */
export function roiAlignBins(roi: ArrayLike<number>, attrs: Attrs): RoiAlignBins {
  const scale = Number(attrs.spatialScale ?? 1);
  const halfPixel = (attrs.coordinateTransformationMode ?? 'half_pixel') === 'half_pixel';
  const offset = halfPixel ? 0.5 : 0;
  const startW = roi[0] * scale - offset;
  const startH = roi[1] * scale - offset;
  let roiW = roi[2] * scale - offset - startW;
  let roiH = roi[3] * scale - offset - startH;
  if (!halfPixel) {
    // opset 10 forced malformed rois to one pixel
    roiW = Math.max(roiW, 1);
    roiH = Math.max(roiH, 1);
  }
  const outH = Number(attrs.outputHeight ?? 1);
  const outW = Number(attrs.outputWidth ?? 1);
  const ratio = Number(attrs.samplingRatio ?? 0);
  // a negative size (reversed corners under half_pixel) gives the reference an empty loop
  const gridH = Math.max(ratio > 0 ? ratio : Math.ceil(roiH / outH), 0);
  const gridW = Math.max(ratio > 0 ? ratio : Math.ceil(roiW / outW), 0);
  if (!(gridH <= MAX_ROI_SAMPLES && gridW <= MAX_ROI_SAMPLES)) {
    // a roi of absurd size (or an infinite coordinate) would loop for ever rather than fail
    throw new ShapeError(
      `roiAlign: roi [${Array.from(roi).join(', ')}] takes ${gridH} x ${gridW} samples per bin; at most ${MAX_ROI_SAMPLES} per axis are taken (set samplingRatio)`,
    );
  }
  return { startH, startW, binH: roiH / outH, binW: roiW / outW, gridH, gridW, count: Math.max(gridH * gridW, 1) };
}

/** The position (in pixels) of sample `iy` of bin row `ph` (or column: pass the W fields). */
export function roiAlignSamplePosition(start: number, bin: number, grid: number, p: number, i: number): number {
  return start + p * bin + ((i + 0.5) * bin) / grid;
}

/** A sample's four bilinear terms: flat pixel indices in [H * W] and their weights. */
export interface RoiAlignTaps {
  index: [number, number, number, number];
  weight: [number, number, number, number];
}

/**
 * The bilinear taps of the sample at (y, x) on an H x W image, as the reference: beyond a pixel
 * outside the image all weights are 0 (index 0); otherwise clamped at 0 below and, at the last
 * row or column, collapsed onto it (the far taps then weigh 0).
 */
export function roiAlignTaps(y: number, x: number, height: number, width: number): RoiAlignTaps {
  if (y < -1 || y > height || x < -1 || x > width) return { index: [0, 0, 0, 0], weight: [0, 0, 0, 0] };
  y = Math.max(y, 0);
  x = Math.max(x, 0);
  let yLow = Math.floor(y);
  let xLow = Math.floor(x);
  let yHigh = yLow + 1;
  let xHigh = xLow + 1;
  if (yLow >= height - 1) {
    yHigh = yLow = height - 1;
    y = yLow;
  }
  if (xLow >= width - 1) {
    xHigh = xLow = width - 1;
    x = xLow;
  }
  const ly = y - yLow;
  const lx = x - xLow;
  const hy = 1 - ly;
  const hx = 1 - lx;
  return {
    index: [yLow * width + xLow, yLow * width + xHigh, yHigh * width + xLow, yHigh * width + xHigh],
    weight: [hy * hx, hy * lx, ly * hx, ly * lx],
  };
}

/** The taps of every sample of bin (ph, pw), in the reference's order (rows, then columns). */
export function roiAlignBinTaps(bins: RoiAlignBins, ph: number, pw: number, height: number, width: number): RoiAlignTaps[] {
  const taps: RoiAlignTaps[] = [];
  for (let iy = 0; iy < bins.gridH; iy++) {
    const y = roiAlignSamplePosition(bins.startH, bins.binH, bins.gridH, ph, iy);
    for (let ix = 0; ix < bins.gridW; ix++) taps.push(roiAlignTaps(y, roiAlignSamplePosition(bins.startW, bins.binW, bins.gridW, pw, ix), height, width));
  }
  return taps;
}

export interface RoiAlignOptions {
  /** How a bin pools its samples: 'avg' (default) or 'max'. */
  mode?: 'avg' | 'max';
  /** Bins per roi along y and x (default 1 each). */
  outputHeight?: number;
  outputWidth?: number;
  /** Samples per bin along each axis; 0 (default) means ceil(roi size / bins). */
  samplingRatio?: number;
  /** Multiplies the roi coordinates into x's pixels (default 1). */
  spatialScale?: number;
  /** 'half_pixel' (default, ONNX 16) or 'output_half_pixel' (ONNX 10's rule). */
  coordinateTransformationMode?: 'half_pixel' | 'output_half_pixel';
}

function roiAlignAttrs(options: RoiAlignOptions): Attrs {
  return {
    mode: options.mode ?? 'avg',
    outputHeight: options.outputHeight ?? 1,
    outputWidth: options.outputWidth ?? 1,
    samplingRatio: options.samplingRatio ?? 0,
    spatialScale: options.spatialScale ?? 1,
    coordinateTransformationMode: options.coordinateTransformationMode ?? 'half_pixel',
  };
}

function roiAlignWith(x: TensorLike, rois: TensorLike, batchIndices: TensorLike, attrs: Attrs, name?: string): SymbolicTensor {
  return apply1('roiAlign', [x, rois, batchIndices], attrs, name);
}

/**
 * ```ts
 * // x [N, C, H, W] features at 1/16 of the image; rois [R, 4] boxes (x1, y1, x2, y2) in image pixels
 * const pooled = ops.roiAlign(x, rois, batchIndices, { outputHeight: 7, outputWidth: 7, spatialScale: 1 / 16, samplingRatio: 2 });
 * ```
 */
export function roiAlign(x: TensorLike, rois: TensorLike, batchIndices: TensorLike, options: RoiAlignOptions = {}, name?: string): SymbolicTensor {
  return roiAlignWith(x, rois, batchIndices, roiAlignAttrs(options), name);
}

/** d(loss)/dx of roiAlign(x, rois, batchIndices) with `attrs`, given dy. */
export function roiAlignGrad(dy: TensorLike, x: TensorLike, rois: TensorLike, batchIndices: TensorLike, attrs: Attrs, name?: string): SymbolicTensor {
  return apply1('roiAlignGrad', [dy, x, rois, batchIndices], { ...attrs }, name);
}
