import { Attrs, DType, getOpDef, sizeOf } from '@graphc/graph';
import { wgslType } from '../dtypes';
import { GpuTensorInfo, NoGpuKernel, WebGpuKernel, WgslBinding, WgslDispatch } from '../kernel';
import { broadcastIndex, collapseBroadcast, flatDispatch } from '../wgsl';

/**
 * Elementwise kernels generated from the OpDefs' scalar templates: one op is a one-statement program,
 * a fused chain from the passes is a program of many statements, and either becomes one WGSL kernel
 * that makes a single pass over the output with broadcasting folded into its index arithmetic.
 *
 * float32 and bool values compute in f32 through the OpDef's `wgsl` template (bool is 0.0/1.0 there).
 * Integers compute in i32 through the table below, which follows the CPU reference's integer
 * semantics (wrapping add/mul, truncating division with 0 for a zero divisor, floor modulo). int64 is
 * held as i32 (see dtypes.ts), so only ops whose result stays within the inputs' range run on it.
 */
interface IntForm {
  expr: string;
  /** WGSL type of the result: i32 for arithmetic, u32 (bool) for comparisons. */
  result: 'i32' | 'u32';
  /** The result never leaves the range of the inputs, so it is exact for int64 held as i32. */
  rangeSafe?: boolean;
}

const INT_FORMS: Record<string, IntForm> = {
  add: { expr: 'a + b', result: 'i32' },
  sub: { expr: 'a - b', result: 'i32' },
  mul: { expr: 'a * b', result: 'i32' },
  div: { expr: 'gc_truncdiv(a, b)', result: 'i32' },
  floorDiv: { expr: 'gc_floordiv(a, b)', result: 'i32' },
  mod: { expr: 'gc_floormod(a, b)', result: 'i32', rangeSafe: true },
  maximum: { expr: 'max(a, b)', result: 'i32', rangeSafe: true },
  minimum: { expr: 'min(a, b)', result: 'i32', rangeSafe: true },
  equal: { expr: 'select(0u, 1u, a == b)', result: 'u32', rangeSafe: true },
  notEqual: { expr: 'select(0u, 1u, a != b)', result: 'u32', rangeSafe: true },
  less: { expr: 'select(0u, 1u, a < b)', result: 'u32', rangeSafe: true },
  lessEqual: { expr: 'select(0u, 1u, a <= b)', result: 'u32', rangeSafe: true },
  greater: { expr: 'select(0u, 1u, a > b)', result: 'u32', rangeSafe: true },
  greaterEqual: { expr: 'select(0u, 1u, a >= b)', result: 'u32', rangeSafe: true },
  neg: { expr: '-a', result: 'i32' },
  abs: { expr: 'abs(a)', result: 'i32' },
  sign: { expr: 'sign(a)', result: 'i32', rangeSafe: true },
  square: { expr: 'a * a', result: 'i32' },
  relu: { expr: 'max(a, 0i)', result: 'i32', rangeSafe: true },
  relu6: { expr: 'clamp(a, 0i, 6i)', result: 'i32', rangeSafe: true },
  where: { expr: 'select(c, b, a != 0u)', result: 'i32', rangeSafe: true },
  zerosLike: { expr: '0i', result: 'i32', rangeSafe: true },
  onesLike: { expr: '1i', result: 'i32', rangeSafe: true },
  reluGrad: { expr: 'select(0i, a, b > 0i)', result: 'i32', rangeSafe: true },
  relu6Grad: { expr: 'select(0i, a, b > 0i && b < 6i)', result: 'i32', rangeSafe: true },
};

/**
 * cast between the device types, as the CPU reference stores values: float to int32 truncates and
 * wraps modulo 2^32 (NaN and infinities give 0, as Int32Array stores do), anything to bool is != 0.
 * float to int64 cannot be range-checked inside a kernel, so it runs through the CPU fallback.
 */
function castExpr(from: DType, to: DType, a: string): string {
  const src = valueType(from);
  const dst = valueType(to);
  if (to === 'bool') return src === 'f32' ? `select(0u, 1u, gc_nonzero(${a}))` : src === 'i32' ? `select(0u, 1u, ${a} != 0i)` : a;
  if (dst === 'f32') return src === 'f32' ? a : `f32(${a})`;
  // integer targets
  if (src === 'f32') {
    if (to === 'int64') throw new NoGpuKernel('cast from float to int64 needs a range check (CPU fallback)');
    return `gc_f2i(${a})`;
  }
  return src === 'u32' ? `i32(${a})` : a;
}

