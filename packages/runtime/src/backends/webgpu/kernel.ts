/// <reference types="@webgpu/types" preserve="true" />
import { Attrs, DType, GraphcError, Node, TensorValue } from '@graphc/graph';

/** A tensor as a kernel builder sees it: shapes are concrete (the plan is specialized to its feeds). */
export interface GpuTensorInfo {
  dtype: DType;
  shape: number[];
  /** The value, for an input the plan knows at compile time (a constant): kernels may bake it in. */
  value?: TensorValue;
}

/**
 * What one `@binding(i)` of a dispatch is bound to: an input, an output, a scratch buffer of the
 * node, or a small buffer the node keeps in the session's state across runs (a generator's counter).
 */
export type BindingRef = { input: number } | { output: number } | { scratch: number } | { state: number };

export interface WgslBinding {
  ref: BindingRef;
  /** The WGSL variable name the body uses. */
  name: string;
  /** Its WGSL store type, e.g. `array<f32>` or `array<vec4<f32>>`. */
  type: string;
  /** Inputs are read-only and everything else read-write unless this says otherwise. */
  access?: 'read' | 'read_write';
}

/**
 * One compute dispatch. The executable declares the bindings (inputs read-only, outputs and scratch
 * read-write, in `@group(0)` in this order), prepends the helper functions the body calls, and
 * creates the pipeline and bind group when the plan compiles.
 */
export interface WgslDispatch {
  bindings: WgslBinding[];
  /** Everything but the binding declarations: constants, functions and `@compute fn main`. */
  body: string;
  workgroups: [number, number, number];
}

export interface KernelPlan {
  dispatches: WgslDispatch[];
  /** Temporary buffers (bytes each) alive only during this node's dispatches. */
  scratch?: number[];
  /**
   * Validation a kernel cannot do (it has no way to raise an error): run on the host before the run
   * when that input's value is on the host anyway (a feed or a constant). Returns an error message.
   */
  hostChecks?: { input: number; check: (value: TensorValue) => string | null }[];
  /** Buffers kept in the session's state under `key` (created from `init` on first use), bound as `{ state: i }`. */
  state?: { key: string; init: () => Uint32Array }[];
}

export interface WebGpuKernelContext {
  node: Node;
  attrs: Attrs;
  inputs: GpuTensorInfo[];
  outputs: GpuTensorInfo[];
  limits: GPUSupportedLimits;
  /** The adapter emulates a GPU on the CPU (lavapipe): kernels may shape their work for few cores. */
  software: boolean;
}

/**
 * Builds the dispatches of one node. Throws NoGpuKernel for a configuration it has no WGSL for
 * (float64, int64 arithmetic, ...): the node then runs through the CPU fallback, recorded in the plan.
 */
export type WebGpuKernel = (ctx: WebGpuKernelContext) => KernelPlan;

/** Not an error: the reason a node runs through the CPU fallback instead of a WGSL kernel. */
export class NoGpuKernel extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const kernels = new Map<string, WebGpuKernel>();

export function registerWebGpuKernel(op: string, kernel: WebGpuKernel): void {
  if (kernels.has(op)) throw new GraphcError(`webgpu kernel for '${op}' is registered twice`);
  kernels.set(op, kernel);
}

export function getWebGpuKernel(op: string): WebGpuKernel | undefined {
  return kernels.get(op);
}

export function webGpuKernelOps(): string[] {
  return [...kernels.keys()];
}

/** Fails with NoGpuKernel unless every tensor's dtype is one of `allowed`. */
export function requireDTypes(ctx: WebGpuKernelContext, allowed: readonly DType[]): void {
  for (const t of [...ctx.inputs, ...ctx.outputs]) {
    if (!allowed.includes(t.dtype)) {
      throw new NoGpuKernel(`${t.dtype} ${t.dtype === 'float64' ? '(no 64-bit floats in WGSL)' : 'is not handled by its WGSL kernel'}`);
    }
  }
}

/** The common binding list: every input read-only, then output 0. */
export function standardBindings(ctx: WebGpuKernelContext, types: { inputs: string[]; output: string }): WgslBinding[] {
  return [
    ...types.inputs.map((type, i) => ({ ref: { input: i }, name: `in${i}`, type })),
    { ref: { output: 0 }, name: 'out0', type: types.output },
  ];
}
