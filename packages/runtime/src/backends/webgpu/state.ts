/// <reference types="@webgpu/types" />
import { DType, GraphcError, TensorValue, shapesEqual } from '@graphc/graph';
import type { VariableState } from '../../backend';
import { Prng } from '../../random';
import { GpuContext, createBuffer, exclusive, getGpu, readBack } from './device';
import { bufferSize, deviceBytes, fromDeviceBytes, toDeviceArray } from './dtypes';

interface Entry {
  dtype: DType;
  shape: number[];
  buffer: GPUBuffer | null;
  /** A value written before the device was acquired, uploaded when it is. */
  pending: TensorValue | null;
  initialized: boolean;
}

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

  /** Attaches the device (after the backend is ready) and uploads values written before. */
  bind(ctx: GpuContext): void {
    if (this.ctx === ctx) return;
    this.ctx = ctx;
    this.persistent.clear();
    for (const [name, e] of this.entries) {
      e.buffer = null;
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
      e?.buffer?.destroy();
      e = { dtype: value.dtype, shape: [...value.shape], buffer: null, pending: null, initialized: false };
      this.entries.set(name, e);
    }
    if (this.ctx) this.upload(name, e, value);
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
      e = { dtype, shape: [...shape], buffer: null, pending: null, initialized: false };
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

  markInitialized(name: string): void {
    const e = this.entries.get(name);
    if (e) e.initialized = true;
  }

  dispose(): void {
    for (const e of this.entries.values()) e.buffer?.destroy();
    this.entries.clear();
    for (const b of this.persistent.values()) b.destroy();
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
