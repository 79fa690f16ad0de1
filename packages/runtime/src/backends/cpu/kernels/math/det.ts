import { registerCpuKernel } from '../../kernel';

/** det: LU decomposition with partial pivoting of each matrix, in float64. */
registerCpuKernel('det', ([x], _attrs, ctx) => {
  const rank = x.shape.length;
  const n = x.shape[rank - 1];
  const out = ctx.alloc(x.dtype, x.shape.slice(0, -2));
  const a = new Float64Array(n * n);
  for (let m = 0; m < out.data.length; m++) {
    a.set(x.data.subarray(m * n * n, (m + 1) * n * n));
    let det = 1;
    for (let c = 0; c < n; c++) {
      let pivot = c;
      for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[pivot * n + c])) pivot = r;
      if (a[pivot * n + c] === 0) {
        det = 0;
        break;
      }
      if (pivot !== c) {
        for (let k = 0; k < n; k++) [a[c * n + k], a[pivot * n + k]] = [a[pivot * n + k], a[c * n + k]];
        det = -det;
      }
      const p = a[c * n + c];
      det *= p;
      for (let r = c + 1; r < n; r++) {
        const f = a[r * n + c] / p;
        for (let k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k];
      }
    }
    out.data[m] = det;
  }
  return [out];
});