/** The WGSL type a value of `dtype` has inside a kernel (float64 has none). */
export function valueType(dtype: DType): 'f32' | 'i32' | 'u32' {
  const t = wgslType(dtype);
  if (!t) throw new NoGpuKernel('float64 (no 64-bit floats in WGSL)');
  return t;
}

/**
 * Float forms that replace an OpDef's template where WGSL leaves NaN behaviour to the implementation
 * and the CPU reference defines it: maximum/minimum propagate NaN.
 */
const F32_OVERRIDES: Record<string, (attrs: Attrs) => string> = {
  maximum: () => 'gc_max(a, b)',
  minimum: () => 'gc_min(a, b)',
  isNaN: () => 'select(0.0, 1.0, gc_isnan(a))',
  isInf: (at) =>
    `select(0.0, 1.0, ${at.detectPositive !== false ? 'bitcast<u32>(a) == 0x7f800000u' : 'false'} || ${at.detectNegative !== false ? 'bitcast<u32>(a) == 0xff800000u' : 'false'})`,
  // lavapipe's asin/acos are off by ~3e-4; atan2 forms are accurate to a few ulps everywhere
  asin: () => 'atan2(a, sqrt((1.0 - a) * (1.0 + a)))',
  acos: () => 'atan2(sqrt((1.0 - a) * (1.0 + a)), a)',
};

const substitute = (template: string, args: string[]): string =>
  template.replace(/\b([abc])\b/g, (_, v: string) => args['abc'.indexOf(v)] ?? v);

/**
 * WGSL expression for one elementwise op applied to `args` (WGSL expressions of the inputs' value
 * types), yielding a value of `outDType`'s value type. Throws NoGpuKernel where there is no form.
 */
export function elementwiseExpr(op: string, attrs: Attrs, argDTypes: DType[], outDType: DType, args: string[]): string {
  const outType = valueType(outDType);
  argDTypes.forEach(valueType);
  if (op === 'cast') return `(${castExpr(argDTypes[0], outDType, args[0])})`;
  if (op === 'identity' || op === 'stopGradient') {
    if (valueType(argDTypes[0]) !== outType) throw new NoGpuKernel(`${op} from ${argDTypes[0]} to ${outDType}`);
    return args[0];
  }
  const floatLike = (d: DType): boolean => d === 'float32' || d === 'bool';
  const def = getOpDef(op);
  if (argDTypes.every(floatLike) && floatLike(outDType)) {
    const template = F32_OVERRIDES[op]?.(attrs) ?? def.elementwise?.wgsl?.(attrs, argDTypes[argDTypes.length - 1]);
    if (!template) throw new NoGpuKernel(`op '${op}' has no WGSL template`);
    const f32Args = args.map((a, k) => (argDTypes[k] === 'bool' ? `f32(${a})` : a));
    const expr = `(${substitute(template, f32Args)})`;
    return outType === 'u32' ? `select(0u, 1u, ${expr} != 0.0)` : expr;
  }
  const ints = argDTypes.filter((d) => d !== 'bool');
  if (ints.length && ints.every((d) => d === 'int32' || d === 'int64') && outDType !== 'float32') {
    const form = INT_FORMS[op];
    if (!form) throw new NoGpuKernel(`op '${op}' has no integer WGSL form`);
    if ((ints.includes('int64') || outDType === 'int64') && !form.rangeSafe) {
      throw new NoGpuKernel(`int64 '${op}' can leave the 32-bit range int64 is held in on the device`);
    }
    if (form.result !== outType) throw new NoGpuKernel(`op '${op}' on ${argDTypes.join(', ')} -> ${outDType}`);
    return `(${substitute(form.expr, args)})`;
  }
  throw new NoGpuKernel(`op '${op}' on ${argDTypes.join(', ')} -> ${outDType} has no WGSL form`);
}

/** Where a statement's argument comes from: a kernel input, or an earlier statement's result. */
export type ProgramRef = { input: number } | { step: number };

export interface ProgramStatement {
  op: string;
  attrs: Attrs;
  args: ProgramRef[];
  dtype: DType;
}

export interface GpuElementwiseProgram {
  inputs: GpuTensorInfo[];
  statements: ProgramStatement[];
  output: GpuTensorInfo;
  /**
   * Inputs that are the kernel's outputs, read and written in place: input `input` is bound as
   * output `output` (assignAdd reads the variable it writes). Output 0 receives the result; another
   * output receives statement `step` (a fusedAssign's chained updates), all of the output's shape.
   */
  inputIsOutput?: { input: number; output: number; step?: number }[];
}

/**
 * WGSL statements evaluating `program` given an expression for each input's value; returns the lines
 * and the name holding the result. `prefix` keeps the names of several instances apart (a GEMM
 * epilogue runs once per stored element).
 */
