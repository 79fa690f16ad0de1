import { GraphcError, TensorValue, allocArray, sizeOf } from '@graphc/graph';
import type { Executable } from '../../backend';
import { DeviceValue, KernelCache, download, fromFloat32, isHostValue, modeOf, release } from './device';
import { GpuJsPipelineShortcut, isDeviceMode } from './gpu';
import type { Program, Ref } from './program';
import { toFloat32 } from './program';
import type { GpujsVariableState } from './state';

/** How a compiled plan ran, for tests and reports. */
export interface GpujsRunInfo {
  /** The gpu.js mode asked for. */
  mode: string;
  /** 'pipeline' (one gpu.js createPipeline per plan) or 'steps' (one kernel call per step). */
  executor: 'pipeline' | 'steps';
  /** gpu.js's pipeline executor: 'fused-encoder' (webgpu), 'fused-sync'/'fused-threaded' (webasm), 'generic'. */
  pipelineExecutor: string | null;
  /** Why the plan did not run as one fused pipeline; null when it did. */
  fallbackReason: string | null;
  /** gpu.js modes kernels actually ran on (gpu.js can silently degrade a kernel to cpu). */
  modesRan: string[];
}

/** Feeds as gpu.js arrays. */
function feedArrays(feeds: TensorValue[]): Float32Array[] {
  return feeds.map((f) => toFloat32(f.data));
}

function toValue(data: Float32Array, info: { dtype: TensorValue['dtype']; shape: number[] }): TensorValue {
  return { dtype: info.dtype, shape: [...info.shape], data: fromFloat32(data, info.dtype) };
}

const emptyValue = (info: { dtype: TensorValue['dtype']; shape: number[] }): TensorValue => ({
  dtype: info.dtype,
  shape: [...info.shape],
  data: allocArray(info.dtype, sizeOf(info.shape)),
});

function uninitialized(name: string): GraphcError {
  return new GraphcError(`variable '${name}' is not initialized: run globalVariablesInitializer() (or restore a checkpoint) first`);
}

/**
 * Runs a program one kernel call per step. Results stay where gpu.js leaves them (buffers, textures)
 * and feed the next kernel directly; variables stay resident in the state across runs, and only
 * feeds go in and fetches come out.
 */
export class StepExecutor implements Executable {
  readonly stats: Record<string, number> = { runs: 0, kernels: 0, steps: 0, pipeline: 0 };
  readonly info: GpujsRunInfo;
  private consts: (DeviceValue | undefined)[] = [];

  constructor(
    private readonly program: Program,
    private readonly state: GpujsVariableState,
    private readonly kernels: KernelCache,
    reason: string | null,
  ) {
    this.stats.steps = program.steps.length;
    this.info = { mode: kernels.mode, executor: 'steps', pipelineExecutor: null, fallbackReason: reason, modesRan: [] };
  }

  async run(feeds: TensorValue[]): Promise<TensorValue[]> {
    const p = this.program;
    const k = this.kernels;
    const temps: DeviceValue[] = [];
    const uploaded = new Map<Float32Array, DeviceValue>();
    const upload = async (data: Float32Array): Promise<DeviceValue> => {
      let v = uploaded.get(data);
      if (!v) {
        v = await k.upload(data);
        uploaded.set(data, v);
        if (v !== data) temps.push(v);
      }
      return v;
    };
    const feedData = feedArrays(feeds);
    const randoms = p.randoms.map((r) => r.draw());
    const derived = p.derived.map((d) => d.derive(feeds[d.feed].data));
    const current = new Map<string, DeviceValue>();
    const outputs: DeviceValue[] = new Array(p.steps.length);
    const resolve = async (ref: Ref): Promise<DeviceValue> => {
      switch (ref.kind) {
        case 'feed':
          return upload(feedData[ref.index]);
        case 'random':
          return upload(randoms[ref.id]);
        case 'derived':
          return upload(derived[ref.id]);
        case 'const': {
          let v = this.consts[ref.id];
          if (!v) this.consts[ref.id] = v = await k.upload(p.consts[ref.id]);
          return v;
        }
        case 'variable': {
          const v = current.get(ref.name) ?? (await this.state.deviceValue(ref.name, k));
          if (!v) throw uninitialized(ref.name);
          return v;
        }
        case 'step':
          return outputs[ref.step];
        case 'empty':
          throw new GraphcError('gpujs: an empty tensor reached a kernel');
      }
    };
    let w = 0;
    const writes = [...p.writes].sort((a, b) => a.afterStep - b.afterStep);
    try {
      for (let s = 0; s < p.steps.length; s++) {
        const step = p.steps[s];
        const args: DeviceValue[] = [];
        for (const a of step.args) args.push(await resolve(a));
        outputs[s] = await k.call(k.get(step.kernel), args);
        for (; w < writes.length && writes[w].afterStep <= s; w++) current.set(writes[w].name, await resolve(writes[w].ref));
      }
      const results: TensorValue[] = [];
      for (const f of p.fetches) {
        results.push(f.ref.kind === 'empty' ? emptyValue(f) : toValue(await download(await resolve(f.ref)), f));
      }
      const kept = new Set<DeviceValue>();
      for (const [name, v] of current) {
        kept.add(v);
        this.state.setDevice(name, v, p.variables.get(name)!);
      }
      if (isDeviceMode(k.mode)) for (const v of outputs) if (v && !kept.has(v)) release(v);
      this.stats.runs++;
      this.stats.kernels += p.steps.length;
      this.info.modesRan = [...k.modesRan];
      return results;
    } finally {
      for (const v of temps) release(v);
    }
  }

