import type { TypedArray } from '@graphc/graph';
import type { ElementwiseProgram } from './elementwise';
import { OneFunction, V128_ZERO, ensureMemory, functionsModule, get, i32, instantiateOne, leb, op, set, simd, simdMem, simdOp, tee } from './wasm-assembler';
import { FunctionWriter, erf, exp, gelu, vectorActivation } from './wasm-vector-math';
import { SHARED_MAX_PAGES } from './wasm-simd';

/**
 * float32 elementwise programs on WebAssembly SIMD, four elements at a time: a fused chain of adds,
 * subtractions, products, quotients, square roots, negations, absolute values, maxima, minima,
 * relus, relu gradients and selections by a bool input (a where over an attention's mask) becomes
 * one generated module: Adam's update, an SGD step, a scale and shift, a masked attention's scores.
 * The JavaScript loop evaluates each statement in double precision and rounds it to float32 (Math.fround), which for these operations gives the
 * correctly rounded float32 result (double carries more than 2 x 24 + 2 bits), exactly what the f32x4
 * instructions compute: the results are the same bits, NaN aside, four lanes at a time, with
 * float32 division and square root cheaper than double's. exp, sigmoid, tanh, erf and gelu run too,
 * as polynomials close to the JavaScript loop's values rather than equal to them (WebAssembly has
 * no exp, tanh or erf instruction; onnxruntime and Eigen approximate them the same way). Programs with
 * any other op, dtype (a bool input only as a where's condition) or a broadcast input that is not a
 * scalar or a repeated row keep the JavaScript loop.
 *
 * Inputs are copied into the module's memory a chunk at a time and results copied out, so a result
 * may overwrite an input (an update in place): each chunk is read before any of it is written.
 */

const { f32x4Ne, f32x4Lt, f32x4Gt, v128And, v128Or, v128Bitselect, f32x4Abs, f32x4Neg, f32x4Sqrt, f32x4Add, f32x4Sub, f32x4Mul, f32x4Div, f32x4Max, f32x4Min, f32x4Pmin, f32x4Pmax } = simdOp;

/**
 * The statements' scalar expressions (ops' `elementwise.js` for float32) that have an f32x4 form,
 * each as code given the code pushing its arguments (and the function's writer, for temporaries).
 * A form gives the expression's exact result (one IEEE operation, or instructions that select and
 * keep bits as the JavaScript does: maximum keeps a NaN a and picks b on ties; relu's gradient turns
 * -0 into +0), except those marked approximate: exp, sigmoid and tanh, Cephes' float32
 * polynomials (wasm-vector-math.ts), within a few float32 ulps of the double-precision value, and
 * erf and gelu (erf within 3.3e-7; gelu's tanh form with the tanh above); and the forms with an
 * op's constants in them (PARAMETRIC below).
 */
interface Form {
  arity: 1 | 2 | 3;
  approximate?: boolean;
  emit: (a: number[], b: number[], w: FunctionWriter, c: number[]) => number[];
}

