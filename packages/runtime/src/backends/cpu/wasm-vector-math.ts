import { I32, V128, get, i32, leb, op, set, simd, simdOp, tee, vec } from './wasm-assembler';

/**
 * float32 math four lanes at a time for generated WebAssembly SIMD functions: e^x, the logistic
 * sigmoid, tanh and ONNX's other recurrent activations, written into a FunctionWriter. WebAssembly
 * has no transcendental instructions, so these are Cephes' single-precision polynomials (expf,
 * tanhf), which onnxruntime's and Eigen's vectorized kernels resemble: within a few float32 ulps of
 * the correctly rounded value, where the JavaScript kernels call Math.exp and Math.tanh one double
 * at a time. NaN stays NaN, as in the JavaScript forms.
 */

/** Instructions pushing one v128. */
export type Code = number[];

const { f32x4Add, f32x4Sub, f32x4Mul, f32x4Div, f32x4Min, f32x4Max, f32x4Pmax, f32x4Pmin, f32x4Abs, f32x4Neg, f32x4Ge, f32x4Gt, f32x4Lt, f32x4Nearest, i32x4TruncSatF32x4S, i32x4Add, i32x4Shl, v128And, v128Or, v128Bitselect } = simdOp;

/** A v128.const of four float32 lanes, each `value` rounded to float32. */
export function f32x4(value: number): Code {
  const bytes = new Uint8Array(new Float32Array([value, value, value, value]).buffer);
  return [0xfd, ...leb(simdOp.v128Const), ...bytes];
}

/** A v128.const of four int32 lanes. */
function i32x4(value: number): Code {
  const bytes = new Uint8Array(new Int32Array([value, value, value, value]).buffer);
  return [0xfd, ...leb(simdOp.v128Const), ...bytes];
}

/**
 * The code of a function whose i32 parameters come first, then `i32Locals` i32 locals, then
 * `reservedV128` v128 locals the caller numbers itself, then v128 locals handed out as needed.
 */
export class FunctionWriter {
  readonly body: number[] = [];
  private v128Locals = 0;

  constructor(
    readonly params: number,
    private readonly i32Locals: number,
    private readonly reservedV128 = 0,
  ) {}

  /** Index of i32 local k (after the parameters). */
  i32Local(k: number): number {
    return this.params + k;
  }

  /** Appends instructions to the body. */
  emit(...code: number[][]): void {
    for (const c of code) this.body.push(...c);
  }

  /** Evaluates `value` into a new v128 local now; returns the code that reads it. */
  keep(value: Code): Code {
    return get(this.local(value));
  }

  /** Evaluates `value` into a new v128 local now (one a loop may set again); returns its index. */
  local(value: Code): number {
    const local = this.params + this.i32Locals + this.reservedV128 + this.v128Locals++;
    this.emit(value, set(local));
    return local;
  }

  /** `off` = 0, then `body` for every 16 bytes until `off` reaches `endBytes` (code pushing an i32: a positive multiple of 16). */
  overVectors(off: number, endBytes: Code, body: () => void): void {
    this.emit([...i32(0), ...set(off), op.loop, op.emptyBlock]);
    body();
    this.emit([...get(off), ...i32(16), op.i32Add, ...tee(off), ...endBytes, op.i32Ne, op.brIf, 0, op.end]);
  }

  /** `body`, then i32 local `count` less one, again while it is not 0 (count >= 1 on entry). */
  countdown(count: number, body: () => void): void {
    this.emit([op.loop, op.emptyBlock]);
    body();
    this.emit([...get(count), ...i32(1), op.i32Sub, ...tee(count), op.brIf, 0, op.end]);
  }

  /** The function's code: its locals, its body and the closing `end`. */
  code(): number[] {
    return [...vec([[...leb(this.i32Locals), I32], [...leb(this.reservedV128 + this.v128Locals), V128]]), ...this.body, op.end];
  }
}

const binary = (code: number) => (a: Code, b: Code): Code => [...a, ...b, ...simd(code)];
export const add = binary(f32x4Add);
export const sub = binary(f32x4Sub);
export const mul = binary(f32x4Mul);
export const div = binary(f32x4Div);
/** NaN-propagating minimum and maximum (Math.min, Math.max; -0 below +0). */
export const min = binary(f32x4Min);
export const max = binary(f32x4Max);
const abs = (a: Code): Code => [...a, ...simd(f32x4Abs)];
const neg = (a: Code): Code => [...a, ...simd(f32x4Neg)];
/** Lanes of `a` where the mask is set, of `b` elsewhere. */
const select = (a: Code, b: Code, mask: Code): Code => [...a, ...b, ...mask, ...simd(v128Bitselect)];
/** p(x) with coefficients from the highest power down (Horner). */
const polynomial = (x: Code, coefficients: number[]): Code =>
  coefficients.slice(1).reduce((p, c) => add(mul(p, x), f32x4(c)), f32x4(coefficients[0]));

