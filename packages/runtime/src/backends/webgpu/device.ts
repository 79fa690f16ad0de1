/// <reference types="@webgpu/types" preserve="true" />
import * as path from 'path';
import { GraphcError } from '@graphc/graph';
import { PipelineCache } from './pipeline-cache';

/** The machine has no usable WebGPU adapter (no GPU, no software Vulkan, or no `webgpu` package). */
export class WebGpuUnavailableError extends GraphcError {}

/** One device and what the backend learned about it; shared by every webgpu backend of the process. */
export interface GpuContext {
  /**
   * The instance and adapter the device came from. Held for the device's life: when Dawn's instance
   * is garbage collected under a live device, its threads crash the process.
   */
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  /** e.g. "llvmpipe (LLVM 19.1.7, 256 bits)" or "NVIDIA H100 80GB HBM3". */
  adapterName: string;
  /** True for a CPU-emulated adapter (Mesa lavapipe/llvmpipe, SwiftShader, WARP). */
  software: boolean;
  limits: GPUSupportedLimits;
  /** Whether the device took the 'timestamp-query' feature, so kernels can be timed on the GPU (profiling). */
  timestamps: boolean;
  /** Compiled pipelines by WGSL source: a kernel compiled once serves every plan that needs it. */
  pipelines: PipelineCache;
  layouts: Map<string, GPUBindGroupLayout>;
  /** Set when the device is lost; every later use re-acquires a device. */
  lost: string | null;
}

const HELP =
  'On Linux without a GPU, install Mesa lavapipe 24+ (software Vulkan): `bash .ci/install-gpu.sh` ' +
  '(bookworm-backports mesa-vulkan-drivers); on a GPU host, install the Vulkan driver. In browsers, WebGPU needs navigator.gpu.';

/** Limits the kernels can use beyond the WebGPU defaults: asked for at the adapter's maximum. */
const WANTED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxBindingsPerBindGroup',
] as const;

type NodeGpuModule = { create(options: string[]): GPU; globals: Record<string, unknown> };

/**
 * The GPU entry point: `navigator.gpu` in browsers; in Node the `webgpu` package (Dawn). Node >=20.19
 * can `require` that ES module; where it cannot (jest's module system), the same package's native
 * addon is loaded from its `dist/<platform>-<arch>/dawn.node`, which is what its entry point loads.
 */
function loadGpu(): GPU {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new WebGpuUnavailableError(`WebGPU is not available: navigator.gpu is undefined. ${HELP}`);
  }
  // Mesa warns on every device creation when XDG_RUNTIME_DIR is unset; any writable folder quiets it.
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = require('os').tmpdir();
  let mod: NodeGpuModule;
  try {
    mod = require('webgpu') as NodeGpuModule;
  } catch (first) {
    let pkgDir: string;
    try {
      pkgDir = path.dirname(require.resolve('webgpu/package.json'));
    } catch {
      throw new WebGpuUnavailableError(`the 'webgpu' package (Dawn for Node) is not installed: npm install webgpu. ${HELP}`);
    }
    const addon = path.join(pkgDir, 'dist', `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`, 'dawn.node');
    try {
      mod = require(addon) as NodeGpuModule;
    } catch (e) {
      throw new WebGpuUnavailableError(
        `cannot load Dawn (${addon}): ${(e as Error).message.split('\n')[0]} (entry point: ${(first as Error).message.split('\n')[0]})`,
      );
    }
  }
  // GPUBufferUsage, GPUMapMode, ... are globals in browsers; Dawn hands them out separately
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  return mod.create(dawnFlags());
}

/**
 * Dawn device toggles named in GRAPHC_WEBGPU_DAWN_TOGGLES (comma-separated; Node only), passed to
 * Dawn as `enable-dawn-features`. A tuning and diagnostic knob, read when the device is acquired:
 * `disable_robustness` drops the bounds clamps Dawn adds to every buffer access (graphc's kernels
 * bound their own indices; tests/webgpu pass with it on lavapipe), `disable_workgroup_init` the
 * zeroing of workgroup memory. bench/gpu-device.sh measures the GEMM with and without them.
 */
export function dawnFlags(value = process.env.GRAPHC_WEBGPU_DAWN_TOGGLES): string[] {
  const toggles = (value ?? '').trim();
  if (toggles === '') return [];
  if (!/^[a-z0-9_]+(,[a-z0-9_]+)*$/.test(toggles)) {
    throw new WebGpuUnavailableError(`GRAPHC_WEBGPU_DAWN_TOGGLES must be Dawn toggle names separated by commas (e.g. disable_robustness), got '${toggles}'`);
  }
  return [`enable-dawn-features=${toggles}`];
}

let pending: Promise<GpuContext> | null = null;

