import { DType, GraphcError, TensorValue } from '@graphc/graph';
import type { VariableState } from '../../backend';
import type { Prng } from '../../random';
import { DeviceValue, KernelCache, download, fromFloat32, isHostValue, release } from './device';
import { toFloat32 } from './program';

interface Entry {
  dtype: DType;
  shape: number[];
  /** The value where kernels read it: a device result, or a Float32Array on the host modes. */
  device?: DeviceValue;
  /** A host copy, when one is current. */
  host?: Float32Array;
  /** Bumped on every change, so plans that baked the value in know to rebuild. */
  version: number;
}

/**
 * Variables of one gpujs session. A value written by a run stays where the kernel left it (device
 * memory on webgpu and GL) for the session's life; it is downloaded only when read by the host.
 */
export class GpujsVariableState implements VariableState {
  private readonly entries = new Map<string, Entry>();
  /** Seeded generators of random ops, persisting across runs (the CPU backend's streams). */
  readonly rngs = new Map<string, Prng>();

  has(name: string): boolean {
    const e = this.entries.get(name);
    return !!e && (e.device !== undefined || e.host !== undefined);
  }

  async read(name: string): Promise<TensorValue> {
    const e = this.entries.get(name);
    if (!e || (!e.device && !e.host)) throw new GraphcError(`variable '${name}' is not initialized`);
    const data = await this.hostValue(name);
    return { dtype: e.dtype, shape: [...e.shape], data: fromFloat32(data!, e.dtype) };
  }

  write(name: string, value: TensorValue): void {
    const prev = this.entries.get(name);
    if (prev?.device && !isHostValue(prev.device)) release(prev.device);
    this.entries.set(name, { dtype: value.dtype, shape: [...value.shape], host: toFloat32(value.data).slice(), version: (prev?.version ?? 0) + 1 });
  }

  names(): string[] {
    return [...this.entries.keys()].filter((n) => this.has(n));
  }

  version(name: string): number {
    return this.entries.get(name)?.version ?? 0;
  }

  /** The value on the host (downloaded once per change), or undefined if uninitialized. */
  async hostValue(name: string): Promise<Float32Array | undefined> {
    const e = this.entries.get(name);
    if (!e) return undefined;
    if (!e.host && e.device) e.host = await download(e.device);
    return e.host;
  }

  /** The value where kernels read it, uploaded on first use after a host write. */
  async deviceValue(name: string, kernels: KernelCache): Promise<DeviceValue | undefined> {
    const e = this.entries.get(name);
    if (!e) return undefined;
    if (!e.device && e.host) e.device = await kernels.upload(e.host);
    return e.device;
  }

  /** A run's new value; the previous device value is freed. */
  setDevice(name: string, value: DeviceValue, info: { dtype: DType; shape: number[] }): void {
    const prev = this.entries.get(name);
    if (prev?.device && prev.device !== value) release(prev.device);
    this.entries.set(name, {
      dtype: info.dtype,
      shape: [...info.shape],
      device: value,
      host: isHostValue(value) ? value : undefined,
      version: (prev?.version ?? 0) + 1,
    });
  }

  dispose(): void {
    for (const e of this.entries.values()) release(e.device);
    this.entries.clear();
  }
}
