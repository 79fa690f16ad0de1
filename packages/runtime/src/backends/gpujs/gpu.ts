import * as path from 'path';
import { GraphcError } from '@graphc/graph';

/**
 * gpu.js's modes that can run kernels: 'webgpu' (WGSL compute shaders; in Node through Dawn, the
 * `webgpu` package), 'headlessgl' (GLSL through headless-gl, the optional native `gl` package),
 * 'webgl2'/'webgl' (browsers), 'webasm' (WebAssembly with SIMD) and 'cpu' (JavaScript).
 */
export type GpujsMode = 'webgpu' | 'headlessgl' | 'webgl2' | 'webgl' | 'webasm' | 'cpu';

export const GPUJS_MODES: readonly GpujsMode[] = ['webgpu', 'headlessgl', 'webgl2', 'webgl', 'webasm', 'cpu'];

/** What the backend needs of gpu.js (its own typings describe a v2 surface without pipelines). */
export interface GpuJsKernelShortcut {
  (...args: unknown[]): unknown;
  kernel: { constructor: { mode: string; name: string }; fallbackReason?: string | null };
  destroy(): void;
}

export interface GpuJsPipelineShortcut {
  (...args: unknown[]): Promise<unknown>;
  readonly executorKind: string;
  readonly fallbackReason: string | null;
  readonly backend: string | null;
  /** gpu.js's plan: the private kernel instances the pipeline runs (its generic executor's clones). */
  readonly pipeline: { plan: { kernels: { clone: GpuJsKernelShortcut }[]; genericClones: Map<string, GpuJsKernelShortcut> } | null };
  destroy(): Promise<void> | void;
}

export interface GpuJsInstance {
  mode: string;
  createKernel(source: string, settings: Record<string, unknown>): GpuJsKernelShortcut;
  createPipeline(fn: (...args: unknown[]) => unknown, settings?: Record<string, unknown>): GpuJsPipelineShortcut;
  destroy(): Promise<void>;
}

interface GpuJsModule {
  GPU: {
    new (settings: { mode?: string }): GpuJsInstance;
    isHeadlessGLSupported: boolean;
    isWebGL2Supported: boolean;
    isWebGLSupported: boolean;
    isWebAssemblySupported: boolean;
    isWebGPUSupported: boolean;
    isWebGPUAvailable(): Promise<boolean>;
  };
}

let gpujs: GpuJsModule | null = null;

/** gpu.js, loaded on first use so sessions that never pick this backend never load it. */
export function loadGpuJs(): GpuJsModule {
  if (!gpujs) {
    try {
      gpujs = require('gpu.js') as GpuJsModule;
    } catch (e) {
      throw new GraphcError(`the gpujs backend needs the 'gpu.js' package: npm install gpu.js (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return gpujs;
}

let navigatorTried = false;

/**
 * gpu.js's webgpu mode looks for `navigator.gpu`. Node has none, so it is made from Dawn (the `webgpu`
 * package's native addon, loaded the way that package's ES-module entry point loads it, which also
 * works under jest's CommonJS module system). Returns why it could not, or null once navigator.gpu exists.
 */
export function installNavigatorGpu(): string | null {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return null;
  if (navigatorTried) return 'navigator.gpu could not be created from the webgpu package';
  navigatorTried = true;
  if (typeof process === 'undefined' || !process.versions?.node) return 'navigator.gpu is undefined';
  // Mesa warns on every device creation without XDG_RUNTIME_DIR; any writable folder quiets it
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = require('os').tmpdir();
  let addon: { create(options: string[]): unknown; globals: Record<string, unknown> };
  try {
    const pkgDir = path.dirname(require.resolve('webgpu/package.json'));
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    addon = require(path.join(pkgDir, 'dist', `${process.platform}-${arch}`, 'dawn.node'));
  } catch (e) {
    return `the webgpu package (Dawn) cannot be loaded: ${(e as Error).message.split('\n')[0]}`;
  }
  for (const [k, v] of Object.entries(addon.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const gpu = addon.create([]);
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return null;
}

/** Why `mode` cannot run here, or null when it can (webgpu: an adapter actually answered). */
export async function unavailableReason(mode: GpujsMode): Promise<string | null> {
  const { GPU } = loadGpuJs();
  switch (mode) {
    case 'webgpu': {
      const why = installNavigatorGpu();
      if (why) return why;
      if (!(await GPU.isWebGPUAvailable())) {
        return 'no WebGPU adapter answered (on Linux without a GPU install Mesa lavapipe 24+: bash .ci/install-gpu.sh)';
      }
      return null;
    }
    case 'headlessgl':
      return GPU.isHeadlessGLSupported ? null : "headless-gl is not available (the optional native 'gl' package is not built here)";
    case 'webgl2':
      return GPU.isWebGL2Supported ? null : 'WebGL2 is not available (browsers only)';
    case 'webgl':
      return GPU.isWebGLSupported ? null : 'WebGL is not available (browsers only)';
    case 'webasm':
      return GPU.isWebAssemblySupported ? null : 'WebAssembly is not available';
    case 'cpu':
      return null;
  }
}

/**
 * gpu.js's best mode here, as its `mode: 'async'` picks: webgpu when an adapter answers, else its
 * synchronous chain headlessgl -> webgl2 -> webgl -> webasm -> cpu.
 */
export async function bestMode(): Promise<GpujsMode> {
  if ((await unavailableReason('webgpu')) === null) return 'webgpu';
  const { GPU } = loadGpuJs();
  const chosen = new GPU({}).mode;
  return (GPUJS_MODES as readonly string[]).includes(chosen) ? (chosen as GpujsMode) : 'cpu';
}

/** Modes whose kernel results live in device memory (buffers, textures) rather than host arrays. */
export function isDeviceMode(mode: GpujsMode): boolean {
  return mode === 'webgpu' || mode === 'headlessgl' || mode === 'webgl2' || mode === 'webgl';
}