/**
 * Cephes' expf after its range reduction: xc = n ln 2 + r with |r| <= ln 2 / 2 (ln 2 in two parts,
 * so n ln 2 is exact), e^r by a degree-6 polynomial, times 2^n built in the exponent bits. `xc` and
 * `n` (nearest(xc log2 e), within [-126, 127]) are locals' code.
 */
function expReduced(w: FunctionWriter, xc: Code, n: Code): Code {
  const r = w.keep(add(sub(xc, mul(n, f32x4(0.693359375))), mul(n, f32x4(2.12194440e-4))));
  const p = polynomial(r, [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]);
  const er = add(add(mul(p, mul(r, r)), r), f32x4(1));
  // 2^n: n + 127 in the exponent field
  const twoToN = [...n, ...simd(i32x4TruncSatF32x4S), ...i32x4(127), ...simd(i32x4Add), ...i32(23), ...simd(i32x4Shl)];
  return mul(er, twoToN);
}

/** Below this e^x leaves float32's normal range (2^-126): the argument is clamped there. */
const EXP_MIN_ARGUMENT = -87.33654;
/** Above this e^x overflows float32 (ln of the largest float32). */
const EXP_MAX_ARGUMENT = 88.72283905206835;

/** nearest(xc log2 e), kept in a local. */
const exponentOf = (w: FunctionWriter, xc: Code): Code => w.keep([...mul(xc, f32x4(Math.LOG2E)), ...simd(f32x4Nearest)]);

/**
 * x clamped below at a bound, NaN kept: pmax(x, bound) is `x < bound ? bound : x`, one instruction
 * (maxps), where f32x4.max's NaN and signed-zero rules take several on x86; against a finite bound
 * the two agree.
 */
const atLeast = (x: Code, bound: number): Code => [...x, ...f32x4(bound), ...simd(f32x4Pmax)];
/** x clamped above at a bound, NaN kept: pmin(x, bound) is `bound < x ? bound : x`. */
const atMost = (x: Code, bound: number): Code => [...x, ...f32x4(bound), ...simd(f32x4Pmin)];

/**
 * e^x for x <= 0 (or NaN): expReduced of x clamped at -87.34, so arguments below give 2^-126
 * (1.2e-38) instead of a subnormal or 0.
 */
export function expNonPositive(w: FunctionWriter, x: Code): Code {
  const xc = w.keep(atLeast(x, EXP_MIN_ARGUMENT));
  return expReduced(w, xc, exponentOf(w, xc));
}

/**
 * e^x over the whole float32 range: expReduced with n at most 127 (x up to 88.72 reduces to
 * r <= ln 2, where it stays within a few ulps), +Infinity above 88.72, and 0 below -87.34 where e^x
 * would be subnormal (Math.exp's float32 value there is below 1.2e-38).
 */
export function exp(w: FunctionWriter, x: Code): Code {
  const xk = w.keep(x);
  const xc = w.keep(atMost(atLeast(xk, EXP_MIN_ARGUMENT), EXP_MAX_ARGUMENT));
  const value = w.keep(expReduced(w, xc, w.keep(atMost(exponentOf(w, xc), 127))));
  // beyond the range: +Infinity above, 0 below (NaN passes through the comparisons as neither)
  const above = [...xk, ...f32x4(EXP_MAX_ARGUMENT), ...simd(f32x4Gt)];
  const below = [...xk, ...f32x4(EXP_MIN_ARGUMENT), ...simd(f32x4Lt)];
  return select(f32x4(Infinity), select(f32x4(0), value, below), above);
}

/** Lanes 2, 3 of a vector into lanes 0, 1 (bytes 8-15, twice), for widening them. */
export const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** float32 lanes 0, 1 of v widened to float64. */
export const promoteLow = (v: Code): Code => [...v, ...simd(simdOp.f64x2PromoteLowF32x4)];
/** float32 lanes 2, 3 of v widened to float64. */
export const promoteHigh = (v: Code): Code => [...v, ...v, ...simd(simdOp.i8x16Shuffle), ...HIGH_HALF, ...simd(simdOp.f64x2PromoteLowF32x4)];
/** The sum of v's two float64 lanes (pushes an f64). */
export const f64LaneSum = (v: Code): Code => [...v, ...simd(simdOp.f64x2ExtractLane), 0, ...v, ...simd(simdOp.f64x2ExtractLane), 1, op.f64Add];

/** 1 / (1 + e^-x) from e^-|x| (never overflows): 1 / (1 + e) for x >= 0, e / (1 + e) below. */
function sigmoid(w: FunctionWriter, x: Code): Code {
  const xk = w.keep(x);
  const e = w.keep(expNonPositive(w, neg(abs(xk))));
  return div(select(f32x4(1), e, [...xk, ...f32x4(0), ...simd(f32x4Ge)]), add(f32x4(1), e));
}

