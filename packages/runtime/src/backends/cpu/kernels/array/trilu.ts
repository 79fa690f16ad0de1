import { registerCpuKernel } from '../../kernel';

/** trilu: keeps column j of row i where j - i >= k (upper) or j - i <= k (lower). */
registerCpuKernel('trilu', ([x], attrs, ctx) => {
  const out = ctx.alloc(x.dtype, x.shape);
  const rank = x.shape.length;
  const rows = x.shape[rank - 2];
  const cols = x.shape[rank - 1];
  const k = Number(attrs.k ?? 0);
  const upper = attrs.upper !== false;
  const mats = rows * cols === 0 ? 0 : x.data.length / (rows * cols);
  for (let m = 0; m < mats; m++) {
    const base = m * rows * cols;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const keep = upper ? j - i >= k : j - i <= k;
        out.data[base + i * cols + j] = keep ? x.data[base + i * cols + j] : 0;
      }
    }
  }
  return [out];
});