async function acquire(): Promise<GpuContext> {
  const gpu = loadGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new WebGpuUnavailableError(`no WebGPU adapter found. ${HELP}`);
  const requiredLimits: Record<string, number> = {};
  const supported = adapter.limits as unknown as Record<string, number>;
  for (const k of WANTED_LIMITS) if (typeof supported[k] === 'number') requiredLimits[k] = supported[k];
  // timestamps cost nothing until a profiling session writes them
  const timestamps = adapter.features.has('timestamp-query');
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures: timestamps ? ['timestamp-query'] : [] });
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const adapterName = [info.description, info.device, info.vendor, info.architecture].find((s) => s && s.length > 0) ?? 'unknown adapter';
  const text = `${info.description ?? ''} ${info.device ?? ''} ${info.architecture ?? ''}`.toLowerCase();
  const software =
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|warp|software/.test(text);
  const ctx: GpuContext = { gpu, adapter, device, adapterName, software, timestamps, limits: device.limits, pipelines: new PipelineCache(), layouts: new Map(), lost: null };
  void device.lost.then((reason) => {
    ctx.lost = reason.message || String(reason.reason);
    if (pending && current === ctx) pending = null;
  });
  current = ctx;
  return ctx;
}

let current: GpuContext | null = null;

/** The process's WebGPU device, acquired on first use; rejects with WebGpuUnavailableError saying why. */
export function getGpu(): Promise<GpuContext> {
  if (!pending) {
    pending = acquire().catch((e: unknown) => {
      pending = null;
      if (e instanceof GraphcError) throw e;
      throw new WebGpuUnavailableError(`WebGPU device creation failed: ${(e as Error).message ?? String(e)}. ${HELP}`);
    });
  }
  return pending;
}

/** The device if it is already acquired (synchronous paths such as compile use it after ready()). */
export function currentGpu(): GpuContext | null {
  return current && !current.lost ? current : null;
}

/** Whether WebGPU works here, and if not why: tests use it to skip with the reason. Never throws. */
export async function webgpuAvailability(): Promise<{ available: boolean; reason?: string; adapter?: string; software?: boolean }> {
  try {
    const ctx = await getGpu();
    return { available: true, adapter: ctx.adapterName, software: ctx.software };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

/** Destroys the shared device (lets a Node process exit promptly); the next use acquires a new one. */
export function releaseGpu(): void {
  const ctx = current;
  current = null;
  pending = null;
  ctx?.device.destroy();
}

let tail: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` after every earlier GPU job of the process has finished: runs share arena and staging
 * buffers, and mapping a buffer twice at once is an error, so device work is serialized.
 */
export function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const result = tail.then(fn, fn);
  tail = result.catch(() => undefined);
  return result;
}

/** Counts of objects created on the device: tests check that runs create none. */
export const creationCounts = { pipelines: 0, bindGroups: 0, buffers: 0 };

/** Bytes of the buffers graphc holds on the device: created and not destroyed yet (tests check a session's stay bounded). */
export const deviceMemory = { liveBytes: 0 };
const live = new WeakSet<GPUBuffer>();

export function createBuffer(device: GPUDevice, size: number, usage: number, label?: string): GPUBuffer {
  creationCounts.buffers++;
  const buffer = device.createBuffer({ size, usage, label });
  live.add(buffer);
  deviceMemory.liveBytes += buffer.size;
  return buffer;
}

/** Destroys a buffer createBuffer made (once: a second call does nothing). */
export function destroyBuffer(buffer: GPUBuffer): void {
  if (!live.delete(buffer)) return;
  deviceMemory.liveBytes -= buffer.size;
  buffer.destroy();
}

/** Copies `bytes` from each buffer to the host with one submit (plus the encoder's other work). */
export async function readBack(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  sources: { buffer: GPUBuffer; bytes: number }[],
  staging: GPUBuffer | null,
): Promise<ArrayBuffer[]> {
  const offsets: number[] = [];
  let total = 0;
  for (const s of sources) {
    offsets.push(total);
    total += Math.ceil(s.bytes / 4) * 4;
  }
  if (total === 0) {
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return sources.map(() => new ArrayBuffer(0));
  }
  const own = !staging || staging.size < total;
  const target = own ? createBuffer(device, Math.ceil(total / 16) * 16, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'graphc readback') : staging!;
  sources.forEach((s, i) => {
    if (s.bytes > 0) encoder.copyBufferToBuffer(s.buffer, 0, target, offsets[i], Math.ceil(s.bytes / 4) * 4);
  });
  device.queue.submit([encoder.finish()]);
  await target.mapAsync(GPUMapMode.READ, 0, total);
  const mapped = target.getMappedRange(0, total);
  const out = sources.map((s, i) => mapped.slice(offsets[i], offsets[i] + s.bytes));
  target.unmap();
  if (own) destroyBuffer(target);
  return out;
}