/**
 * Cephes' tanhf on |x|: |x| + |x|^3 P(x^2) below 0.625, else (1 - e^-2|x|) / (1 + e^-2|x|); then
 * x's sign bit, so tanh(-0) is -0.
 */
function tanh(w: FunctionWriter, x: Code): Code {
  const xk = w.keep(x);
  const a = w.keep(abs(xk));
  const z = w.keep(mul(xk, xk));
  const small = add(mul(mul(polynomial(z, [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]), z), a), a);
  const e = w.keep(expNonPositive(w, mul(a, f32x4(-2))));
  const large = div(sub(f32x4(1), e), add(f32x4(1), e));
  const magnitude = select(small, large, [...a, ...f32x4(0.625), ...simd(f32x4Lt)]);
  return [...magnitude, ...xk, ...f32x4(-0), ...simd(v128And), ...simd(v128Or)];
}

/**
 * erf(x), Eigen's float32 rational form (generic_fast_erf_float): x P(x^2) / Q(x^2) over x clamped
 * to [-4, 4], where erf is +-1 in float32; within 3.3e-7 of the double-precision value. NaN stays
 * NaN (the clamp keeps it), -0 stays -0.
 */
export function erf(w: FunctionWriter, x: Code): Code {
  const xc = w.keep(atLeast(atMost(x, 4), -4));
  const x2 = w.keep(mul(xc, xc));
  const p = polynomial(x2, [-2.72614225801306e-10, 2.77068142495902e-8, -2.10102402082508e-6, -5.69250639462346e-5, -7.34990630326855e-4, -2.95459980854025e-3, -1.60960333262415e-2]);
  const q = polynomial(x2, [-1.45660718464996e-5, -2.13374055278905e-4, -1.68282697438203e-3, -7.37332916720468e-3, -1.42647390514189e-2]);
  return div(mul(xc, p), q);
}

/** gelu(x) = x/2 (1 + erf(x / sqrt 2)), or with `approximate` its tanh form x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function gelu(w: FunctionWriter, x: Code, approximate: boolean): Code {
  const xk = w.keep(x);
  const inner = approximate
    ? tanh(w, mul(f32x4(0.7978845608028654), add(xk, mul(mul(mul(f32x4(0.044715), xk), xk), xk))))
    : erf(w, mul(xk, f32x4(Math.SQRT1_2)));
  return mul(mul(f32x4(0.5), xk), add(f32x4(1), inner));
}

/** An activation's code given its argument's, evaluating into `w` what it needs twice. */
export type VectorActivation = (w: FunctionWriter, x: Code) => Code;

/**
 * The SIMD form of an ONNX recurrent activation (recurrent.ts has the JavaScript ones), or null for
 * one without (Softplus).
 */
export function vectorActivation(activationName: string, alpha: number, beta: number): VectorActivation | null {
  switch (activationName.toLowerCase()) {
    case 'sigmoid':
      return sigmoid;
    case 'tanh':
      return tanh;
    case 'relu':
      // 0 < x ? x : 0 (pmax), so NaN gives 0 as `x > 0 ? x : 0` does
      return (_w, x) => [...f32x4(0), ...x, ...simd(f32x4Pmax)];
    case 'affine':
      return (_w, x) => add(mul(f32x4(alpha), x), f32x4(beta));
    case 'leakyrelu':
      return (w, x) => {
        const xk = w.keep(x);
        return select(xk, mul(f32x4(alpha), xk), [...xk, ...f32x4(0), ...simd(f32x4Ge)]);
      };
    case 'thresholdedrelu':
      return (w, x) => {
        const xk = w.keep(x);
        return [...xk, ...xk, ...f32x4(alpha), ...simd(f32x4Gt), ...simd(v128And)];
      };
    case 'scaledtanh':
      return (w, x) => mul(f32x4(alpha), tanh(w, mul(f32x4(beta), x)));
    case 'hardsigmoid':
      return (_w, x) => max(f32x4(0), min(f32x4(1), add(mul(f32x4(alpha), x), f32x4(beta))));
    case 'elu':
      return (w, x) => {
        const xk = w.keep(x);
        const below = mul(f32x4(alpha), sub(expNonPositive(w, min(xk, f32x4(0))), f32x4(1)));
        return select(xk, below, [...xk, ...f32x4(0), ...simd(f32x4Ge)]);
      };
    case 'softsign':
      return (w, x) => {
        const xk = w.keep(x);
        return div(xk, add(f32x4(1), abs(xk)));
      };
    default:
      return null;
  }
}

/** x clamped to [-clip, clip] (NaN kept); no code for an infinite clip. */
export function clipped(x: Code, clip: number): Code {
  return clip === Infinity ? x : min(max(x, f32x4(-clip)), f32x4(clip));
}