const FORMS: Record<string, Form> = {
  'a + b': { arity: 2, emit: (a, b) => [...a, ...b, ...simd(f32x4Add)] },
  'a - b': { arity: 2, emit: (a, b) => [...a, ...b, ...simd(f32x4Sub)] },
  'a * b': { arity: 2, emit: (a, b) => [...a, ...b, ...simd(f32x4Mul)] },
  'a / b': { arity: 2, emit: (a, b) => [...a, ...b, ...simd(f32x4Div)] },
  'a * a': { arity: 1, emit: (a) => [...a, ...a, ...simd(f32x4Mul)] },
  'Math.sqrt(a)': { arity: 1, emit: (a) => [...a, ...simd(f32x4Sqrt)] },
  'Math.abs(a)': { arity: 1, emit: (a) => [...a, ...simd(f32x4Abs)] },
  '-a': { arity: 1, emit: (a) => [...a, ...simd(f32x4Neg)] },
  // x/2 + |x|/2, NaN kept, -Infinity to 0: max(x, +0) (-0 below +0, NaN propagated)
  'H.relu(a)': { arity: 1, emit: (a) => [...a, ...V128_ZERO, ...simd(f32x4Max)] },
  // dy where x > 0 else +0: the comparison's mask keeps dy's bits, + 0 turns -0 into +0
  'H.reluGrad(a, b)': { arity: 2, emit: (a, b) => [...a, ...b, ...V128_ZERO, ...simd(f32x4Gt), ...simd(v128And), ...V128_ZERO, ...simd(f32x4Add)] },
  '(a > b || a !== a ? a : b)': { arity: 2, emit: (a, b) => [...a, ...b, ...a, ...b, ...simd(f32x4Gt), ...a, ...a, ...simd(f32x4Ne), ...simd(v128Or), ...simd(v128Bitselect)] },
  '(a < b || a !== a ? a : b)': { arity: 2, emit: (a, b) => [...a, ...b, ...a, ...b, ...simd(f32x4Lt), ...a, ...a, ...simd(f32x4Ne), ...simd(v128Or), ...simd(v128Bitselect)] },
  // clip: b where a < b, else c where a > c, else a (NaN kept: both comparisons false), as the JS
  // form reads, a lower bound above the upper one included
  '(a < b ? b : a > c ? c : a)': {
    arity: 3,
    emit: (a, b, _w, c) => [...b, ...c, ...a, ...a, ...c, ...simd(f32x4Gt), ...simd(v128Bitselect), ...a, ...b, ...simd(f32x4Lt), ...simd(v128Bitselect)],
  },
  // where: b where the condition a holds, else c (bits kept). A bool input reaches the module's
  // memory as floats 0 and 1 (its bytes converted when copied in), so the condition is a != 0
  '(a ? b : c)': { arity: 3, emit: (a, b, _w, c) => [...b, ...c, ...a, ...V128_ZERO, ...simd(f32x4Ne), ...simd(v128Bitselect)] },
  // relu6: a where 0 < a < 6, 6 above, 0 below and for NaN
  // as pmax(0, pmin(a, 6)): pmin keeps a unless 6 < a (NaN kept), pmax takes +0 unless 0 < it (NaN and -0 too)
  '(a > 0 ? (a < 6 ? a : 6) : 0)': { arity: 1, emit: (a) => [...V128_ZERO, ...a, ...SIX, ...simd(f32x4Pmin), ...simd(f32x4Pmax)] },
  'H.sigmoid(a)': { arity: 1, approximate: true, emit: (a, _b, w) => SIGMOID(w, a) },
  'Math.tanh(a)': { arity: 1, approximate: true, emit: (a, _b, w) => TANH(w, a) },
  'Math.exp(a)': { arity: 1, approximate: true, emit: (a, _b, w) => exp(w, a) },
  'H.erf(a)': { arity: 1, approximate: true, emit: (a, _b, w) => erf(w, a) },
  // gelu, exact (erf) and tanh forms, as ops/math/unary.ts writes them
  '(0.5 * a * (1 + H.erf(a * 0.7071067811865476)))': { arity: 1, approximate: true, emit: (a, _b, w) => gelu(w, a, false) },
  '(0.5 * a * (1 + Math.tanh(0.7978845608028654 * (a + 0.044715 * a * a * a))))': { arity: 1, approximate: true, emit: (a, _b, w) => gelu(w, a, true) },
};

/** v128.const of four lanes of float32 `v`. */
const splat = (v: number): number[] => [0xfd, ...leb(simdOp.v128Const), ...Array.from({ length: 4 }, () => [...new Uint8Array(new Float32Array([v]).buffer)]).flat()];
const SIX = splat(6);

const NUMBER = '(-?\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?)';
/** max(0, min(1, v)), NaN kept (as Math.max and Math.min keep it). */
const unitClamp = (v: number[]): number[] => [...V128_ZERO, ...splat(1), ...v, ...simd(f32x4Min), ...simd(f32x4Max)];

/**
 * Forms of expressions with constants in them (an op's attrs): the constant is rounded to float32
 * and each step is a float32 operation, where the loop computes in double and rounds once, so these
 * are approximate (within an ulp or two).
 */
