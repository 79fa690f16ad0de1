import { sizeOf } from '@graphc/graph';
import { LowerContext, TensorRef, registerGpujsKernel } from '../program';

/**
 * matrixSolve, matrixTriangularSolve and cholesky. gpu.js kernels compute one value per thread and
 * hold no local arrays, so each runs in stages, a kernel per column, every thread writing one
 * entry of the whole batch: the solves eliminate a column of the augmented matrix [a | b] per stage
 * (Gauss-Jordan; matrixSolve picks the cpu kernel's pivot, the first largest), cholesky finds one
 * column of l per stage. Float32 throughout; the results agree with the cpu kernels' float64 within
 * rounding. A system without a solution gives NaN for its whole matrix, as on the cpu.
 */

/** A one-element NaN input: gpu.js writes no NaN literal WGSL accepts (0.0 / 0.0 is a shader error there). */
function nanInput(ctx: LowerContext, dtype: TensorRef['dtype']): TensorRef {
  return ctx.constant([NaN], [1], dtype);
}

/** Where thread `i` of an augmented batch [count, n, w] sits: declares base, r (row) and col. */
function augmentedIndex(n: number, w: number): string {
  return `const base = Math.floor(i / ${n * w}) * ${n * w};\nconst r = Math.floor((i % ${n * w}) / ${w});\nconst col = i % ${w};\n`;
}

/**
 * [a | b] per matrix ([count, n, n + k]): a read transposed when `adjoint`, and for a triangular
 * solve only its triangle (`keep`: 'lower' or 'upper' of a as stored), the rest zero.
 */
function augment(ctx: LowerContext, a: TensorRef, b: TensorRef, n: number, k: number, adjoint: boolean, keep?: 'lower' | 'upper'): TensorRef {
  const w = n + k;
  const count = sizeOf(b.shape) / (n * k);
  return ctx.kernel([count, n, w], b.dtype, [a, b], ([a0, b0]) => {
    const [row, column] = adjoint ? ['col', 'r'] : ['r', 'col'];
    const masked = keep ? `if (${keep === 'lower' ? `${column} > ${row}` : `${column} < ${row}`}) {\nreturn 0.0;\n}\n` : '';
    return `${augmentedIndex(n, w)}const m = Math.floor(i / ${n * w});\nif (col >= ${n}) {\nreturn ${b0}[m * ${n * k} + r * ${k} + col - ${n}];\n}\n${masked}return ${a0}[m * ${n * n} + ${row} * ${n} + ${column}];`;
  });
}

/** One Gauss-Jordan stage on column c: the pivot row (the first largest at or below c when `pivoting`, else c) moves to c, is divided by its pivot, and clears column c from every other row. */
function eliminate(ctx: LowerContext, m: TensorRef, n: number, w: number, c: number, pivoting: boolean): TensorRef {
  return ctx.kernel(m.shape, m.dtype, [m, nanInput(ctx, m.dtype)], ([m0, nan]) => {
    let code = `${augmentedIndex(n, w)}let p = ${c};\n`;
    if (pivoting) {
      code += `let best = Math.abs(${m0}[base + ${c * w + c}]);\n`;
      if (c + 1 < n) code += `for (let q = ${c + 1}; q < ${n}; q++) {\nconst v = Math.abs(${m0}[base + q * ${w} + ${c}]);\nif (v > best) {\nbest = v;\np = q;\n}\n}\n`;
      code += `if (best === 0.0) {\nreturn ${nan}[0];\n}\n`;
    }
    code += `const pivotRow = ${m0}[base + p * ${w} + col] / ${m0}[base + p * ${w} + ${c}];\nif (r === ${c}) {\nreturn pivotRow;\n}\n`;
    code += `let own = r;\nif (r === p) {\nown = ${c};\n}\nreturn ${m0}[base + own * ${w} + col] - ${m0}[base + own * ${w} + ${c}] * pivotRow;`;
    return code;
  });
}

