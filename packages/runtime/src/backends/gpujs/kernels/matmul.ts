import { nbitsLayout, ops, sizeOf } from '@graphc/graph';
import { floatLit } from '../helpers';
import { broadcastRead, registerGpujsKernel } from '../program';
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

/**
 * matmulNBits: one output element per thread, the cpu kernel's dot product with each weight
 * dequantized as it is read, (q - zero point) * scale in float32.
 *
 * The packed int32 words never reach gpu.js as they are: gpu.js holds every value as float32, exact
 * only to 2^24, and a word's top bits (its sign and high weights) would be rounded away. Each word
 * becomes its two 16-bit halves instead, [low, high] per word, integers below 2^16 that float32 holds
 * exactly; a q never straddles them (bits divides 16). The halves are cut on the host from the words
 * as given (fromHost): once, when the plan is built, for a constant (an imported model's weights),
 * and each run for a feed. Halves keep 4-bit weights at 8 bits each on the device (not 32, as q or
 * W unpacked on the host would be), and the kernel takes each q out of a half by multiplying by exact
 * powers of two and flooring: no bitwise ops (gpu.js computes them on float32 values) and no pow (a
 * GPU's pow(2, s) may be off by an ulp). Words that only exist as float32 (a kernel's result, a
 * variable) are cut on the device by the same arithmetic, exact for the words float32 holds (to
 * 2^24, as every gpujs int32).
 */
registerGpujsKernel('matmulNBits', (ctx) => {
  const [a, packed, scales, zeroPoints] = ctx.inputs;
  const out = ctx.outputs[0];
  const { bits, blockSize, k, blocks, perWord, words } = nbitsLayout(ctx.attrs, ctx.where);
  const n = packed.shape[0];
  const halvesShape = [n, 2 * words];
  const halves =
    ctx.fromHost(packed, halvesShape, 'float32', splitWords) ??
    ctx.kernel(halvesShape, 'float32', [packed], ([p]) => {
      // a result within float32 error of an integer is that integer (Math.round is floor(x + 0.5), off by one past 2^23)
      let code = `let w = Math.floor(${p}[Math.floor(i / 2)]);\nif (${p}[Math.floor(i / 2)] - w >= 0.5) {\nw = w + 1.0;\n}\n`;
      code += `const hi = Math.floor(w * ${floatLit(2 ** -16)});\nif (i % 2 === 0) {\nreturn w - hi * 65536.0;\n}\n`;
      // two's complement: a negative word's high half is hi + 2^16
      return `${code}return hi - Math.floor(hi * ${floatLit(2 ** -16)}) * 65536.0;`;
    });
  const perHalf = perWord / 2;
  const halvesPerBlock = blockSize / perHalf;
  const radix = 2 ** bits;
  if (ctx.attrs.transposeW === true) {
    // a [..., n] times W^T: output element (row, kk) sums over the columns; its q is the same
    // position of each column's halves, shifted down kk % perHalf times (a loop of constant bound)
    return [
      ctx.kernel(out.shape, out.dtype, [a, halves, scales, zeroPoints], ([x0, h0, s0, z0]) => {
        let code = `const kk = i % ${k};\nconst aBase = Math.floor(i / ${k}) * ${n};\nconst b = Math.floor(kk / ${blockSize});\n`;
        code += `const h = Math.floor(kk / ${perHalf});\nconst j = kk - h * ${perHalf};\nlet acc = 0.0;\n`;
        code += `for (let col = 0; col < ${n}; col++) {\nlet v = ${h0}[col * ${2 * words} + h];\n`;
        code += `for (let t = 0; t < ${perHalf}; t++) {\nif (t < j) {\nv = Math.floor(v * ${floatLit(1 / radix)});\n}\n}\n`;
        code += `const q = v - Math.floor(v * ${floatLit(1 / radix)}) * ${floatLit(radix)};\n`;
        code += `acc += ${x0}[aBase + col] * ((q - ${z0}[col * ${blocks} + b]) * ${s0}[col * ${blocks} + b]);\n}\n`;
        return `${code}return acc;`;
      }),
    ];
  }
  return [
    ctx.kernel(out.shape, out.dtype, [a, halves, scales, zeroPoints], ([x0, h0, s0, z0]) => {
      let code = `const col = i % ${n};\nconst aBase = Math.floor(i / ${n}) * ${k};\nconst hBase = col * ${2 * words};\nlet acc = 0.0;\n`;
      code += `for (let b = 0; b < ${blocks}; b++) {\nconst s = ${s0}[col * ${blocks} + b];\nconst z = ${z0}[col * ${blocks} + b];\n`;
      code += `for (let h = 0; h < ${halvesPerBlock}; h++) {\nlet v = ${h0}[hBase + b * ${halvesPerBlock} + h];\n`;
      // q low bits first: v mod 2^bits, then shift v down by bits (exact: v < 2^16, a power-of-two scale)
      code += `for (let j = 0; j < ${perHalf}; j++) {\nconst rest = Math.floor(v * ${floatLit(1 / radix)});\nconst q = v - rest * ${floatLit(radix)};\nv = rest;\n`;
      // the last block's padding (kk >= k) holds no weights
      code += `const kk = b * ${blockSize} + h * ${perHalf} + j;\nif (kk < ${k}) {\nacc += ${x0}[aBase + kk] * ((q - z) * s);\n}\n}\n}\n}\n`;
      return `${code}return acc;`;
    }),
  ];
});

/** Each int32 word as its [low, high] 16-bit halves, unsigned. */
function splitWords(packed: ArrayLike<number>): Float32Array {
  const out = new Float32Array(2 * packed.length);
  for (let w = 0; w < packed.length; w++) {
    const word = packed[w] | 0;
    out[2 * w] = word & 0xffff;
    out[2 * w + 1] = word >>> 16;
  }
  return out;
}