const PARAMETRIC: { pattern: RegExp; form: (k: number[]) => Form }[] = [
  // leakyRelu: a where a > 0, else alpha * a (NaN: alpha * NaN)
  {
    pattern: new RegExp(`^\\(a > 0 \\? a : ${NUMBER} \\* a\\)$`),
    form: ([alpha]) => ({ arity: 1, approximate: true, emit: (a) => [...a, ...splat(alpha), ...a, ...simd(f32x4Mul), ...a, ...V128_ZERO, ...simd(f32x4Gt), ...simd(v128Bitselect)] }),
  },
  // hardSigmoid: max(0, min(1, alpha * a + beta))
  {
    pattern: new RegExp(`^Math\\.max\\(0, Math\\.min\\(1, ${NUMBER} \\* a \\+ ${NUMBER}\\)\\)$`),
    form: ([alpha, beta]) => ({ arity: 1, approximate: true, emit: (a) => unitClamp([...splat(alpha), ...a, ...simd(f32x4Mul), ...splat(beta), ...simd(f32x4Add)]) }),
  },
  // hardSwish: a * max(0, min(1, a / 6 + 0.5))
  {
    pattern: /^\(a \* Math\.max\(0, Math\.min\(1, a \/ 6 \+ 0\.5\)\)\)$/,
    form: () => ({ arity: 1, approximate: true, emit: (a) => [...a, ...unitClamp([...a, ...SIX, ...simd(f32x4Div), ...splat(0.5), ...simd(f32x4Add)]), ...simd(f32x4Mul)] }),
  },
];

/** The f32x4 form of a statement's expression, if it has one. */
function formOf(js: string): Form | undefined {
  if (FORMS[js]) return FORMS[js];
  for (const { pattern, form } of PARAMETRIC) {
    const m = pattern.exec(js);
    if (m) return form(m.slice(1).map(Number));
  }
  return undefined;
}
const SIGMOID = vectorActivation('sigmoid', 0, 0)!;
const TANH = vectorActivation('tanh', 0, 0)!;


/** Elements per chunk: every region of a chunk stays in L2 together. */
const CHUNK = 8192;
/** Below this many elements the JavaScript loop is as fast (the copies and the call cost). */
const MIN_ELEMENTS = 1024;

/** run(bytes, rowBytes, base of each input, base of the output): see assemble. */
type Compiled = OneFunction<(...args: number[]) => void>;

/**
 * The module of `program` over inputs laid out by `pattern` ('F' full-size, 'S' scalar, 'R' one row
 * of the output's last dimension, repeated): params (bytes, rowBytes, in0, ..., inN-1, out);
 * scalars are splat once, then a loop of 16 bytes per step loads the full-size inputs and the rows'
 * vectors at the offset within the row, evaluates the statements and stores the result and the
 * program's `stores`. With rows, that loop runs over one row of the output and an outer loop over
 * the rows (`bytes` is whole rows).
 */
function assemble(program: ElementwiseProgram, pattern: string, importedMemory?: { sharedMaxPages?: number }): Uint8Array<ArrayBuffer> {
  const n = program.inputDTypes.length;
  const BYTES = 0;
  const ROW_BYTES = 1;
  const base = (k: number): number => 2 + k;
  const OUT = 2 + n;
  const OFF = 3 + n;
  const ROW_OFF = 4 + n;
  const value = (k: number): number => 5 + n + k; // one v128 local per input
  const step = (j: number): number => 5 + 2 * n + j; // and per statement
  const arg = (r: { input: number } | { step: number }): number => ('input' in r ? value(r.input) : step(r.step));
  // the approximate forms' temporaries are v128 locals after the inputs' and statements'
  const w = new FunctionWriter(n + 3, 2, n + program.statements.length);
  const body = w.body;
  for (let k = 0; k < n; k++) if (pattern[k] === 'S') body.push(...get(base(k)), ...simdMem(simdOp.v128Load32Splat, 2), ...set(value(k)));
  const rows = pattern.includes('R');
  body.push(...i32(0), ...set(OFF));
  // with rows: an outer loop over the rows, the inner one over a row's vectors (rowOff from 0)
  if (rows) body.push(op.loop, op.emptyBlock, ...i32(0), ...set(ROW_OFF));
  body.push(op.loop, op.emptyBlock);
  const at = (b: number): number[] => [...get(b), ...get(OFF), op.i32Add];
  for (let k = 0; k < n; k++) {
    if (pattern[k] === 'F') body.push(...at(base(k)), ...simdMem(simdOp.v128Load, 2), ...set(value(k)));
    if (pattern[k] === 'R') body.push(...get(base(k)), ...get(ROW_OFF), op.i32Add, ...simdMem(simdOp.v128Load, 2), ...set(value(k)));
  }
  program.statements.forEach((s, j) => {
    const [a, b, c] = s.args.map((r) => get(arg(r)));
    const value = formOf(s.js)!.emit(a, b ?? [], w, c ?? []);
    body.push(...value, ...set(step(j)));
  });
  const last = step(program.statements.length - 1);
  body.push(...at(OUT), ...get(last), ...simdMem(simdOp.v128Store, 2));
  for (const st of program.stores ?? []) body.push(...at(base(st.input)), ...get(step(st.step)), ...simdMem(simdOp.v128Store, 2));
  // off += 16; loop while off != bytes (with rows: rowOff += 16 while rowOff != rowBytes, then the next row while off != bytes)
  body.push(...get(OFF), ...i32(16), op.i32Add, ...set(OFF));
  if (rows) body.push(...get(ROW_OFF), ...i32(16), op.i32Add, ...tee(ROW_OFF), ...get(ROW_BYTES), op.i32Ne, op.brIf, 0, op.end);
  body.push(...get(OFF), ...get(BYTES), op.i32Ne, op.brIf, 0, op.end);
  return functionsModule([{ name: 'run', params: n + 3, code: w.code() }], importedMemory);
}