/** The solved right-hand sides, columns n.. of the eliminated [count, n, w], as [..., n, k]. */
function solution(ctx: LowerContext, m: TensorRef, shape: number[], n: number, k: number): TensorRef {
  const w = n + k;
  return ctx.kernel(shape, m.dtype, [m], ([m0]) => `const mat = Math.floor(i / ${n * k});\nconst e = i % ${n * k};\nreturn ${m0}[mat * ${n * w} + Math.floor(e / ${k}) * ${w} + ${n} + e % ${k}];`);
}

function solve(ctx: LowerContext, pivoting: boolean, keep?: 'lower' | 'upper'): TensorRef[] {
  const [a, b] = ctx.inputs;
  const [n, k] = b.shape.slice(-2);
  const adjoint = ctx.attrs.adjoint === true;
  if (sizeOf(b.shape) === 0) return [ctx.kernel(ctx.outputs[0].shape, b.dtype, [], () => 'return 0.0;')];
  let m = augment(ctx, a, b, n, k, adjoint, keep);
  for (let c = 0; c < n; c++) m = eliminate(ctx, m, n, n + k, c, pivoting);
  return [solution(ctx, m, ctx.outputs[0].shape, n, k)];
}

registerGpujsKernel('matrixSolve', (ctx) => solve(ctx, true));
registerGpujsKernel('matrixTriangularSolve', (ctx) => solve(ctx, false, ctx.attrs.lower === false ? 'upper' : 'lower'));

/**
 * cholesky: stage j writes column j of l from a and the columns before it (l_jj = sqrt(a_jj - sum
 * l_jp^2), l_rj = (a_rj - sum l_rp l_jp) / l_jj below it), carrying the others over; a last kernel
 * makes a matrix NaN throughout where a diagonal was not positive.
 */
registerGpujsKernel('cholesky', (ctx) => {
  const [a] = ctx.inputs;
  const n = a.shape[a.shape.length - 1];
  const nn = n * n;
  const nanRef = nanInput(ctx, a.dtype);
  let l = ctx.constant(new Float32Array(sizeOf(a.shape)), a.shape, a.dtype);
  for (let j = 0; j < n; j++) {
    l = ctx.kernel(a.shape, a.dtype, [a, l, nanRef], ([a0, l0, nan]) => {
      // `name` = `init` less the products of row `row` and row j over the columns before j
      const reduced = (name: string, row: string, init: string): string =>
        `let ${name} = ${init};\n` + (j === 0 ? '' : `for (let p = 0; p < ${j}; p++) {\n${name} = ${name} - ${l0}[base + ${row} * ${n} + p] * ${l0}[base + ${j * n} + p];\n}\n`);
      let code = `const base = Math.floor(i / ${nn}) * ${nn};\nconst r = Math.floor((i % ${nn}) / ${n});\nconst c = i % ${n};\n`;
      code += `if (c !== ${j} || r < ${j}) {\nreturn ${l0}[i];\n}\n`;
      code += `${reduced('s', `${j}`, `${a0}[base + ${j * n + j}]`)}if (!(s > 0.0)) {\nreturn ${nan}[0];\n}\nconst diagonal = Math.sqrt(s);\nif (r === ${j}) {\nreturn diagonal;\n}\n`;
      code += `${reduced('t', 'r', `${a0}[base + r * ${n} + ${j}]`)}return t / diagonal;`;
      return code;
    });
  }
  return [
    ctx.kernel(a.shape, a.dtype, [l, nanRef], ([l0, nan]) => {
      return `const base = Math.floor(i / ${nn}) * ${nn};\nfor (let q = 0; q < ${n}; q++) {\nconst d = ${l0}[base + q * ${n + 1}];\nif (!(d > 0.0)) {\nreturn ${nan}[0];\n}\n}\nreturn ${l0}[i];`;
    }),
  ];
});
