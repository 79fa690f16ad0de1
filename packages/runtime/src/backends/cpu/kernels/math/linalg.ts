import { registerCpuKernel } from '../../kernel';

/**
 * matrixSolve, matrixTriangularSolve and cholesky: one matrix of the batch at a time, in float64
 * (as det). A system without a solution (a zero pivot; a matrix that is not positive definite)
 * gives NaN for its whole matrix, as the gpu kernels do.
 */

/** a's matrix `m` ([n, n]) into `into`, transposed when `adjoint`. */
function loadMatrix(data: ArrayLike<number>, m: number, n: number, adjoint: boolean, into: Float64Array): void {
  const base = m * n * n;
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) into[r * n + c] = adjoint ? data[base + c * n + r] : data[base + r * n + c];
}

/** Solves a x = b in place (b [n, k] becomes x): forward elimination with partial pivoting (the first largest), then back substitution. */
function solveInPlace(a: Float64Array, b: Float64Array, n: number, k: number): boolean {
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[pivot * n + c])) pivot = r;
    const p = a[pivot * n + c];
    if (p === 0 || Number.isNaN(p)) return false;
    if (pivot !== c) {
      for (let j = c; j < n; j++) [a[c * n + j], a[pivot * n + j]] = [a[pivot * n + j], a[c * n + j]];
      for (let j = 0; j < k; j++) [b[c * k + j], b[pivot * k + j]] = [b[pivot * k + j], b[c * k + j]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / p;
      if (f === 0) continue;
      for (let j = c + 1; j < n; j++) a[r * n + j] -= f * a[c * n + j];
      for (let j = 0; j < k; j++) b[r * k + j] -= f * b[c * k + j];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    for (let i = r + 1; i < n; i++) {
      const f = a[r * n + i];
      for (let j = 0; j < k; j++) b[r * k + j] -= f * b[i * k + j];
    }
    const d = a[r * n + r];
    for (let j = 0; j < k; j++) b[r * k + j] /= d;
  }
  return true;
}

registerCpuKernel('matrixSolve', ([a, b], attrs, ctx) => {
  const rank = b.shape.length;
  const [n, k] = b.shape.slice(rank - 2);
  const out = ctx.alloc(b.dtype, b.shape);
  const count = n * k === 0 ? 0 : b.data.length / (n * k);
  const matrix = new Float64Array(n * n);
  const rhs = new Float64Array(n * k);
  for (let m = 0; m < count; m++) {
    loadMatrix(a.data, m, n, attrs.adjoint === true, matrix);
    rhs.set(b.data.subarray(m * n * k, (m + 1) * n * k));
    if (!solveInPlace(matrix, rhs, n, k)) rhs.fill(NaN);
    out.data.set(rhs, m * n * k);
  }
  return [out];
});

/**
 * matrixTriangularSolve: substitution over the triangle a names (`lower`), read transposed when
 * `adjoint`. The matrix solved is lower triangular when lower and adjoint differ (forward
 * substitution), else upper (backward). The other triangle is never read.
 */
registerCpuKernel('matrixTriangularSolve', ([a, b], attrs, ctx) => {
  const rank = b.shape.length;
  const [n, k] = b.shape.slice(rank - 2);
  const adjoint = attrs.adjoint === true;
  const forward = (attrs.lower !== false) !== adjoint;
  const out = ctx.alloc(b.dtype, b.shape);
  const count = n * k === 0 ? 0 : b.data.length / (n * k);
  const matrix = new Float64Array(n * n);
  const x = new Float64Array(n * k);
  for (let m = 0; m < count; m++) {
    loadMatrix(a.data, m, n, adjoint, matrix);
    x.set(b.data.subarray(m * n * k, (m + 1) * n * k));
    for (let s = 0; s < n; s++) {
      const r = forward ? s : n - 1 - s;
      const [from, to] = forward ? [0, r] : [r + 1, n];
      for (let i = from; i < to; i++) {
        const f = matrix[r * n + i];
        for (let j = 0; j < k; j++) x[r * k + j] -= f * x[i * k + j];
      }
      const d = matrix[r * n + r];
      for (let j = 0; j < k; j++) x[r * k + j] /= d;
    }
    out.data.set(x, m * n * k);
  }
  return [out];
});

/** cholesky: column by column (Cholesky-Banachiewicz by rows), from the lower triangle; zeros above the diagonal. */
registerCpuKernel('cholesky', ([a], _attrs, ctx) => {
  const rank = a.shape.length;
  const n = a.shape[rank - 1];
  const out = ctx.alloc(a.dtype, a.shape);
  const count = n === 0 ? 0 : a.data.length / (n * n);
  const l = new Float64Array(n * n);
  for (let m = 0; m < count; m++) {
    const base = m * n * n;
    l.fill(0);
    let definite = true;
    for (let i = 0; i < n && definite; i++) {
      for (let j = 0; j <= i; j++) {
        let s = a.data[base + i * n + j];
        for (let p = 0; p < j; p++) s -= l[i * n + p] * l[j * n + p];
        if (i === j) {
          if (!(s > 0)) {
            definite = false;
            break;
          }
          l[i * n + i] = Math.sqrt(s);
        } else l[i * n + j] = s / l[j * n + j];
      }
    }
    if (!definite) l.fill(NaN);
    out.data.set(l, base);
  }
  return [out];
});