/**
 * A program's key in the module caches: its content. Each plan (one per feed shape) builds its fused
 * programs afresh, in new objects, and assembling a module costs more than the rest of compiling a
 * plan's kernels; equal programs share their modules. Found once per program object.
 */
const programKeys = new WeakMap<ElementwiseProgram, string>();
function programKey(program: ElementwiseProgram, pattern: string): string {
  let key = programKeys.get(program);
  if (key === undefined) programKeys.set(program, (key = JSON.stringify(program)));
  return `${pattern}|${key}`;
}

/** Compiled modules by programKey. */
const modules = new Map<string, Compiled | null>();

/** Whether the generated SIMD kernels are on (setSimdKernels). */
export const simdKernelsEnabled = (): boolean => enabled;

/** Whether a row kernel (softmax, layerNorm) takes `total` float32 values in rows of `len`: whole vectors, 1,024 values or more, SIMD on. */
export const simdRows = (total: number, len: number): boolean => enabled && len % 4 === 0 && len > 0 && total >= 1024 && total % len === 0;
let enabled = true;

/**
 * Turns the cpu backend's generated WebAssembly SIMD kernels on or off: elementwise programs, row
 * sums and max pooling (the GEMM has its own switch, setSimdGemm). Tests and benchmarks compare
 * them with the JavaScript loops. Returns whether they are now on (false where WebAssembly SIMD is
 * unavailable).
 */
export function setSimdKernels(on: boolean): boolean {
  enabled = on;
  return on && typeof WebAssembly === 'object' && WebAssembly.validate(assemble({ inputDTypes: ['float32'], statements: [{ js: '-a', args: [{ input: 0 }], dtype: 'float32' }] }, 'F'));
}

/** The same modules by program object and pattern: a node's every call after its first finds its module without its key. */
const byProgram = new WeakMap<ElementwiseProgram, Map<string, Compiled | null>>();

/** The compiled module of a program and pattern, null when it has no SIMD form (or SIMD is unavailable). */
function compiled(program: ElementwiseProgram, pattern: string): Compiled | null {
  let mine = byProgram.get(program);
  if (!mine) byProgram.set(program, (mine = new Map()));
  let c = mine.get(pattern);
  if (c !== undefined) return c;
  const key = programKey(program, pattern);
  c = modules.get(key);
  if (c === undefined) {
    c = simdEligible(program, pattern) ? instantiateOne<(...args: number[]) => void>(() => assemble(program, pattern), 'run') : null;
    modules.set(key, c);
  }
  mine.set(pattern, c);
  return c;
}

/** simdEligible's answers by programKey. */
const eligible = new Map<string, boolean>();

/** Whether every statement of `program` over inputs laid out by `pattern` has an f32x4 form (found once per program and pattern). */
function simdEligible(program: ElementwiseProgram, pattern: string): boolean {
  const key = programKey(program, pattern);
  let known = eligible.get(key);
  if (known === undefined) eligible.set(key, (known = formsCover(program, pattern)));
  return known;
}

