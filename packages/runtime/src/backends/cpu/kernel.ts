import { Attrs, DType, GraphcError, Node, OutputInfo, TensorValue, TypedArray, UnsupportedOpError, allocArray, getOpDef, sizeOf } from '@graphc/graph';
import { Prng, opSeed } from '../../random';
import { ElementwiseProgram, runElementwise } from './elementwise';
import type { BlockEpilogue } from './wasm-elementwise';

/** What a CPU kernel may use besides its inputs and attrs. */
export interface KernelContext {
  node: Node;
  /** Output types specialized to this run's feed shapes (dims may still be null if data-dependent). */
  outputs: OutputInfo[];
  /** Allocates an output; the memory planner hooks this to hand out arena views. */
  alloc(dtype: DType, shape: number[]): TensorValue;
  /** This node's seeded generator, which persists across runs of the session. */
  rng(): Prng;
  /** Variable storage of the session. */
  variables: Map<string, TensorValue>;
}

export type CpuKernel = (inputs: TensorValue[], attrs: Attrs, ctx: KernelContext) => TensorValue[];

const kernels = new Map<string, CpuKernel>();

/**
 * A kernel that can apply a fused node's elementwise epilogue itself while its result is in cache
 * (conv2d applies it to each block of the GEMM's output): `epilogueFor(out)` gives the epilogue over
 * its output `out`, or null. It returns its outputs and whether it applied the epilogue; where it did
 * not, the fused kernel runs the epilogue as a pass of its own.
 */
export type CpuEpilogueKernel = (
  inputs: TensorValue[],
  attrs: Attrs,
  ctx: KernelContext,
  epilogueFor: (out: TensorValue) => BlockEpilogue | null,
) => { outputs: TensorValue[]; applied: boolean };

const epilogueKernels = new Map<string, CpuEpilogueKernel>();

/** Registers `op`'s kernel that applies epilogues, and as `op`'s plain kernel the same without one. */
export function registerCpuEpilogueKernel(op: string, kernel: CpuEpilogueKernel): void {
  if (epilogueKernels.has(op)) throw new GraphcError(`cpu epilogue kernel for '${op}' is registered twice`);
  epilogueKernels.set(op, kernel);
  registerCpuKernel(op, (inputs, attrs, ctx) => kernel(inputs, attrs, ctx, () => null).outputs);
}

export function getCpuEpilogueKernel(op: string): CpuEpilogueKernel | undefined {
  return epilogueKernels.get(op);
}

export function registerCpuKernel(op: string, kernel: CpuKernel): void {
  if (kernels.has(op)) throw new GraphcError(`cpu kernel for '${op}' is registered twice`);
  kernels.set(op, kernel);
}

/** Kernel for `op`: a registered one, else one generated from the OpDef's elementwise expression. */
export function getCpuKernel(op: string): CpuKernel | undefined {
  const registered = kernels.get(op);
  if (registered) return registered;
  const def = getOpDef(op);
  if (!def.elementwise) return undefined;
  const expr = def.elementwise;
  // a node's attrs and dtypes are fixed: its program is built once (and so its loop found at once)
  const programs = new WeakMap<Node, ElementwiseProgram>();
  const kernel: CpuKernel = (inputs, attrs, ctx) => {
    const out = ctx.outputs[0];
    const shape = broadcastResultShape(inputs.map((i) => i.shape));
    let program = programs.get(ctx.node);
    if (!program || program.inputDTypes.some((d, k) => d !== inputs[k].dtype)) {
      program = {
        inputDTypes: inputs.map((i) => i.dtype),
        statements: [{ js: expr.js(attrs, inputs[inputs.length - 1].dtype), args: inputs.map((_, k) => ({ input: k })), dtype: out.dtype }],
      };
      programs.set(ctx.node, program);
    }
    const result = ctx.alloc(out.dtype, shape);
    runElementwise(program, inputs, shape, result.data);
    return [result];
  };
  kernels.set(op, kernel);
  return kernel;
}

/** numpy broadcast of concrete shapes (inputs were checked at build time). */
export function broadcastResultShape(shapes: number[][]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = s[i];
      const o = rank - s.length + i;
      if (d !== 1) {
        if (out[o] !== 1 && out[o] !== d) {
          throw new GraphcError(`shapes ${shapes.map((x) => `[${x}]`).join(' and ')} cannot be broadcast`);
        }
        out[o] = d;
      }
    }
  }
  return out;
}

export function hasCpuKernel(op: string): boolean {
  return getCpuKernel(op) !== undefined;
}

/** Plain allocation, used where no planner is attached. */
export function heapAlloc(dtype: DType, shape: number[]): TensorValue {
  return { dtype, shape: [...shape], data: allocArray(dtype, sizeOf(shape)) as TypedArray };
}

/** Evaluates one node on concrete inputs (constant folding uses this). */
export function evaluateNode(node: Node, inputs: TensorValue[]): TensorValue[] {
  const kernel = getCpuKernel(node.op);
  if (!kernel) throw new UnsupportedOpError(`no cpu kernel for op '${node.op}' (node '${node.name}')`, [node.op]);
  const rngs = new Map<string, Prng>();
  return kernel(inputs, node.attrs, {
    node,
    outputs: node.outputs,
    alloc: heapAlloc,
    rng: () => rngs.get(node.name) ?? rngs.set(node.name, new Prng(opSeed(node.attrs.seed, node.name))).get(node.name)!,
    variables: new Map(),
  });
}
