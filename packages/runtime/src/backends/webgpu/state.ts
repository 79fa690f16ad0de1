/// <reference types="@webgpu/types" preserve="true" />
import { DType, GraphcError, TensorValue, allocArray, constantHash, sameBytes, shapesEqual, sizeOf } from '@graphc/graph';
import type { VariableState } from '../../backend';
import { Prng } from '../../random';
import { ArenaUser, GpuArenaPool } from './arena-pool';
import { GpuContext, createBuffer, destroyBuffer, exclusive, getGpu, readBack } from './device';
import { bufferSize, deviceBytes, fromDeviceBytes, toDeviceArray } from './dtypes';

interface Entry {
  dtype: DType;
  shape: number[];
  buffer: GPUBuffer | null;
  /** A value written before the device was acquired, uploaded when it is. */
  pending: TensorValue | null;
  initialized: boolean;
  /** int64 variables: the authoritative value, on the host (see hostResident). */
  host: TensorValue | null;
  /** The device copy of a host-resident value is older than the host value. */
  deviceStale: boolean;
}

/**
 * int64 variables (step counters: TensorFlow's global_step) live on the host, exactly: WGSL has no
 * 64-bit integers, and their updates (assignAdd of 1 per training step) run there with no transfer
 * at all. A device copy is uploaded only for runs whose GPU kernels read the value.
 */
export const hostResident = (dtype: DType): boolean => dtype === 'int64';

export const STORAGE_USAGE = (): number => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * Variables of one session, each in its own GPU buffer for the session's life: assigns write them in
 * place on the device, runs bind them directly, and only read() (checkpoints, saveModel) downloads.
 */
export class WebGpuVariableState implements VariableState {
  private readonly entries = new Map<string, Entry>();
  private ctx: GpuContext | null = null;
  /** Generators of ops that run through the CPU fallback (random ops), persisting across runs. */
  readonly rngs = new Map<string, Prng>();
  private pool: GpuArenaPool | null = null;

  /** The arena buffers the session's plans share (see GpuArenaPool). */
  get arena(): GpuArenaPool {
    return (this.pool ??= new GpuArenaPool(this.device(), STORAGE_USAGE()));
  }

  /** Constants' device buffers by content (byte length and hash), with the plans using each. */
  private readonly constants = new Map<string, { data: ArrayBufferView; buffer: GPUBuffer; users: number }[]>();
  private readonly constantKeys = new Map<GPUBuffer, string>();

  /**
   * A constant's device buffer, shared by every plan of the session that reads the same bytes. Equal
   * bytes decide, not the same array: the session remembers its folds, but a pass may still build a
   * constant afresh in each plan. Each plan that takes one releases it when it is freed; the last
   * release destroys it.
   */
  constantBuffer(data: ArrayBufferView, label: string): GPUBuffer {
    const key = `${data.byteLength}:${constantHash(data)}`;
    const same = this.constants.get(key) ?? [];
    this.constants.set(key, same);
    const found = same.find((c) => sameBytes(c.data, data));
    if (found) {
      found.users++;
      return found.buffer;
    }
    const buffer = createBuffer(this.device(), bufferSize(data.byteLength), STORAGE_USAGE(), label);
    this.device().queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    same.push({ data, buffer, users: 1 });
    this.constantKeys.set(buffer, key);
    return buffer;
  }

  releaseConstant(buffer: GPUBuffer): void {
    const key = this.constantKeys.get(buffer);
    const same = key === undefined ? undefined : this.constants.get(key);
    const i = same?.findIndex((c) => c.buffer === buffer) ?? -1;
    if (!same || i < 0 || --same[i].users > 0) return;
    destroyBuffer(buffer);
    same.splice(i, 1);
    this.constantKeys.delete(buffer);
    if (!same.length) this.constants.delete(key!);
  }

  /** A plan that is freed lets go of the arena (if the session still has one). */
  leaveArena(user: ArenaUser): void {
    this.pool?.leave(user);
  }

  /** Attaches the device (after the backend is ready) and uploads values written before. */
  bind(ctx: GpuContext): void {
    if (this.ctx === ctx) return;
    this.ctx = ctx;
    this.persistent.clear();
    this.constants.clear();
    this.constantKeys.clear();
    this.pool = null;
    for (const [name, e] of this.entries) {
      e.buffer = null;
      e.deviceStale = e.host !== null;
      if (e.pending) {
        this.upload(name, e, e.pending);
        e.pending = null;
      }
    }
  }

  has(name: string): boolean {
    return this.entries.get(name)?.initialized === true;
  }

  names(): string[] {
    return [...this.entries].filter(([, e]) => e.initialized).map(([n]) => n);
  }

