import {
  Attrs,
  DType,
  GraphcError,
  Node,
  OutputInfo,
  ShapeError,
  TensorValue,
  UnsupportedOpError,
  getOpDef,
  writtenInputs,
  sizeOf,
} from '@graphc/graph';
import type { Plan } from '../../plan';
import type { Prng } from '../../random';
import { helperFunctions } from './helpers';

/**
 * A plan lowered to gpu.js kernels. Every tensor lives as a flat float32 array (gpu.js computes in
 * float32; ints and bools are exact float32 integers up to 2^24), so a kernel is one function over
 * the output's flat index `i`, with every shape baked into its source as literals: one compiled
 * kernel per op and shape signature, reused by every step and plan that has the same source.
 */

/** Where a value comes from when the program runs. */
export type Ref =
  | { kind: 'feed'; index: number }
  /** A host value fixed at compile time (graph constants, identities of empty reductions). */
  | { kind: 'const'; id: number }
  /** A variable's value at this point of the run: assigns earlier in the schedule replace it. */
  | { kind: 'variable'; name: string }
  | { kind: 'step'; step: number }
  /** Drawn on the host each run by the session's seeded generator (random ops). */
  | { kind: 'random'; id: number }
  /** Derived on the host each run from a feed's own values, before they become float32 (see LowerContext.fromHost). */
  | { kind: 'derived'; id: number }
  /** No elements. */
  | { kind: 'empty' };

export interface TensorRef {
  ref: Ref;
  dtype: DType;
  shape: number[];
}

export interface KernelSource {
  /** `function(x0, x1, ...) { ... }`: gpu.js source over the output flat index. */
  source: string;
  /** Output element count. */
  size: number;
  /** gpu.js function definitions the source calls. */
  functions: { source: string; settings: Record<string, unknown> }[];
}

export interface ProgramStep {
  kernel: KernelSource;
  args: Ref[];
  /** The node this step computes (a node may lower to several steps). */
  node: string;
}

/** Draws one random tensor on the host for one run. */
export interface RandomSource {
  id: number;
  size: number;
  draw(): Float32Array;
}

/** Derives one tensor on the host for one run from a feed's values as fed (int32 words exact). */
export interface DerivedSource {
  id: number;
  /** The feed, by plan feed order. */
  feed: number;
  derive(data: ArrayLike<number>): Float32Array;
}

export interface Program {
  steps: ProgramStep[];
  consts: Float32Array[];
  randoms: RandomSource[];
  derived: DerivedSource[];
  /** Variable updates in schedule order: after `afterStep` runs, the variable holds `ref`. */
  writes: { name: string; afterStep: number; ref: Ref }[];
  /** Variables the program reads (at any point). */
  reads: Set<string>;
  fetches: TensorRef[];
  /** Shapes of the variables the program touches. */
  variables: Map<string, { dtype: DType; shape: number[] }>;
}

/** What a kernel lowering sees and can do. */
export interface LowerContext {
  node: Node;
  attrs: Attrs;
  inputs: TensorRef[];
  /** Output types with concrete shapes. */
  outputs: { dtype: DType; shape: number[] }[];
  /** `op 'x' (node 'y'): ` for messages. */
  where: string;
  /**
   * Adds a kernel computing a tensor of `shape`; `body` gets the argument names (x0, x1, ...) and
   * returns statements over the output flat index `i` that end in `return`.
   */
  kernel(shape: number[], dtype: DType, args: TensorRef[], body: (names: string[]) => string): TensorRef;
  /** A value fixed at compile time. */
  constant(values: ArrayLike<number>, shape: number[], dtype: DType): TensorRef;
  /** The value of a one-element constant (as the kernels hold it, in float32), else undefined. */
  scalarConstant(t: TensorRef): number | undefined;
  /** The same data seen with another shape (reshape, identity). */
  alias(t: TensorRef, shape: number[], dtype?: DType): TensorRef;
  /** A tensor the host fills each run (random draws). */
  hostRandom(shape: number[], dtype: DType, draw: (size: number) => Float32Array): TensorRef;
  /**
   * A tensor of `shape` the host derives from `t`'s values as the graph holds them, before they
   * become float32 (so int32 values past 2^24 are exact): once now for a constant, each run for a
   * feed (or a view of either). Undefined where only a float32 copy exists (a kernel's result, a
   * variable).
   */
  fromHost(t: TensorRef, shape: number[], dtype: DType, derive: (data: ArrayLike<number>) => ArrayLike<number>): TensorRef | undefined;
  /** This node's seeded generator, persisting across the session's runs (the CPU backend's stream). */
  rng(): Prng;
}

