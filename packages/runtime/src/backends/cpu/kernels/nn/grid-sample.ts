import { ops, sizeOf } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/**
 * gridSample: per output point, the taps of each spatial axis (ops.gridSampleTaps, shared with the
 * gradient and the gpujs kernel's formulas), then the sum over every combination of one tap per axis
 * of the product of their weights times the pixel they name, for each channel.
 */
registerCpuKernel('gridSample', ([x, grid], attrs, ctx) => {
  const [N, C, ...spatial] = x.shape;
  const r = spatial.length;
  const outSpatial = grid.shape.slice(1, r + 1);
  const P = sizeOf(outSpatial);
  const S = sizeOf(spatial);
  const out = ctx.alloc(x.dtype, [N, C, ...outSpatial]);
  const strides = spatial.map((_, d) => sizeOf(spatial.slice(d + 1)));
  const K = ops.gridTapCount(String(attrs.mode ?? 'linear'));
  const combos = K ** r;
  const offsets = new Float64Array(combos);
  const weights = new Float64Array(combos);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < P; p++) {
      const at = (n * P + p) * r;
      // grid's last axis lists the spatial axes innermost first
      const taps = spatial.map((len, d) => ops.gridSampleTaps(Number(grid.data[at + r - 1 - d]), len, attrs, r));
      for (let k = 0; k < combos; k++) {
        let rest = k;
        let offset = 0;
        let w = 1;
        for (let d = r - 1; d >= 0; d--) {
          const t = rest % K;
          rest = Math.floor(rest / K);
          offset += taps[d].index[t] * strides[d];
          w *= taps[d].weight[t];
        }
        offsets[k] = offset;
        weights[k] = w;
      }
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * S;
        let v = 0;
        for (let k = 0; k < combos; k++) if (weights[k] !== 0) v += weights[k] * Number(x.data[base + offsets[k]]);
        out.data[(n * C + c) * P + p] = v;
      }
    }
  }
  return [out];
});
