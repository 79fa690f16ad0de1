import { Attrs, GraphcError, TensorValue, ops } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/**
 * roiAlign and its gradient: per roi and bin, the taps of its samples (ops.roiAlignBinTaps, shared
 * with the gpujs and webgpu kernels' formulas), then per channel their pooling. The gradient walks
 * the same taps and scatters dy back onto them.
 */

/** Calls `visit(r, image, bin, taps)` for every bin of every roi, bins row-major. */
function forEachBin(
  x: TensorValue,
  rois: TensorValue,
  batchIndices: TensorValue,
  attrs: Attrs,
  where: string,
  visit: (r: number, image: number, bin: number, taps: ops.RoiAlignTaps[], count: number) => void,
): void {
  const [N, , H, W] = x.shape;
  const outH = Number(attrs.outputHeight ?? 1);
  const outW = Number(attrs.outputWidth ?? 1);
  for (let r = 0; r < batchIndices.data.length; r++) {
    const image = Number(batchIndices.data[r]);
    if (!Number.isInteger(image) || image < 0 || image >= N) throw new GraphcError(`${where}batch index ${image} of roi ${r} is outside x's ${N} images`);
    const roi = Array.from({ length: 4 }, (_, k) => Number(rois.data[r * 4 + k]));
    const bins = ops.roiAlignBins(roi, attrs);
    for (let ph = 0; ph < outH; ph++) {
      for (let pw = 0; pw < outW; pw++) visit(r, image, ph * outW + pw, ops.roiAlignBinTaps(bins, ph, pw, H, W), bins.count);
    }
  }
}

/** The term of `taps` that max mode's bin takes: the first largest weight times pixel (-1 when no sample). */
function maxWinner(taps: ops.RoiAlignTaps[], data: ArrayLike<number>, base: number): { value: number; sample: number; term: number } {
  let best = { value: 0, sample: -1, term: 0 };
  taps.forEach((t, s) => {
    for (let k = 0; k < 4; k++) {
      const v = t.weight[k] * Number(data[base + t.index[k]]);
      if (best.sample < 0 || v > best.value) best = { value: v, sample: s, term: k };
    }
  });
  return best;
}

const whereOf = (op: string, node: string) => `op '${op}' (node '${node}'): `;

registerCpuKernel('roiAlign', ([x, rois, batchIndices], attrs, ctx) => {
  const [, C, H, W] = x.shape;
  const R = batchIndices.data.length;
  const bins = Number(attrs.outputHeight ?? 1) * Number(attrs.outputWidth ?? 1);
  const out = ctx.alloc(x.dtype, [R, C, Number(attrs.outputHeight ?? 1), Number(attrs.outputWidth ?? 1)]);
  const max = attrs.mode === 'max';
  forEachBin(x, rois, batchIndices, attrs, whereOf('roiAlign', ctx.node.name), (r, image, bin, taps, count) => {
    for (let c = 0; c < C; c++) {
      const base = (image * C + c) * H * W;
      let v = 0;
      if (max) v = maxWinner(taps, x.data as ArrayLike<number>, base).value;
      else {
        for (const t of taps) for (let k = 0; k < 4; k++) v += t.weight[k] * Number(x.data[base + t.index[k]]);
        v /= count;
      }
      out.data[(r * C + c) * bins + bin] = v;
    }
  });
  return [out];
});

registerCpuKernel('roiAlignGrad', ([dy, x, rois, batchIndices], attrs, ctx) => {
  const [, C, H, W] = x.shape;
  const bins = Number(attrs.outputHeight ?? 1) * Number(attrs.outputWidth ?? 1);
  const dx = ctx.alloc(x.dtype, x.shape);
  // the planned arena hands out reused memory: pixels no sample reads must be 0
  dx.data.fill(0);
  const max = attrs.mode === 'max';
  forEachBin(x, rois, batchIndices, attrs, whereOf('roiAlignGrad', ctx.node.name), (r, image, bin, taps, count) => {
    for (let c = 0; c < C; c++) {
      const base = (image * C + c) * H * W;
      const g = Number(dy.data[(r * C + c) * bins + bin]);
      if (max) {
        const win = maxWinner(taps, x.data as ArrayLike<number>, base);
        if (win.sample >= 0) {
          const t = taps[win.sample];
          (dx.data as Float64Array)[base + t.index[win.term]] += g * t.weight[win.term];
        }
      } else {
        for (const t of taps) for (let k = 0; k < 4; k++) (dx.data as Float64Array)[base + t.index[k]] += (g * t.weight[k]) / count;
      }
    }
  });
  return [dx];
});
