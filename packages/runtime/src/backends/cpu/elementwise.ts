import { DType, GraphcError, TypedArray, allocArray, scalarHelpers, shapesEqual, sizeOf, stridesOf } from '@graphc/graph';
import { runElementwiseSimd } from './wasm-elementwise';

/** Where one argument of an elementwise statement comes from: a kernel input, or an earlier statement. */
export type ElementwiseRef = { input: number } | { step: number };

/** One scalar statement of an elementwise program: `expr` over `a`, `b`, `c` bound to `args`. */
export interface ElementwiseStatement {
  js: string;
  args: ElementwiseRef[];
  dtype: DType;
}

/**
 * A pointwise computation over broadcast inputs: a single op is one statement, a fused chain many.
 * The last statement is the output. The kernel makes one pass over the output and no intermediates.
 */
export interface ElementwiseProgram {
  inputDTypes: DType[];
  statements: ElementwiseStatement[];
  /**
   * Further results stored in place: statement `step`'s value goes into input `input` (which has the
   * output's shape) at the element it was read from, after every input of that element is read (a
   * fusedAssign's chained updates).
   */
  stores?: { input: number; step: number }[];
}

type LoopFn = (out: TypedArray, ins: TypedArray[], outShape: number[], strides: number[][], H: typeof scalarHelpers) => void;

const cache = new Map<string, LoopFn>();
/** The same loops by program object and broadcast pattern. */
const byProgram = new WeakMap<ElementwiseProgram, Map<string, LoopFn>>();

const argName = (r: ElementwiseRef): string => ('input' in r ? `x${r.input}` : `t${r.step}`);

function bodyOf(program: ElementwiseProgram): string {
  const last = program.statements.length - 1;
  return program.statements
    .map((s, i) => {
      const names = s.args.map(argName);
      const expr = s.js.replace(/\b([abc])\b/g, (_, v: string) => names['abc'.indexOf(v)]);
      // round intermediates as their storage would, so a fused chain matches the unfused ops
      const stored = i === last ? expr : s.dtype === 'float32' ? `Math.fround(${expr})` : s.dtype === 'int32' ? `((${expr}) | 0)` : expr;
      return `const t${i} = ${stored};`;
    })
    .join('\n');
}

/**
 * Compiles (once per program and broadcast pattern) a loop with the expression inlined: `F` inputs
 * have the output's shape, `S` are scalars, `R` one row of the output's last (merged) dimension
 * repeated, `B` broadcast along other dimensions.
 */
function compile(program: ElementwiseProgram, pattern: string): LoopFn {
  // a kernel that keeps its program object (one per node) finds its loop without building the key
  let mine = byProgram.get(program);
  const known = mine?.get(pattern);
  if (known) return known;
  if (!mine) byProgram.set(program, (mine = new Map()));
  const stores = program.stores ?? [];
  const key = `${pattern}|${program.statements.map((s) => `${s.js}(${s.args.map(argName)}):${s.dtype}`).join(';')}|${stores.map((s) => `${s.input}=${s.step}`).join(',')}`;
  let fn = cache.get(key);
  if (fn) {
    mine.set(pattern, fn);
    return fn;
  }
  const n = program.inputDTypes.length;
  const body = bodyOf(program);
  const result = `t${program.statements.length - 1}`;
  // a scalar input is read once, before the loop: V8 does not hoist a load past the loop's stores,
  // and a fused update's many scalars (Adam's) would each take a register for their array
  const decl = Array.from({ length: n }, (_, k) => (pattern[k] === 'S' ? `const x${k} = ins[${k}][0];` : `const in${k} = ins[${k}];`)).join('\n');
  for (const st of stores) {
    if (pattern[st.input] !== 'F') throw new GraphcError(`elementwise: a stored input must have the output's shape (input ${st.input} is '${pattern[st.input]}')`);
  }
  const storeAt = (index: string): string => stores.map((st) => `in${st.input}[${index}] = t${st.step};`).join(' ');
  let src: string;
  if (!pattern.includes('B')) {
    const reads = Array.from({ length: n }, (_, k) => k)
      .filter((k) => pattern[k] !== 'S')
      .map((k) => `const x${k} = ${pattern[k] === 'R' ? `in${k}[j]` : `in${k}[i]`};`)
      .join('\n');
    const loop = `{\n${reads}\n${body}\nout[i] = ${result}; ${storeAt('i')}\n}`;
    src = pattern.includes('R')
      ? `${decl}\nconst size = out.length;\nconst inner = outShape[outShape.length - 1];\nfor (let base = 0; base < size; base += inner) {\nfor (let j = 0, i = base; j < inner; j++, i++) ${loop}\n}`
      : `${decl}\nconst size = out.length;\nfor (let i = 0; i < size; i++) ${loop}`;
  } else {
    // full-size inputs index like the output; the others walk their broadcast strides
    const walked = Array.from({ length: n }, (_, k) => k).filter((k) => pattern[k] !== 'F' && pattern[k] !== 'S');
    const offs = walked.map((k) => `let o${k} = 0; const st${k} = strides[${k}]; const is${k} = st${k}[rank - 1];`).join('\n');
    const reads = Array.from({ length: n }, (_, k) => k)
      .filter((k) => pattern[k] !== 'S')
      .map((k) => `const x${k} = ${pattern[k] === 'F' ? `in${k}[base + j]` : `in${k}[o${k} + j * is${k}]`};`)
      .join('\n');
    const step = walked.map((k) => `o${k} += st${k}[d];`).join(' ');
    const back = walked.map((k) => `o${k} -= st${k}[d] * outShape[d];`).join(' ');
    src = `${decl}
const rank = outShape.length;
const inner = outShape[rank - 1];
const outer = inner === 0 ? 0 : out.length / inner;
const idx = new Int32Array(rank);
${offs}
let base = 0;
for (let r = 0; r < outer; r++, base += inner) {
  for (let j = 0; j < inner; j++) {
${reads}
${body}
    out[base + j] = ${result}; ${storeAt('base + j')}
  }
  for (let d = rank - 2; d >= 0; d--) {
    ${step}
    if (++idx[d] < outShape[d]) break;
    idx[d] = 0; ${back}
  }
}`;
  }
  fn = new Function('out', 'ins', 'outShape', 'strides', 'H', src) as LoopFn;
  cache.set(key, fn);
  mine.set(pattern, fn);
  return fn;
}