function formsCover(program: ElementwiseProgram, pattern: string): boolean {
  return (
    /^[FSR]+$/.test(pattern) &&
    pattern.includes('F') &&
    program.inputDTypes.every((d, k) => d === 'float32' || (d === 'bool' && onlyConditions(program, k))) &&
    program.statements.every((s) => s.dtype === 'float32' && formOf(s.js)?.arity === s.args.length) &&
    (program.stores ?? []).every((st) => pattern[st.input] === 'F')
  );
}

/** Whether input `k` is read only as a where's condition (an attention's mask): its 0 and 1 are then floats enough. */
function onlyConditions(program: ElementwiseProgram, k: number): boolean {
  return program.statements.every((s) => s.args.every((r, i) => !('input' in r) || r.input !== k || (i === 0 && s.js === '(a ? b : c)')));
}

/**
 * Runs `program` (inputs by `pattern`: full-size, scalars, rows of `rowLength`) into `out` on
 * WebAssembly SIMD; false when it has no SIMD form or is too small to gain, and the caller runs the
 * JavaScript loop.
 */
export function runElementwiseSimd(program: ElementwiseProgram, pattern: string, ins: TypedArray[], out: TypedArray, rowLength = 0): boolean {
  const size = out.length;
  // (a bool input, a where's condition, is copied in as floats 0 and 1)
  if (!enabled || size < MIN_ELEMENTS || !(out instanceof Float32Array) || !ins.every((a, k) => a instanceof Float32Array || (program.inputDTypes[k] === 'bool' && a instanceof Uint8Array))) return false;
  const rows = pattern.includes('R');
  // a row is read four lanes at a time from its start: its length must be whole vectors
  if (rows && (rowLength % 4 !== 0 || rowLength === 0)) return false;
  const module = compiled(program, pattern);
  if (!module) return false;
  const n = ins.length;
  // chunks of whole rows, so each starts at a row's start
  const chunk = rows ? Math.max(1, Math.floor(CHUNK / rowLength)) * rowLength : Math.min(CHUNK, Math.ceil(size / 4) * 4);
  // regions of `chunk` floats: each input (a scalar in its first lane), then the output
  if (!ensureMemory(module.memory, (n + 1) * chunk * 4)) return false;
  const f = new Float32Array(module.memory.buffer);
  const bases = Array.from({ length: n + 1 }, (_, k) => k * chunk);
  for (let k = 0; k < n; k++) {
    if (pattern[k] === 'S') f[bases[k]] = ins[k][0];
    if (pattern[k] === 'R') f.set(ins[k].subarray(0, rowLength), bases[k]);
  }
  const stores = program.stores ?? [];
  for (let start = 0; start < size; start += chunk) {
    const count = Math.min(chunk, size - start);
    for (let k = 0; k < n; k++) if (pattern[k] === 'F') f.set(ins[k].subarray(start, start + count), bases[k]);
    module.fn(Math.ceil(count / 4) * 16, rowLength * 4, ...bases.map((b) => b * 4));
    out.set(f.subarray(bases[n], bases[n] + count), start);
    for (const st of stores) ins[st.input].set(f.subarray(bases[st.input], bases[st.input] + count), start);
  }
  return true;
}

/**
 * A fused node's epilogue (bias, activation, residual) that a float32 GEMM runs on each block of C in
 * its kernel's memory, after the block's last k-step and before copying it out. The block is still in
 * cache there; run afterwards, the epilogue is a second pass over the whole output, copied into its
 * module's memory and out again. Input 0 of `program` is the product C ([rows, n]); `extras` are the
 * others: a scalar ('S'), one row of n values repeated down C (a bias, 'R'), or a matrix shaped
 * like C ('F', a residual).
 */
export interface BlockEpilogue {
  program: ElementwiseProgram;
  /** 'F' for C, then each extra's kind. */
  pattern: string;
  extras: Float32Array[];
}

/**
 * The BlockEpilogue of `program` over `inputs` (the product first, of shape [..., n]), or null where
 * the generated SIMD kernels are off, an extra is broadcast otherwise than as a scalar or a row of n,
 * or a statement has no f32x4 form: the caller then runs the program as a pass of its own.
 */