  async read(name: string): Promise<TensorValue> {
    const e = this.entries.get(name);
    if (!e?.initialized) throw new GraphcError(`variable '${name}' is not initialized`);
    if (e.host) return { dtype: e.dtype, shape: [...e.shape], data: e.host.data.slice() };
    if (e.pending) return { dtype: e.pending.dtype, shape: [...e.pending.shape], data: e.pending.data.slice() };
    const ctx = this.ctx ?? (await getGpu());
    const device = ctx.device;
    const [bytes] = await exclusive(() =>
      readBack(device, device.createCommandEncoder(), [{ buffer: e.buffer!, bytes: deviceBytes(e.dtype, e.shape) }], null),
    );
    return fromDeviceBytes(e.dtype, e.shape, bytes);
  }

  write(name: string, value: TensorValue): void {
    let e = this.entries.get(name);
    if (!e || e.dtype !== value.dtype || !shapesEqual(e.shape, value.shape)) {
      if (e?.buffer) destroyBuffer(e.buffer);
      e = { dtype: value.dtype, shape: [...value.shape], buffer: null, pending: null, initialized: false, host: null, deviceStale: false };
      this.entries.set(name, e);
    }
    if (hostResident(value.dtype)) {
      toDeviceArray(value, `variable '${name}'`);
      e.host = { dtype: value.dtype, shape: [...value.shape], data: value.data.slice() };
      e.deviceStale = true;
    } else if (this.ctx) this.upload(name, e, value);
    else e.pending = { dtype: value.dtype, shape: [...value.shape], data: value.data.slice() };
    e.initialized = true;
  }

  /** The variable's buffer, created (zeroed, uninitialized) if a plan uses it before any value. */
  buffer(name: string, dtype: DType, shape: number[]): GPUBuffer {
    let e = this.entries.get(name);
    if (e && (e.dtype !== dtype || !shapesEqual(e.shape, shape))) {
      throw new GraphcError(`variable '${name}' holds ${e.dtype} [${e.shape}] but the graph declares ${dtype} [${shape}]`);
    }
    if (!e) {
      e = { dtype, shape: [...shape], buffer: null, pending: null, initialized: false, host: null, deviceStale: false };
      this.entries.set(name, e);
    }
    if (!e.buffer) e.buffer = createBuffer(this.device(), bufferSize(deviceBytes(dtype, shape)), STORAGE_USAGE(), `variable ${name}`);
    return e.buffer;
  }

  private readonly persistent = new Map<string, GPUBuffer>();

  /**
   * A small buffer that lives as long as the variables (a dropout generator's counter), created from
   * `init` the first time a plan asks for `key`.
   */
  persistentBuffer(key: string, init: () => Uint32Array): GPUBuffer {
    let buffer = this.persistent.get(key);
    if (!buffer) {
      const data = init();
      buffer = createBuffer(this.device(), bufferSize(data.byteLength), STORAGE_USAGE(), key);
      this.device().queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      this.persistent.set(key, buffer);
    }
    return buffer;
  }

  /**
   * The live host value of a host-resident variable (updates write into it), created zeroed for a
   * variable that has none yet (its initializer's assign fills it).
   */
  hostValue(name: string, dtype: DType, shape: number[]): TensorValue {
    this.buffer(name, dtype, shape);
    const e = this.entries.get(name)!;
    if (!e.host) e.host = { dtype, shape: [...shape], data: allocArray(dtype, sizeOf(shape)) };
    return e.host;
  }

  /** After a host update: the device copy must be refreshed before a kernel reads it. */
  hostChanged(name: string): void {
    const e = this.entries.get(name);
    if (e) e.deviceStale = true;
  }

  /** Uploads a host-resident variable's value if its device copy is stale; returns the bytes moved. */
  syncDevice(name: string): number {
    const e = this.entries.get(name);
    if (!e?.host || !e.deviceStale) return 0;
    const data = toDeviceArray(e.host, `variable '${name}'`);
    this.device().queue.writeBuffer(this.buffer(name, e.dtype, e.shape), 0, data.buffer, data.byteOffset, data.byteLength);
    e.deviceStale = false;
    return data.byteLength;
  }

  markInitialized(name: string): void {
    const e = this.entries.get(name);
    if (e) e.initialized = true;
  }

  dispose(): void {
    for (const e of this.entries.values()) if (e.buffer) destroyBuffer(e.buffer);
    this.entries.clear();
    for (const b of this.persistent.values()) destroyBuffer(b);
    this.pool?.dispose();
    this.pool = null;
    for (const same of this.constants.values()) for (const c of same) destroyBuffer(c.buffer);
    this.constants.clear();
    this.constantKeys.clear();
    this.persistent.clear();
  }

  private device(): GPUDevice {
    if (!this.ctx) throw new GraphcError('webgpu variable state used before the device is ready');
    return this.ctx.device;
  }

  private upload(name: string, e: Entry, value: TensorValue): void {
    const data = toDeviceArray(value, `variable '${name}'`);
    const buffer = this.buffer(name, e.dtype, e.shape);
    this.device().queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }
}