  dispose(): void {
    for (const v of this.consts) release(v);
    this.consts = [];
  }
}

/**
 * Runs a whole program as one gpu.js `createPipeline`: traced once, then every run is one call: on
 * webasm one wasm memory for every step, on webgpu one command encoder and one readback. Variables
 * the program only reads are baked in as plan literals (uploaded once, resident); the plan is traced
 * again when one of them changes. Variables it writes are pipeline arguments and results.
 */
export class PipelineExecutor implements Executable {
  readonly stats: Record<string, number> = { runs: 0, kernels: 0, steps: 0, pipeline: 1, fused: 0 };
  readonly info: GpujsRunInfo;
  private pipeline: GpuJsPipelineShortcut | null = null;
  /** Versions of the literal variables the current trace baked in. */
  private bakedVersions = new Map<string, number>();
  private readonly argVariables: string[];
  private readonly written: string[];

  constructor(
    private readonly program: Program,
    private readonly state: GpujsVariableState,
    private readonly kernels: KernelCache,
    /** webasm: run the plan on gpu.js's worker pool (fused-threaded) or on this thread (fused-sync). */
    private readonly threads = true,
  ) {
    this.stats.steps = program.steps.length;
    this.written = [...new Set(program.writes.map((w) => w.name))];
    // a program that writes variables takes all it touches as arguments; one that only reads bakes them in
    this.argVariables = this.written.length ? [...program.variables.keys()] : [];
    this.info = { mode: kernels.mode, executor: 'pipeline', pipelineExecutor: null, fallbackReason: null, modesRan: [] };
  }

  private literalVariablesChanged(): boolean {
    for (const [name, version] of this.bakedVersions) if (this.state.version(name) !== version) return true;
    return false;
  }

  private async trace(): Promise<GpuJsPipelineShortcut> {
    const p = this.program;
    const literals = new Map<string, Float32Array>();
    this.bakedVersions = new Map();
    if (!this.argVariables.length) {
      for (const name of p.reads) {
        const host = await this.state.hostValue(name);
        if (host) literals.set(name, host);
        this.bakedVersions.set(name, this.state.version(name));
      }
    }
    const kernels = p.steps.map((s) => this.kernels.get(s.kernel));
    const feedCount = this.feedCount();
    const argVariables = this.argVariables;
    const written = this.written;
    const writes = [...p.writes].sort((a, b) => a.afterStep - b.afterStep);
    const orchestrate = function (this: unknown, ...args: unknown[]): unknown {
      const outputs: unknown[] = [];
      const current = new Map<string, unknown>();
      argVariables.forEach((name, k) => current.set(name, args[feedCount + p.randoms.length + k]));
      const resolve = (ref: Ref): unknown => {
        switch (ref.kind) {
          case 'feed':
            return args[ref.index];
          case 'random':
            return args[feedCount + ref.id];
          case 'derived':
            return args[feedCount + p.randoms.length + argVariables.length + ref.id];
          case 'const':
            return p.consts[ref.id];
          case 'variable': {
            const v = current.get(ref.name) ?? literals.get(ref.name);
            if (v === undefined) throw uninitialized(ref.name);
            return v;
          }
          case 'step':
            return outputs[ref.step];
          case 'empty':
            throw new GraphcError('gpujs: an empty tensor reached a kernel');
        }
      };
      let w = 0;
      p.steps.forEach((step, s) => {
        outputs.push(kernels[s](...step.args.map(resolve)));
        for (; w < writes.length && writes[w].afterStep <= s; w++) current.set(writes[w].name, resolve(writes[w].ref));
      });
      const fetched = p.fetches.filter((f) => f.ref.kind !== 'empty').map((f) => resolve(f.ref));
      return [...fetched, ...written.map((name) => current.get(name))];
    };
    Object.defineProperty(orchestrate, 'length', { value: feedCount + p.randoms.length + argVariables.length + p.derived.length });
    return this.kernels.gpu.createPipeline(orchestrate, { threads: this.threads });
  }