export function blockEpilogue(program: ElementwiseProgram, inputs: { data: TypedArray; shape: number[] }[]): BlockEpilogue | null {
  const [product, ...others] = inputs;
  const n = product.shape[product.shape.length - 1];
  // small products keep the separate pass, which runs them as JavaScript loops (as runElementwiseSimd does)
  if (!enabled || program.stores || !(product.data instanceof Float32Array) || product.data.length < MIN_ELEMENTS || !(n > 0)) return null;
  const kinds = others.map(({ data, shape }) => {
    if (data.length === 1) return 'S';
    if (data.length === product.data.length && shape.length === product.shape.length) return 'F';
    const row = data.length === n && shape[shape.length - 1] === n && shape.length <= product.shape.length;
    return row ? 'R' : 'B';
  });
  const pattern = `F${kinds.join('')}`;
  if (!simdEligible(program, pattern) || !others.every((t) => t.data instanceof Float32Array)) return null;
  return { program, pattern, extras: others.map((t) => t.data as Float32Array) };
}

/** A BlockEpilogue compiled over one SIMD kernel memory (epilogueOnMemory). */
export interface MemoryEpilogue {
  /** Floats of scratch it takes for blocks of up to `rows` rows of `ld` floats. */
  floats(rows: number, ld: number): number;
  /**
   * Places its scalars and rows (`n` values, zeros up to `ld`) in the scratch from `scratch` of the
   * memory `f` views (floats(maxRows, ld) of it), once for a product; returns the function that runs
   * the epilogue in place over rows [row0, row0 + rows) of C (rows <= maxRows), held in `f` from `c`
   * with rows of `ld` floats (the first n of them C's), numbered from `firstRow` in the whole output:
   * it copies the residuals' rows in first.
   */
  bind(f: Float32Array, scratch: number, maxRows: number, n: number, ld: number, firstRow?: number): (c: number, row0: number, rows: number) => void;
}

/** Floats an extra of `kind` takes in the scratch, for blocks of up to `rows` rows of `ld` floats. */
const extraFloats = (kind: string, rows: number, ld: number): number => (kind === 'S' ? 4 : kind === 'R' ? ld : rows * ld);

/** Epilogue functions compiled over a kernel's memory: by memory, then programKey. */
const onMemory = new WeakMap<WebAssembly.Memory, Map<string, Compiled['fn'] | null>>();

/**
 * `ep` compiled over `memory` (a SIMD kernel's, which its module imports: shared where the kernel's
 * is), or undefined where it does not compile (then the caller runs the program as a pass of its own).
 */
export function epilogueOnMemory(ep: BlockEpilogue, memory: WebAssembly.Memory): MemoryEpilogue | undefined {
  let byKey = onMemory.get(memory);
  if (!byKey) onMemory.set(memory, (byKey = new Map()));
  const key = programKey(ep.program, ep.pattern);
  let fn = byKey.get(key);
  if (fn === undefined) {
    const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
    fn = instantiateOne<Compiled['fn']>(() => assemble(ep.program, ep.pattern, shared ? { sharedMaxPages: SHARED_MAX_PAGES } : {}), 'run', memory)?.fn ?? null;
    byKey.set(key, fn);
  }
  if (!fn) return undefined;
  const run = fn;
  const kinds = [...ep.pattern.slice(1)];
  return {
    floats: (rows, ld) => kinds.reduce((sum, kind) => sum + extraFloats(kind, rows, ld), 0),
    bind(f, scratch, maxRows, n, ld, firstRow = 0) {
      // each extra's region: scalars and rows written now, residual rows per block
      const residuals: { data: Float32Array; at: number }[] = [];
      const bases = [0];
      let at = scratch;
      ep.extras.forEach((data, k) => {
        bases.push(at * 4);
        if (kinds[k] === 'S') f[at] = data[0];
        else if (kinds[k] === 'R') {
          f.set(data, at);
          f.fill(0, at + n, at + ld);
        } else residuals.push({ data, at });
        at += extraFloats(kinds[k], maxRows, ld);
      });
      return (c, row0, rows) => {
        const first = firstRow + row0;
        for (const { data, at } of residuals) {
          if (ld === n) f.set(data.subarray(first * n, (first + rows) * n), at);
          else for (let i = 0; i < rows; i++) f.set(data.subarray((first + i) * n, (first + i + 1) * n), at + i * ld);
        }
        bases[0] = c * 4;
        run(rows * ld * 4, ld * 4, ...bases, c * 4);
      };
    },
  };
}