export function programLines(
  program: { inputs: { dtype: DType }[]; statements: ProgramStatement[] },
  inputValues: string[],
  prefix = 't',
): { lines: string[]; result: string } {
  const argDType = (r: ProgramRef): DType => ('input' in r ? program.inputs[r.input].dtype : program.statements[r.step].dtype);
  const argName = (r: ProgramRef): string => ('input' in r ? inputValues[r.input] : `${prefix}${r.step}`);
  const lines = program.statements.map((s, j) => {
    const expr = elementwiseExpr(s.op, s.attrs, s.args.map(argDType), s.dtype, s.args.map(argName));
    return `let ${prefix}${j} = ${expr};`;
  });
  return { lines, result: `${prefix}${program.statements.length - 1}` };
}

/** Index expressions of each input of an elementwise computation over `outShape` at flat index `i`. */
export function broadcastLoads(outShape: number[], inputs: { shape: number[] }[], i: string): string[] {
  const { shape, strides } = collapseBroadcast(outShape, inputs.map((t) => t.shape));
  return inputs.map((_, k) => broadcastIndex(i, shape, strides[k]));
}

/**
 * A constant scalar input as a WGSL literal with its exact bits (a finite float32 through its bit
 * pattern), or undefined: such inputs need no binding, so a fused update with many hyperparameters
 * stays within the device's storage buffers per shader stage (8 by default).
 */
function literalOf(t: GpuTensorInfo): string | undefined {
  if (!t.value || t.value.data.length !== 1) return undefined;
  const v = Number(t.value.data[0]);
  // a NaN or an infinity in a constant expression is a shader-creation error: those stay bound
  if (t.dtype === 'float32') return Number.isFinite(v) ? `bitcast<f32>(${new Uint32Array(Float32Array.of(v).buffer)[0]}u)` : undefined;
  if (t.dtype === 'int32' && Number.isInteger(v)) return v === -2147483648 ? 'i32(-2147483647 - 1)' : `i32(${v})`;
  if (t.dtype === 'bool') return v ? '1u' : '0u';
  return undefined;
}

/** One WGSL dispatch computing `program` over every output element. */
export function elementwiseDispatch(program: GpuElementwiseProgram, maxPerDim: number): WgslDispatch {
  const out = program.output;
  const n = sizeOf(out.shape);
  const selfInputs = new Map((program.inputIsOutput ?? []).map((s) => [s.input, s.output]));
  const literals = program.inputs.map((t, k) => (selfInputs.has(k) ? undefined : literalOf(t)));
  const bound = program.inputs.map((_, k) => k).filter((k) => !selfInputs.has(k) && literals[k] === undefined);
  const index = broadcastLoads(out.shape, program.inputs, 'i');
  const loads = program.inputs.map((_, k) =>
    selfInputs.has(k) ? `let x${k} = out${selfInputs.get(k)}[i];` : literals[k] !== undefined ? `let x${k} = ${literals[k]};` : `let x${k} = in${k}[${index[k]}];`,
  );
  const { lines, result } = programLines(program, program.inputs.map((_, k) => `x${k}`));
  const stores = (program.inputIsOutput ?? []).filter((s) => s.step !== undefined);
  const bindings: WgslBinding[] = [
    ...bound.map((k) => ({ ref: { input: k }, name: `in${k}`, type: `array<${valueType(program.inputs[k].dtype)}>` })),
    { ref: { output: 0 }, name: 'out0', type: `array<${valueType(out.dtype)}>` },
    ...stores.map((s) => ({ ref: { output: s.output }, name: `out${s.output}`, type: `array<${valueType(program.inputs[s.input].dtype)}>` })),
  ];
  const writes = [`out0[i] = ${result};`, ...stores.map((s) => `out${s.output}[i] = t${s.step};`)];
  return flatDispatch({ n, maxPerDim, bindings, body: `${[...loads, ...lines].join('\n  ')}\n  ${writes.join('\n  ')}` });
}

/** The kernel of a single registered elementwise op. */
export const elementwiseKernel: WebGpuKernel = (ctx) => {
  const program: GpuElementwiseProgram = {
    inputs: ctx.inputs,
    statements: [{ op: ctx.node.op, attrs: ctx.attrs, args: ctx.inputs.map((_, k) => ({ input: k })), dtype: ctx.outputs[0].dtype }],
    output: ctx.outputs[0],
  };
  return { dispatches: [elementwiseDispatch(program, ctx.limits.maxComputeWorkgroupsPerDimension)] };
};