  private feedCount(): number {
    let n = 0;
    for (const s of this.program.steps) for (const a of s.args) if (a.kind === 'feed') n = Math.max(n, a.index + 1);
    for (const f of this.program.fetches) if (f.ref.kind === 'feed') n = Math.max(n, f.ref.index + 1);
    for (const w of this.program.writes) if (w.ref.kind === 'feed') n = Math.max(n, w.ref.index + 1);
    return n;
  }

  async run(feeds: TensorValue[]): Promise<TensorValue[]> {
    const p = this.program;
    if (this.pipeline && this.literalVariablesChanged()) {
      await this.pipeline.destroy();
      this.pipeline = null;
    }
    if (!this.pipeline) this.pipeline = await this.trace();
    const args: unknown[] = feedArrays(feeds).slice(0, this.feedCount());
    for (const r of p.randoms) args.push(r.draw());
    for (const name of this.argVariables) {
      const host = await this.state.hostValue(name);
      // an uninitialized variable the plan assigns before reading: any array of its size will do
      args.push(host ?? new Float32Array(sizeOf(p.variables.get(name)!.shape)));
      if (!host && !this.assignsBeforeReading(name)) throw uninitialized(name);
    }
    for (const d of p.derived) args.push(d.derive(feeds[d.feed].data));
    const out = (await this.pipeline(...args)) as unknown[];
    const pipe = this.pipeline;
    this.info.pipelineExecutor = pipe.executorKind;
    this.info.fallbackReason = pipe.fallbackReason;
    this.kernels.modesRan.add(pipelineMode(pipe));
    this.info.modesRan = [...this.kernels.modesRan];
    this.stats.fused = pipe.executorKind === 'generic' ? 0 : 1;
    let k = 0;
    const results = p.fetches.map((f) => (f.ref.kind === 'empty' ? emptyValue(f) : toValue(asFloat32(out[k++]), f)));
    for (const name of this.written) this.state.setDevice(name, asFloat32(out[k++]).slice(), p.variables.get(name)!);
    this.stats.runs++;
    this.stats.kernels += p.steps.length;
    return results;
  }

  /** Whether the first touch of `name` in the program is an assign that does not read it. */
  private assignsBeforeReading(name: string): boolean {
    const first = this.program.writes.find((w) => w.name === name);
    if (!first) return false;
    return !this.program.steps.slice(0, first.afterStep + 1).some((s) => s.args.some((a) => a.kind === 'variable' && a.name === name));
  }

  dispose(): void {
    void this.pipeline?.destroy();
    this.pipeline = null;
  }
}

/**
 * The mode a pipeline's kernels ran on: gpu.js's `backend` (from the executor that ran), with its
 * 'gpu' (any GL kernel) resolved to the GL kernel class actually used.
 */
function pipelineMode(pipe: GpuJsPipelineShortcut): string {
  const backend = pipe.backend ?? 'none';
  if (backend !== 'gpu') return backend;
  const plan = pipe.pipeline.plan;
  const clones = plan ? [...plan.genericClones.entries()].filter(([key]) => !key.startsWith('up:')).map(([, c]) => c) : [];
  const kernel = clones[0] ?? plan?.kernels[0]?.clone;
  return kernel ? modeOf(kernel.kernel) : backend;
}

function asFloat32(v: unknown): Float32Array {
  if (v instanceof Float32Array) return v;
  if (ArrayBuffer.isView(v)) return Float32Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return Float32Array.from(v as number[]);
  throw new GraphcError(`gpujs: the pipeline returned ${Object.prototype.toString.call(v)}, not an array`);
}

export { isHostValue };
