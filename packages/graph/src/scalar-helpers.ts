/**
 * Scalar functions that elementwise expressions call as `H.name(...)`. Shared by the CPU kernels,
 * constant folding and generated fused kernels so every path computes the same numbers.
 */

/** Abramowitz–Stegun 7.1.26 is too coarse for gradient checks; this is W. J. Cody's rational erf (CALERF). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax <= 0.46875) {
    const t = x * x;
    const num = (((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t + 377.485237685302021) * t + 3209.37758913846947;
    const den = (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t + 2844.23683343917062;
    return (x * num) / den;
  }
  if (ax < 4) {
    const num = ((((((((2.15311535474403846e-8 * ax + 5.64188496988670089e-1) * ax + 8.88314979438837594) * ax + 6.61191906371416295e1) * ax + 2.98635138197400131e2) * ax + 8.81952221241769090e2) * ax + 1.71204761263407058e3) * ax + 2.05107837782607147e3) * ax + 1.23033935479799725e3);
    const den = (((((((ax + 1.57449261107098347e1) * ax + 1.17693950891312499e2) * ax + 5.37181101862009858e2) * ax + 1.62138957456669019e3) * ax + 3.29079923573345963e3) * ax + 4.36261909014324716e3) * ax + 3.43936767414372164e3) * ax + 1.23033935480374942e3;
    const r = 1 - (Math.exp(-ax * ax) * num) / den;
    return x < 0 ? -r : r;
  }
  if (ax < 27) {
    const z = 1 / (ax * ax);
    const num = ((((1.63153871373020978e-2 * z + 3.05326634961232344e-1) * z + 3.60344899949804439e-1) * z + 1.25781726111229246e-1) * z + 1.60837851487422766e-2) * z + 6.58749161529837803e-4;
    const den = ((((z + 2.56852019228982242) * z + 1.87295284992346725) * z + 5.27905102951428412e-1) * z + 6.05183413124413191e-2) * z + 2.33520497626869185e-3;
    const r = 1 - (Math.exp(-ax * ax) / ax) * (0.5641895835477563 - (z * num) / den);
    return x < 0 ? -r : r;
  }
  return x < 0 ? -1 : Number.isNaN(x) ? NaN : 1;
}

/** Round half to even, as TensorFlow's `round` and ONNX's `Round`. */
export function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * max(x, 0) without a branch on the sign: on a tensor of random signs such a branch mispredicts half
 * the time, which made relu three to four times slower than a copy. x/2 + |x|/2 is exact for
 * float32 values (and integers) and +0 for -0; it is NaN only for NaN (which relu keeps, as
 * TensorFlow, PyTorch and ONNX Runtime do) and -Infinity (0), the one rarely taken branch. Not for
 * float64: halving a float64 subnormal rounds.
 */
export function relu(x: number): number {
  const r = x * 0.5 + Math.abs(x) * 0.5;
  return r === r ? r : x === x ? 0 : x;
}

/**
 * relu's gradient: dy where x > 0, else 0 (TensorFlow's ReluGrad, which keeps 0 even for an
 * infinite or NaN dy), with the sign test as a 0/1 factor rather than a branch (see relu). The
 * product is NaN only for such a dy, the one rarely taken branch; `+ 0` turns -0 into +0.
 */
export function reluGrad(dy: number, x: number): number {
  const r = +(x > 0) * dy;
  return r === r ? r + 0 : x > 0 ? dy : 0;
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** log(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

export function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN;
}

/** Floor modulo: the result takes the divisor's sign (TensorFlow's floormod, Python's %). */
export function floorMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

/** Integer division truncating toward zero (C, ONNX); division by zero gives 0 rather than a crash. */
export function truncDiv(a: number, b: number): number {
  return b === 0 ? 0 : Math.trunc(a / b);
}

export function floorDivInt(a: number, b: number): number {
  return b === 0 ? 0 : Math.floor(a / b);
}

export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;

/**
 * Rounds to the nearest IEEE binary16 value (ties to even), overflowing to infinity: the value a
 * float16 tensor would hold (ONNX Cast to FLOAT16; graphc keeps the result in float32).
 */
export function roundFloat16(x: number): number {
  const a = Math.abs(x);
  if (!Number.isFinite(a) || a === 0) return x;
  if (a >= 65520) return x > 0 ? Infinity : -Infinity;
  // spacing of float16 values around a: 2^(e - 10) for normals, 2^-24 for subnormals
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const ulp = 2 ** (e - 10);
  const r = roundEven(a / ulp) * ulp;
  return x < 0 ? -r : r;
}

const bf16 = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16.buffer);

/** Rounds to the nearest bfloat16 value (the top 16 bits of a float32, ties to even); NaN stays NaN. */
export function roundBfloat16(x: number): number {
  if (Number.isNaN(x)) return x;
  bf16[0] = x;
  const bits = bf16Bits[0];
  const rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 0;
  bf16Bits[0] = rounded & 0xffff0000;
  return bf16[0];
}

export const scalarHelpers = { erf, roundEven, relu, reluGrad, sigmoid, softplus, sign, floorMod, truncDiv, floorDivInt, imul: Math.imul, roundFloat16, roundBfloat16 };
export type ScalarHelpers = typeof scalarHelpers;
