import { DType, GraphcError, TypedArray, allocArray } from '@graphc/graph';
import type { GpuJsInstance, GpuJsKernelShortcut, GpujsMode } from './gpu';
import type { KernelSource } from './program';

/**
 * A tensor as gpu.js holds it: a Float32Array on the host modes (cpu, webasm), a device-resident
 * result (a WebGPU buffer, a GL texture) on the others.
 */
export type DeviceValue = Float32Array | { toArray(): Float32Array | Promise<Float32Array>; delete(): void };

export function isHostValue(v: DeviceValue): v is Float32Array {
  return v instanceof Float32Array;
}

export async function download(v: DeviceValue): Promise<Float32Array> {
  if (isHostValue(v)) return v;
  const out = await v.toArray();
  return out instanceof Float32Array ? out : Float32Array.from(out as ArrayLike<number>);
}

/** Frees a device value (host arrays are left to the garbage collector). */
export function release(v: DeviceValue | undefined): void {
  if (v && !isHostValue(v)) v.delete();
}

/**
 * float32 kernel results in a dtype's storage. Integer dtypes round values within float32 error of an
 * integer (a GPU's pow(2, 3) may be 7.9999995) and truncate the rest, as integer storage does.
 */
export function fromFloat32(data: Float32Array, dtype: DType): TypedArray {
  switch (dtype) {
    case 'float32':
      return data.slice();
    case 'float64':
      return Float64Array.from(data);
    case 'bool': {
      const out = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = data[i] !== 0 ? 1 : 0;
      return out;
    }
    default: {
      const out = allocArray(dtype, data.length);
      for (let i = 0; i < data.length; i++) {
        const x = data[i];
        const r = Math.round(x);
        out[i] = Math.abs(x - r) <= 1e-4 * Math.max(1, Math.abs(r)) ? r : Math.trunc(x);
      }
      return out;
    }
  }
}

/**
 * gpu.js kernels of one backend, compiled once per source: every step and plan with the same op and
 * shapes shares one. Each call hands back a new result (`immutable`), so results of one kernel can
 * be held at once, and a kernel may read its own earlier result.
 */
export class KernelCache {
  private readonly kernels = new Map<string, GpuJsKernelShortcut>();
  /** Modes kernels actually ran on: gpu.js may silently degrade a kernel to its cpu mode. */
  readonly modesRan = new Set<string>();
  /** Kernels gpu.js degraded, with its reason. */
  readonly fallbacks: string[] = [];
  private checked = new WeakSet<GpuJsKernelShortcut>();

  constructor(
    readonly gpu: GpuJsInstance,
    readonly mode: GpujsMode,
  ) {}

  get(k: KernelSource): GpuJsKernelShortcut {
    const key = `${k.size}|${k.source}`;
    let kernel = this.kernels.get(key);
    if (!kernel) {
      kernel = this.gpu.createKernel(k.source, {
        output: [k.size],
        pipeline: true,
        immutable: true,
        precision: 'single',
        tactic: 'precision',
        functions: k.functions,
      });
      this.kernels.set(key, kernel);
    }
    return kernel;
  }

  /** Copies a host array to the device (an identity kernel), or returns it on the host modes. */
  upload(data: Float32Array): DeviceValue | Promise<DeviceValue> {
    if (!isDeviceModeName(this.mode)) return data;
    const k = this.get({ source: 'function(a) {\nreturn a[this.thread.x];\n}', size: data.length, functions: [] });
    return this.call(k, [data]);
  }

  /** Runs a kernel and records the mode it ran on. */
  async call(kernel: GpuJsKernelShortcut, args: unknown[]): Promise<DeviceValue> {
    const out = (await kernel(...args)) as DeviceValue;
    if (!this.checked.has(kernel)) {
      this.checked.add(kernel);
      const ran = modeOf(kernel.kernel);
      this.modesRan.add(ran);
      if (ran !== this.mode) this.fallbacks.push(`a kernel ran on gpu.js mode '${ran}': ${kernel.kernel.fallbackReason ?? 'no reason given'}`);
    }
    if (!(out instanceof Float32Array) && (out === null || typeof out !== 'object' || typeof (out as { toArray?: unknown }).toArray !== 'function')) {
      throw new GraphcError(`gpujs: a kernel returned ${Object.prototype.toString.call(out)}, not a tensor`);
    }
    return out;
  }

  dispose(): void {
    for (const k of this.kernels.values()) {
      try {
        k.destroy();
      } catch {
        // a kernel that never built has nothing to free
      }
    }
    this.kernels.clear();
  }
}

/**
 * The gpu.js mode a kernel instance runs on. gpu.js's own `constructor.mode` says 'gpu' for all three
 * GL kernels, so the class tells them apart.
 */
export function modeOf(kernel: { constructor: { name: string; mode: string } }): string {
  const byClass: Record<string, string> = {
    HeadlessGLKernel: 'headlessgl',
    WebGL2Kernel: 'webgl2',
    WebGLKernel: 'webgl',
    WebGPUKernel: 'webgpu',
    WebAssemblyKernel: 'webasm',
    CPUKernel: 'cpu',
  };
  return byClass[kernel.constructor.name] ?? kernel.constructor.mode;
}

function isDeviceModeName(mode: GpujsMode): boolean {
  return mode === 'webgpu' || mode === 'headlessgl' || mode === 'webgl2' || mode === 'webgl';
}
