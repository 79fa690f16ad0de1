import { GraphcError } from '@graphc/graph';
import type { Backend } from '../backend';
import { CpuBackend } from './cpu';
import { GpujsBackend } from './gpujs';
import { WebGpuBackend } from './webgpu';

type BackendFactory = () => Backend;

const factories = new Map<string, BackendFactory>([
  ['cpu', () => new CpuBackend()],
  ['gpujs', () => new GpujsBackend()],
  ['webgpu', () => new WebGpuBackend()],
]);

/** Makes a backend available to `new Session(g, { backend: name })`. */
export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
}

export function createBackend(name: string): Backend {
  const factory = factories.get(name);
  if (!factory) throw new GraphcError(`unknown backend '${name}' (available: ${[...factories.keys()].join(', ')})`);
  return factory();
}

export function backendNames(): string[] {
  return [...factories.keys()];
}