/** Strides of `shape` broadcast to `outShape`: 0 along dimensions it is broadcast over. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = stridesOf(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, d) => (d < offset || shape[d - offset] === 1 ? 0 : own[d - offset]));
}

/**
 * How runElementwise walks a program's inputs at one set of shapes: each input's kind ('F' full-size,
 * 'S' scalar, 'R' a row repeated, 'B' broadcast otherwise) and the merged loop shape and strides. A
 * plan's node runs the same shapes every run, so the walk is found once per program and kept while
 * the shapes repeat (on a small tensor, finding it cost twice the loop: a decoder's step runs dozens).
 */
interface Walk {
  shapes: number[][];
  outShape: number[];
  pattern: string;
  loopShape: number[];
  strides: number[][];
  /** The row length of 'R' inputs (0 without them). */
  rowLength: number;
}

const walks = new WeakMap<ElementwiseProgram, Walk>();

function walkOf(inputs: { data: TypedArray; shape: number[] }[], outShape: number[], size: number): Walk {
  const shapes = inputs.map((t) => [...t.shape]);
  const pattern = inputs.map((t) => (t.data.length === size && t.shape.length === outShape.length ? 'F' : t.data.length === 1 ? 'S' : 'B')).join('');
  const shape = outShape.length === 0 ? [1] : [...outShape];
  if (!pattern.includes('B')) return { shapes, outShape: [...outShape], pattern, loopShape: shape, strides: [], rowLength: 0 };
  const merged = mergeDimensions(shape, inputs.map((t) => broadcastStrides(t.shape.length === 0 ? [1] : t.shape, shape)));
  const rank = merged.shape.length;
  // a broadcast input that is one row repeated (a per-channel scale over NHWC) needs no odometer
  const rows = [...pattern].map((p, k) => (p === 'B' && merged.strides[k].every((st, d) => st === (d === rank - 1 ? 1 : 0)) ? 'R' : p)).join('');
  return { shapes, outShape: [...outShape], pattern: rows, loopShape: merged.shape, strides: merged.strides, rowLength: merged.shape[rank - 1] };
}

function walksLike(walk: Walk, inputs: { shape: number[] }[], outShape: number[]): boolean {
  if (walk.shapes.length !== inputs.length || !shapesEqual(walk.outShape, outShape)) return false;
  for (let k = 0; k < inputs.length; k++) if (!shapesEqual(walk.shapes[k], inputs[k].shape)) return false;
  return true;
}

/** Runs `program` on concrete inputs into a freshly allocated (or given) output. */
export function runElementwise(
  program: ElementwiseProgram,
  inputs: { data: TypedArray; shape: number[] }[],
  outShape: number[],
  out: TypedArray = allocArray(program.statements[program.statements.length - 1].dtype, sizeOf(outShape)),
): TypedArray {
  if (out.length === 0) return out;
  let walk = walks.get(program);
  if (!walk || !walksLike(walk, inputs, outShape)) walks.set(program, (walk = walkOf(inputs, outShape, out.length)));
  const data = inputs.map((t) => t.data);
  const simd = !walk.pattern.includes('B') && runElementwiseSimd(program, walk.pattern, data, out, walk.rowLength);
  if (!simd) compile(program, walk.pattern)(out, data, walk.loopShape, walk.strides, scalarHelpers);
  return out;
}

/**
 * The same iteration over fewer dimensions: a dimension merges into the next where every input
 * steps through both as through one (a bias [C] over [N, H, W, C] walks [N * H * W, C]), so the
 * loops' odometer turns less often.
 */
export function mergeDimensions(shape: readonly number[], strides: readonly number[][]): { shape: number[]; strides: number[][] } {
  const outShape = [shape[shape.length - 1]];
  const outStrides = strides.map((st) => [st[st.length - 1]]);
  for (let d = shape.length - 2; d >= 0; d--) {
    const inner = outShape[0];
    if (strides.every((st, k) => st[d] === outStrides[k][0] * inner)) {
      outShape[0] *= shape[d];
    } else {
      outShape.unshift(shape[d]);
      strides.forEach((st, k) => outStrides[k].unshift(st[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}