export type Lowering = (ctx: LowerContext) => TensorRef[];

const lowerings = new Map<string, Lowering>();

export function registerGpujsKernel(op: string, lowering: Lowering): void {
  if (lowerings.has(op)) throw new GraphcError(`gpujs kernel for '${op}' is registered twice`);
  lowerings.set(op, lowering);
}

/** Ops the program builder handles itself (sources, no-ops; updates, by their OpDef's `assignment`). */
const BUILTIN = new Set(['placeholder', 'const', 'variable', 'noOp']);

/** The lowering of `op`, or undefined if the gpujs backend has none. */
export function getGpujsLowering(op: string): Lowering | undefined {
  const own = lowerings.get(op);
  if (own) return own;
  const def = getOpDef(op);
  if (def.aliasesInput) return aliasLowering;
  return fallbackLowerings.find((f) => f.applies(op))?.lowering;
}

export function hasGpujsKernel(op: string): boolean {
  return BUILTIN.has(op) || getOpDef(op).assignment !== undefined || getGpujsLowering(op) !== undefined;
}

const unsupported = new Map<string, string>();

/**
 * Declares that the gpujs backend cannot run `op`, and why (a plan using it fails to compile with
 * that reason). For ops no fixed-size kernel can express, not for kernels not yet written.
 */
export function registerGpujsUnsupported(op: string, reason: string): void {
  unsupported.set(op, reason);
}

/** Why the gpujs backend cannot run `op`, if it was declared unsupported. */
export function gpujsUnsupportedReason(op: string): string | undefined {
  return unsupported.get(op);
}

/** Lowerings that cover a whole class of ops (every elementwise op), consulted after exact ones. */
const fallbackLowerings: { applies(op: string): boolean; lowering: Lowering }[] = [];

export function registerGpujsFallback(applies: (op: string) => boolean, lowering: Lowering): void {
  fallbackLowerings.push({ applies, lowering });
}

const aliasLowering: Lowering = (ctx) => [ctx.alias(ctx.inputs[0], ctx.outputs[0].shape, ctx.outputs[0].dtype)];

/** Storage of a host value as gpu.js sees it. */
export function toFloat32(data: ArrayLike<number>): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

export interface BuildOptions {
  /** Per-node generator of seeded draws, persisting across runs (the session's streams). */
  rng(node: Node): Prng;
}

