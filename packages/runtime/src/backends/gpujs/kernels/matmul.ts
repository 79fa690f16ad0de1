import { ops, sizeOf } from '@graphc/graph';
import { broadcastRead } from '../program';
import { registerAnchorKernel } from './elementwise';

/**
 * Batched matmul, one output element per thread: a dot product of length K with both operands read
 * through their strides (so transposes cost nothing), batch dimensions broadcast. gpu.js has no
 * workgroup memory, so there is no tiling: every operand element is read from device memory.
 */
registerAnchorKernel('matmul', (_ctx, [a, b], attrs, out) => {
  const { transposeA: ta, transposeB: tb, m, k, n, batchA, batchB } = ops.matmulGeometry(a.shape, b.shape, attrs);
  const batch = out.shape.slice(0, -2);
  // element (r, c) of the matrix: r * rowStride + c * colStride
  const [aRow, aCol] = ta ? [1, m] : [k, 1];
  const [bRow, bCol] = tb ? [1, k] : [n, 1];
  const batchCount = sizeOf(batch);
  return {
    args: [a, b],
    code: ([x0, x1]) => {
      let code = `const row = Math.floor(i / ${n}) % ${m};\nconst col = i % ${n};\n`;
      let aBase = '0';
      let bBase = '0';
      if (batchCount > 1) {
        code += `const bi = Math.floor(i / ${m * n});\n`;
        const ra2 = broadcastRead(batchA, batch, 'ba', 'bi');
        const rb2 = broadcastRead(batchB, batch, 'bb', 'bi');
        code += ra2.code + rb2.code;
        aBase = `(${ra2.index}) * ${m * k}`;
        bBase = `(${rb2.index}) * ${k * n}`;
      }
      code += `const aOff = ${aBase} + row * ${aRow};\nconst bOff = ${bBase} + col * ${bCol};\n`;
      // running offsets: one add per operand and step instead of index products
      code += `let acc = 0.0;\nlet ia = aOff;\nlet ib = bOff;\nfor (let kk = 0; kk < ${k}; kk++) {\nacc += ${x0}[ia] * ${x1}[ib];\nia += ${aCol};\nib += ${bRow};\n}\n`;
      return code;
    },
  };
});
