import { TensorValue } from '@graphc/graph';
import { runElementwise } from '../../elementwise';
import { registerCpuKernel } from '../../kernel';

/**
 * batchNorm(x, mean, variance, offset, scale) as one generated elementwise pass over x with the four
 * statistics broadcast: the normalized value is kept in double precision between the two statements.
 * When every statistic is per-channel (`[C]` over the last axis, the usual case) the pass first folds
 * them into one multiplier and one shift per channel, so each element costs a multiply and an add.
 */
let mulBuf = new Float64Array(0);
let addBuf = new Float64Array(0);

registerCpuKernel('batchNorm', (inputs, attrs, ctx) => {
  const [x, mean, variance, offset, scale] = inputs;
  const eps = attrs.varianceEpsilon as number;
  const out = ctx.alloc(x.dtype, x.shape);
  const size = x.data.length;
  if (size === 0) return [out];
  const channels = x.shape.length ? x.shape[x.shape.length - 1] : 1;
  const stats = [mean, variance, offset, scale];
  if (channels > 0 && stats.every((s) => isPerChannel(s, channels))) {
    if (mulBuf.length < channels) {
      mulBuf = new Float64Array(channels);
      addBuf = new Float64Array(channels);
    }
    const at = (t: TensorValue, c: number): number => t.data[t.data.length === 1 ? 0 : c];
    for (let c = 0; c < channels; c++) {
      const m = (at(scale, c) as number) / Math.sqrt(at(variance, c) + eps);
      mulBuf[c] = m;
      addBuf[c] = at(offset, c) - at(mean, c) * m;
    }
    const xd = x.data;
    const od = out.data;
    for (let base = 0; base < size; base += channels) {
      for (let c = 0; c < channels; c++) od[base + c] = xd[base + c] * mulBuf[c] + addBuf[c];
    }
    return [out];
  }
  runElementwise(
    {
      inputDTypes: inputs.map((i) => i.dtype),
      statements: [
        { js: `((a - b) / Math.sqrt(c + ${eps}))`, args: [{ input: 0 }, { input: 1 }, { input: 2 }], dtype: 'float64' },
        { js: 'a * b + c', args: [{ step: 0 }, { input: 4 }, { input: 3 }], dtype: x.dtype },
      ],
    },
    inputs,
    x.shape,
    out.data,
  );
  return [out];
});

/** A statistic that varies only along the last axis: a scalar, or `[..., 1, 1, C]` with C channels. */
function isPerChannel(t: TensorValue, channels: number): boolean {
  if (t.data.length === 1) return true;
  return t.data.length === channels && t.shape[t.shape.length - 1] === channels;
}