/** Lowers a plan to gpu.js kernels. Throws UnsupportedOpError listing every op without a kernel. */
export function buildProgram(plan: Plan, options: BuildOptions): Program {
  const missing = [...new Set(plan.schedule.map((n) => n.op).filter((op) => !hasGpujsKernel(op)))];
  if (missing.length) {
    const why = missing.map((op) => (unsupported.has(op) ? `${op} (${unsupported.get(op)})` : op));
    throw new UnsupportedOpError(`the gpujs backend has no kernel for: ${why.join(', ')}`, missing);
  }
  const program: Program = { steps: [], consts: [], randoms: [], derived: [], writes: [], reads: new Set(), fetches: [], variables: new Map() };
  const values = new Map<string, TensorRef>();
  const key = (node: Node, index: number): string => `${node.id}:${index}`;
  const concrete = (node: Node): { dtype: DType; shape: number[] }[] => {
    const info: OutputInfo[] = plan.outputInfo.get(node) ?? node.outputs;
    return info.map((o) => {
      if (!o.shape.every((d) => d !== null)) {
        throw new ShapeError(`op '${node.op}' (node '${node.name}'): output shape is not known before the run; the gpujs backend needs static shapes`);
      }
      return { dtype: o.dtype, shape: o.shape as number[] };
    });
  };
  // each constant's values as given (program.consts holds them as float32), for fromHost while lowering
  const given: ArrayLike<number>[] = [];
  const constant = (values: ArrayLike<number>, shape: number[], dtype: DType): TensorRef => {
    if (sizeOf(shape) === 0) return { ref: { kind: 'empty' }, dtype, shape };
    program.consts.push(toFloat32(values));
    given.push(values);
    return { ref: { kind: 'const', id: program.consts.length - 1 }, dtype, shape };
  };
  plan.feeds.forEach((f, index) => {
    const info = concrete(f.node)[f.index];
    values.set(key(f.node, f.index), { ref: sizeOf(info.shape) === 0 ? { kind: 'empty' } : { kind: 'feed', index }, ...info });
  });
  const fed = new Set(plan.feeds.map((f) => f.node));
  for (const node of plan.schedule) {
    if (fed.has(node)) continue;
    const outputs = concrete(node);
    const inputs = node.inputs.map((t) => {
      const v = values.get(key(t.node, t.index));
      if (!v) throw new GraphcError(`gpujs: input '${t.name}' of node '${node.name}' is not computed before it`);
      return v;
    });
    const where = `op '${node.op}' (node '${node.name}'): `;
    let results: TensorRef[];
    const assignment = getOpDef(node.op).assignment;
    if (assignment) {
      const ctx = lowerContext(program, node, inputs, outputs, where, constant, given, () => options.rng(node));
      // a fused update lowers as a kernel (its own lowering); the writes follow the node's last kernel
      results = assignment === 'program' ? getGpujsLowering(node.op)!(ctx) : [assignLowering(ctx, assignment)];
      writtenInputs(node.op, node.attrs).forEach((k, j) => {
        const target = node.inputs[k].node;
        program.variables.set(target.name, { dtype: target.outputs[0].dtype, shape: target.outputs[0].shape as number[] });
        if (results[j].ref.kind !== 'empty') program.writes.push({ name: target.name, afterStep: program.steps.length - 1, ref: results[j].ref });
      });
    } else switch (node.op) {
      case 'const': {
        const v = node.attrs.value as TensorValue;
        results = [constant(v.data, v.shape, v.dtype)];
        break;
      }
      case 'placeholder':
        throw new GraphcError(`placeholder '${node.name}' must be fed`);
      case 'variable': {
        const info = outputs[0];
        program.variables.set(node.name, info);
        program.reads.add(node.name);
        results = [{ ref: sizeOf(info.shape) === 0 ? { kind: 'empty' } : { kind: 'variable', name: node.name }, ...info }];
        break;
      }
      case 'noOp':
        results = [];
        break;
      default: {
        const ctx = lowerContext(program, node, inputs, outputs, where, constant, given, () => options.rng(node));
        results = getGpujsLowering(node.op)!(ctx);
      }
    }
    results.forEach((r, i) => values.set(key(node, i), r));
  }
  program.fetches = plan.fetches.map((f) => {
    const v = values.get(key(f.node, f.index));
    if (!v) throw new GraphcError(`gpujs: fetch '${f.name}' is not computed by the plan`);
    return v;
  });
  return program;
}

function lowerContext(
  program: Program,
  node: Node,
  inputs: TensorRef[],
  outputs: { dtype: DType; shape: number[] }[],
  where: string,
  constant: LowerContext['constant'],
  given: ArrayLike<number>[],
  rng: () => Prng,
): LowerContext {
  return {
    rng,
    node,
    attrs: node.attrs,
    inputs,
    outputs,
    where,
    constant,
    scalarConstant: (t) => (t.ref.kind === 'const' && sizeOf(t.shape) === 1 ? program.consts[t.ref.id][0] : undefined),
    kernel(shape, dtype, args, body) {
      const size = sizeOf(shape);
      if (size === 0) return { ref: { kind: 'empty' }, dtype, shape };
      const live = args.filter((a) => a.ref.kind !== 'empty');
      if (live.length !== args.length) {
        throw new GraphcError(`${where}an input of ${sizeOf(shape)} outputs has no elements`);
      }
      const names = args.map((_, k) => `x${k}`);
      const text = `function(${names.join(', ')}) {\nconst i = this.thread.x;\n${body(names)}\n}`;
      program.steps.push({ kernel: { source: text, size, functions: helperFunctions(text) }, args: args.map((a) => a.ref), node: node.name });
      return { ref: { kind: 'step', step: program.steps.length - 1 }, dtype, shape };
    },
    alias(t, shape, dtype) {
      if (sizeOf(shape) !== sizeOf(t.shape)) throw new ShapeError(`${where}cannot view [${t.shape}] as [${shape}]`);
      return { ref: t.ref, dtype: dtype ?? t.dtype, shape: [...shape] };
    },
    hostRandom(shape, dtype, draw) {
      const size = sizeOf(shape);
      if (size === 0) return { ref: { kind: 'empty' }, dtype, shape };
      const id = program.randoms.length;
      program.randoms.push({ id, size, draw: () => draw(size) });
      return { ref: { kind: 'random', id }, dtype, shape };
    },
    fromHost(t, shape, dtype, derive) {
      const size = sizeOf(shape);
      const checked = (data: ArrayLike<number>): Float32Array => {
        const out = toFloat32(derive(data));
        if (out.length !== size) throw new GraphcError(`${where}a host-derived tensor has ${out.length} values, its shape [${shape}] ${size}`);
        return out;
      };
      // an empty feed or constant has nothing to read: derive from no values
      if (t.ref.kind === 'empty') return constant(checked(new Float32Array(0)), shape, dtype);
      if (t.ref.kind === 'const') return constant(checked(given[t.ref.id]), shape, dtype);
      if (t.ref.kind !== 'feed') return undefined;
      if (size === 0) return { ref: { kind: 'empty' }, dtype, shape };
      const id = program.derived.length;
      program.derived.push({ id, feed: t.ref.index, derive: checked });
      return { ref: { kind: 'derived', id }, dtype, shape };
    },
  };
}

/** assign: the value broadcast to the variable; assignAdd/Sub: old value +- the broadcast value. */
function assignLowering(ctx: LowerContext, op: 'replace' | 'add' | 'sub'): TensorRef {
  const [ref, value] = ctx.inputs;
  const shape = ref.shape;
  if (sizeOf(shape) === 0) return { ref: { kind: 'empty' }, dtype: ref.dtype, shape };
  const read = broadcastRead(value.shape, shape);
  if (op === 'replace') {
    // a plain copy still needs a kernel: the variable must not alias a feed or another tensor's storage
    return ctx.kernel(shape, ref.dtype, [value], ([v]) => `${read.code}return ${v}[${read.index}];`);
  }
  const sign = op === 'add' ? '+' : '-';
  return ctx.kernel(shape, ref.dtype, [ref, value], ([old, v]) => `${read.code}return ${old}[i] ${sign} ${v}[${read.index}];`);
}

/**
 * Code reading an input of `inShape` broadcast to `outShape` at output flat index `i`: statements
 * (declaring coordinates) and the input's flat index expression.
 */
export function broadcastRead(inShape: readonly number[], outShape: readonly number[], prefix = 'b', flat = 'i'): { code: string; index: string } {
  const size = sizeOf(inShape);
  if (size === 1) return { code: '', index: '0' };
  const outSize = sizeOf(outShape);
  const offset = outShape.length - inShape.length;
  const same = size === outSize && inShape.every((d, k) => d === outShape[k + offset] || d === 1);
  if (same) return { code: '', index: flat };
  const coords = coordinates(outShape, flat, prefix);
  let stride = 1;
  const terms: string[] = [];
  for (let d = inShape.length - 1; d >= 0; d--) {
    if (inShape[d] !== 1) terms.push(stride === 1 ? coords.names[d + offset] : `${coords.names[d + offset]} * ${stride}`);
    stride *= inShape[d];
  }
  return { code: coords.code, index: terms.length ? terms.join(' + ') : '0' };
}

/**
 * Statements decomposing flat index `flat` over `shape` into coordinates named `${prefix}${d}`;
 * size-1 dimensions get the literal 0. Exact in float32 for indices below 2^24.
 */
export function coordinates(shape: readonly number[], flat: string, prefix: string): { code: string; names: string[] } {
  const names: string[] = new Array(shape.length);
  const lines: string[] = [];
  let rest = flat;
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const dim = shape[d];
    if (dim === 1) {
      names[d] = '0';
      continue;
    }
    // every dimension above d has size 1: the remaining quotient is the coordinate itself
    const outer = shape.slice(0, d).every((x) => x === 1);
    if (outer) {
      names[d] = rest;
    } else {
      names[d] = `${prefix}${d}`;
      lines.push(`const ${prefix}${d} = ${rest} % ${dim};`);
      const q = `${prefix}q${d}`;
      lines.push(`const ${q} = Math.floor(${rest} / ${dim});`);
      rest = q;
    }
    stride *= dim;
  }
  return { code: lines.length ? `${lines.join('\n')}\n` : '', names };
}
