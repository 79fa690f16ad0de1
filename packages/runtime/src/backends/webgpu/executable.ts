/// <reference types="@webgpu/types" preserve="true" />
import {
  DType,
  GraphcError,
  Node,
  OutputInfo,
  ShapeError,
  TensorValue,
  UnsupportedOpError,
  getOpDef,
  writtenInputs,
  isFullyKnown,
  shapeToString,
  sizeOf,
} from '@graphc/graph';
import type { Executable, NodeTiming } from '../../backend';
import type { Plan } from '../../plan';
import { Prng, opSeed } from '../../random';
import { CpuKernel, getCpuKernel, heapAlloc } from '../cpu/kernel';
import { GpuContext, createBuffer, creationCounts, destroyBuffer, exclusive, readBack } from './device';
import { bufferSize, deviceBytes, fromDeviceBytes, toDeviceArray } from './dtypes';
import { BindingRef, GpuTensorInfo, KernelPlan, NoGpuKernel, WgslDispatch, getWebGpuKernel } from './kernel';
import { elementwiseKernel } from './kernels/elementwise';
import { copyDispatch } from './kernels/copy';
import type { ArenaUser } from './arena-pool';
import { BufferPlan, planBuffers } from './memory';
import { STORAGE_USAGE, WebGpuVariableState, hostResident } from './state';
import { GpuTimer } from './timer';
import { preludeFor } from './wgsl';

/** Where a tensor's bytes live on the device. */
interface Storage {
  kind: 'slot' | 'variable' | 'const';
  bytes: number;
  buffer: GPUBuffer | null;
  /** Step that writes it; -1 for feeds and for outputs of fallbacks computed before the first submit. */
  from: number;
  to: number;
  /** A host-resident (int64) variable: the host holds the value, `buffer` a copy for kernels. */
  hostVar?: string;
}

interface TensorRef {
  storage: Storage;
  dtype: DType;
  shape: number[];
  /** The value, where the host has it at compile time (constants, and views of them). */
  host?: TensorValue;
}

interface EncodedDispatch {
  pipeline: Promise<GPUComputePipeline>;
  resolved: GPUComputePipeline | null;
  layout: GPUBindGroupLayout;
  /** The buffers it binds, looked up afresh when the plan rebinds to a grown arena. */
  buffers: () => GPUBuffer[];
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
}

interface GpuStep {
  kind: 'gpu';
  node: Node;
  inputs: TensorRef[];
  outputs: TensorRef[];
  plan: KernelPlan;
  /** Copies of inputs that share a buffer with an output (so no buffer is bound read-only and writable). */
  copies: { input: number; scratch: Storage }[];
  scratch: Storage[];
  encoded: EncodedDispatch[];
}

interface HostStep {
  kind: 'host';
  node: Node;
  inputs: TensorRef[];
  outputs: TensorRef[];
  kernel: CpuKernel;
  reason: string;
  /** All inputs are known on the host (feeds, constants, earlier such steps): runs before the first submit. */
  early: boolean;
  /** Where its GPU-resident inputs are read back (created with the plan). */
  staging: GPUBuffer | null;
  outputInfo: OutputInfo[];
  /** The variables an update writes (its inputs, in output order; empty for other ops), found once. */
  written: number[];
}

type Step = GpuStep | HostStep;

/** A node that runs through the CPU kernel, and the bytes that crosses the bus for it each run. */
export interface FallbackRecord {
  node: string;
  op: string;
  reason: string;
  /** Bytes downloaded for its inputs (0 when they are feeds or constants) and uploaded from its outputs. */
  downloadBytes: number;
  uploadBytes: number;
  /** Runs before the first submit (no GPU input), so it does not split the run's command buffer. */
  early: boolean;
}

/**
 * One plan compiled for the device: buffers planned and created, constants uploaded, pipelines and
 * bind groups created, all once. A run uploads the feeds, records one command encoder (split only
 * where a CPU fallback needs GPU values), submits, and reads back only the fetches.
 */
export class WebGpuExecutable implements Executable, ArenaUser {
  readonly stats: Record<string, number> = {
    runs: 0,
    submits: 0,
    dispatches: 0,
    bytesUploaded: 0,
    bytesDownloaded: 0,
    lastRunBytesUploaded: 0,
    lastRunBytesDownloaded: 0,
    lastRunSubmits: 0,
    fallbackRuns: 0,
  };
  /** Nodes that run through the CPU, with why and what it costs in transfers: explicit in every plan. */
  readonly fallbacks: FallbackRecord[] = [];
  /** Per node: 'gpu' with its dispatch count, or 'cpu' (fallback), 'alias', 'variable', 'const', 'feed'. */
  /** Where each node runs; a GPU node's dispatch count and the most storage buffers one of them binds. */
  readonly placement: { node: string; op: string; where: string; dispatches?: number; bindings?: number }[] = [];
  private readonly steps: Step[] = [];
  private feedRefs: TensorRef[] = [];
  private fetchRefs: TensorRef[] = [];
  private readonly refs = new Map<Node, TensorRef[]>();
  private readonly ownedBuffers: GPUBuffer[] = [];
  /** The WGSL sources of the pipelines it took from the device's PipelineCache (given back when freed). */
  private readonly pipelineSources: string[] = [];
  /** Constants' buffers, shared with the session's other plans (WebGpuVariableState.constantBuffer). */
  private readonly constantBuffers: GPUBuffer[] = [];
  /** Every planned tensor and scratch, and the buffer plan that places them (in the session's GpuArenaPool). */
  private slotList: Storage[] = [];
  private arenaPlan!: BufferPlan;
  /** A buffer of the pool was replaced since the bind groups were made. */
  private arenaStale = false;
  private staging: GPUBuffer | null = null;
  /** Variables read before this plan assigns them: they must hold a value when the run starts. */
  private readonly needsInit: string[] = [];
  private readonly assigned: string[] = [];
  private readonly prepared: Promise<void>;
  private disposed = false;
  /** Per-step times while profiling: GPU timestamps for dispatches, the host clock for CPU steps. */
  private timer?: GpuTimer;
  private profiledRuns = 0;

  constructor(
    readonly plan: Plan,
    private readonly state: WebGpuVariableState,
    private readonly ctx: GpuContext,
  ) {
    const device = ctx.device;
    device.pushErrorScope('validation');
    let validation: Promise<GPUError | null>;
    try {
      this.build(plan, state, ctx);
    } finally {
      validation = device.popErrorScope();
    }
    this.prepared = (async () => {
      for (const step of this.steps) {
        if (step.kind !== 'gpu') continue;
        for (const e of step.encoded) {
          try {
            e.resolved = await e.pipeline;
          } catch (err) {
            throw new GraphcError(`webgpu: the WGSL kernel of node '${step.node.name}' (op '${step.node.op}') does not compile: ${(err as Error).message}`);
          }
        }
      }
      const error = await validation;
      if (error) throw new GraphcError(`webgpu: compiling the plan failed validation: ${error.message}`);
    })();
    this.prepared.catch(() => undefined);
  }

  private build(plan: Plan, state: WebGpuVariableState, ctx: GpuContext): void {
    const device = ctx.device;
    const fed = new Set(plan.feeds.map((f) => f.node));
    const slot = (dtype: DType, shape: number[], from: number): TensorRef => ({
      storage: { kind: 'slot', bytes: bufferSize(deviceBytes(dtype, shape)), buffer: null, from, to: from },
      dtype,
      shape,
    });
    const hostKnown = this.hostKnown;
    this.feedRefs = plan.feeds.map((f) => {
      const info = plan.outputInfo.get(f.node)![f.index];
      const ref = slot(info.dtype, info.shape as number[], -1);
      this.refs.set(f.node, [ref]);
      hostKnown.add(ref.storage);
      this.placement.push({ node: f.node.name, op: f.node.op, where: 'feed' });
      return ref;
    });
    const firstUse = new Map<string, 'read' | 'assign'>();
    const noteVariableUse = (node: Node, use: 'read' | 'assign'): void => {
      const name = node.name;
      if (!firstUse.has(name)) firstUse.set(name, use);
    };

    plan.schedule.forEach((node) => {
      if (fed.has(node)) return;
      const index = this.steps.length;
      const outInfo = (plan.outputInfo.get(node) ?? node.outputs).map((o, i) => {
        if (!isFullyKnown(o.shape)) {
          throw new UnsupportedOpError(
            `webgpu: output ${i} of node '${node.name}' (op '${node.op}') has a data-dependent shape ${shapeToString(o.shape)}; ` +
              'the webgpu backend plans every buffer ahead and needs static shapes (use the cpu backend)',
            [node.op],
          );
        }
        return { dtype: o.dtype, shape: o.shape as number[] };
      });
      const inputs = node.inputs.map((i) => {
        const r = this.refs.get(i.node)?.[i.index];
        if (!r) throw new GraphcError(`webgpu: node '${node.name}' reads '${i.name}', which the plan does not compute`);
        return r;
      });
      const def = getOpDef(node.op);
      for (const i of node.inputs) {
        if (i.node.op === 'variable') noteVariableUse(i.node, def.assignment === 'replace' && i === node.inputs[0] ? 'assign' : 'read');
      }
      if (node.op === 'noOp') {
        this.refs.set(node, []);
        return;
      }
      if (node.op === 'const') {
        const value = node.attrs.value as TensorValue;
        // uploaded below, once, if a kernel reads it (a constant only host steps read stays there)
        const ref: TensorRef = { storage: { kind: 'const', bytes: 0, buffer: null, from: -1, to: -1 }, dtype: value.dtype, shape: [...value.shape] };
        this.consts.push({ storage: ref.storage, value, name: node.name });
        hostKnown.add(ref.storage);
        ref.host = value;
        this.refs.set(node, [ref]);
        this.placement.push({ node: node.name, op: node.op, where: 'const' });
        return;
      }
      if (node.op === 'variable') {
        const info = outInfo[0];
        const buffer = state.buffer(node.name, info.dtype, info.shape);
        const storage: Storage = { kind: 'variable', bytes: buffer.size, buffer, from: -1, to: -1 };
        if (hostResident(info.dtype)) {
          storage.hostVar = node.name;
          hostKnown.add(storage);
          this.hostVars.push({ storage, name: node.name, dtype: info.dtype, shape: info.shape });
        }
        this.refs.set(node, [{ storage, dtype: info.dtype, shape: info.shape }]);
        this.placement.push({ node: node.name, op: node.op, where: storage.hostVar ? 'host-var' : 'variable' });
        return;
      }
      if (def.aliasesInput && inputs.length >= 1 && outInfo.length === 1) {
        const src = inputs[0];
        const out = outInfo[0];
        if (src.dtype === out.dtype && sizeOf(src.shape) === sizeOf(out.shape)) {
          const ref: TensorRef = { storage: src.storage, dtype: out.dtype, shape: out.shape };
          if (src.host) ref.host = { dtype: src.host.dtype, shape: out.shape, data: src.host.data };
          this.refs.set(node, [ref]);
          this.placement.push({ node: node.name, op: node.op, where: 'alias' });
          return;
        }
      }
      let outputs: TensorRef[];
      if (def.assignment) {
        // an update writes its variables' own buffers: its outputs are their storage
        outputs = writtenInputs(node.op, node.attrs).map((k) => {
          const varNode = node.inputs[k].node;
          if (varNode.op !== 'variable') throw new GraphcError(`webgpu: '${node.name}' assigns to '${varNode.name}', which is not a variable`);
          this.assigned.push(varNode.name);
          return inputs[k];
        });
      } else {
        outputs = outInfo.map((o) => slot(o.dtype, o.shape, index));
      }
      // a constant's value goes to the kernel builder, which may bake it into the shader
      const gpuInfos = (refs: TensorRef[]): GpuTensorInfo[] => refs.map((r) => ({ dtype: r.dtype, shape: r.shape, ...(r.host ? { value: r.host } : {}) }));
      let kernelPlan: KernelPlan | null = null;
      let reason = '';
      const kernel = getWebGpuKernel(node.op) ?? (def.elementwise ? elementwiseKernel : undefined);
      if (outputs.some((o) => o.storage.hostVar)) reason = 'int64 variables live on the host (exact); their updates run there';
      else if (!kernel) reason = `no WGSL kernel for op '${node.op}'`;
      else if (outputs.some((o) => o.dtype === 'float64') || inputs.some((i) => i.dtype === 'float64')) reason = 'float64 (no 64-bit floats in WGSL)';
      else {
        try {
          kernelPlan = kernel({ node, attrs: node.attrs, inputs: gpuInfos(inputs), outputs: gpuInfos(outputs), limits: ctx.limits, software: ctx.software });
          const maxBuffers = ctx.limits.maxStorageBuffersPerShaderStage;
          const tooMany = kernelPlan.dispatches.find((d) => d.bindings.length > maxBuffers);
          if (tooMany) throw new NoGpuKernel(`needs ${tooMany.bindings.length} storage buffers, the device allows ${maxBuffers}`);
        } catch (e) {
          if (!(e instanceof NoGpuKernel)) throw e;
          kernelPlan = null;
          reason = e.reason;
        }
      }
      if (kernelPlan) {
        const step: GpuStep = { kind: 'gpu', node, inputs, outputs, plan: kernelPlan, copies: [], scratch: [], encoded: [] };
        step.scratch = (kernelPlan.scratch ?? []).map((bytes) => ({ kind: 'slot', bytes: bufferSize(bytes), buffer: null, from: index, to: index }));
        // an input in the buffer an output writes (assign(v, f(v)) where f aliases): read a copy instead
        const written = new Set(outputs.map((o) => o.storage));
        inputs.forEach((r, k) => {
          const boundReadOnly = kernelPlan!.dispatches.some((d) => d.bindings.some((b) => 'input' in b.ref && b.ref.input === k));
          if (boundReadOnly && written.has(r.storage)) {
            step.copies.push({ input: k, scratch: { kind: 'slot', bytes: r.storage.bytes, buffer: null, from: index, to: index } });
          }
        });
        this.steps.push(step);
        const bindings = Math.max(0, ...kernelPlan.dispatches.map((d) => d.bindings.length));
        this.placement.push({ node: node.name, op: node.op, where: 'gpu', dispatches: kernelPlan.dispatches.length, bindings });
      } else {
        const cpu = getCpuKernel(node.op);
        if (!cpu) throw new UnsupportedOpError(`no kernel for op '${node.op}' (node '${node.name}') on webgpu (${reason}) nor on the cpu`, [node.op]);
        const early = inputs.every((r) => hostKnown.has(r.storage));
        if (early) outputs.forEach((o) => {
          if (o.storage.kind === 'slot') {
            o.storage.from = -1;
            hostKnown.add(o.storage);
          }
        });
        this.steps.push({ kind: 'host', node, inputs, outputs, kernel: cpu, reason, early, outputInfo: outInfo, staging: null, written: writtenInputs(node.op, node.attrs) });
        this.placement.push({ node: node.name, op: node.op, where: 'cpu' });
      }
      this.refs.set(node, outputs);
    });

    this.fetchRefs = plan.fetches.map((f) => {
      const r = this.refs.get(f.node)?.[f.index];
      if (!r) throw new GraphcError(`webgpu: fetch '${f.name}' is not computed by the plan`);
      if (f.node.op === 'variable') noteVariableUse(f.node, 'read');
      return r;
    });
    for (const [name, use] of firstUse) if (use === 'read') this.needsInit.push(name);

    // host-resident variables that GPU kernels read need their device copy current: an update of one
    // then runs where it falls in the run (uploading after it), not before the first submit
    for (const step of this.steps) if (step.kind === 'gpu') for (const r of step.inputs) if (r.storage.hostVar) this.gpuRead.add(r.storage);
    for (const step of this.steps) {
      if (step.kind === 'host' && step.outputs.some((o) => this.gpuRead.has(o.storage))) step.early = false;
    }

    const gpuInputs = new Set<Storage>();
    for (const step of this.steps) if (step.kind === 'gpu') for (const r of step.inputs) gpuInputs.add(r.storage);
    for (const c of this.consts) {
      if (!gpuInputs.has(c.storage)) continue;
      const buffer = state.constantBuffer(toDeviceArray(c.value, `constant '${c.name}'`), `const ${c.name}`);
      this.constantBuffers.push(buffer);
      c.storage.buffer = buffer;
      c.storage.bytes = buffer.size;
    }

    // lifetimes: a storage lives from its writer to its last reader; fetched ones to the end
    const end = this.steps.length;
    this.steps.forEach((step, s) => {
      for (const r of step.inputs) r.storage.to = Math.max(r.storage.to, s);
    });
    for (const r of this.fetchRefs) r.storage.to = end;
    const slots = new Set<Storage>();
    for (const r of this.feedRefs) slots.add(r.storage);
    for (const step of this.steps) {
      for (const o of step.outputs) if (o.storage.kind === 'slot') slots.add(o.storage);
      if (step.kind === 'gpu') {
        for (const s of step.scratch) slots.add(s);
        for (const c of step.copies) slots.add(c.scratch);
      }
    }
    this.slotList = [...slots];
    const memory = planBuffers(this.slotList.map((s) => ({ bytes: s.bytes, from: s.from, to: Math.max(s.to, s.from) })));
    this.arenaPlan = memory;
    this.takeArena();
    const fetchBytes = this.fetchRefs.filter((r) => !hostKnown.has(r.storage)).reduce((sum, r) => sum + Math.ceil(deviceBytes(r.dtype, r.shape) / 4) * 4, 0);
    this.staging = fetchBytes > 0 ? createBuffer(device, bufferSize(fetchBytes), GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'graphc fetch staging') : null;
    if (this.staging) this.ownedBuffers.push(this.staging);

    // pipelines (compiled asynchronously, awaited by the first run) and bind groups
    let pipelines = 0;
    let bindGroups = 0;
    for (const step of this.steps) {
      if (step.kind !== 'gpu') continue;
      for (const c of step.copies) {
        const d = copyDispatch(step.inputs[c.input].storage.bytes, ctx.limits.maxComputeWorkgroupsPerDimension);
        step.encoded.push(this.encode(step, d, () => [step.inputs[c.input].storage.buffer!, c.scratch.buffer!]));
        bindGroups++;
      }
      for (const d of step.plan.dispatches) {
        if (d.workgroups.some((w) => w === 0)) continue;
        step.encoded.push(this.encode(step, d, () => d.bindings.map((b) => this.bufferOf(step, b.ref))));
        bindGroups++;
      }
      pipelines += step.encoded.length;
    }
    for (const step of this.steps) {
      if (step.kind !== 'host') continue;
      const down = step.inputs.filter((r) => !hostKnown.has(r.storage) && !r.host).reduce((s, r) => s + Math.ceil(deviceBytes(r.dtype, r.shape) / 4) * 4, 0);
      if (down > 0) {
        step.staging = createBuffer(device, bufferSize(down), GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, `graphc fallback staging ${step.node.name}`);
        this.ownedBuffers.push(step.staging);
      }
      const up = step.outputs.filter((r) => !r.storage.hostVar || this.gpuRead.has(r.storage)).reduce((s, r) => s + deviceBytes(r.dtype, r.shape), 0);
      this.fallbacks.push({ node: step.node.name, op: step.node.op, reason: step.reason, downloadBytes: down, uploadBytes: up, early: step.early });
    }
    Object.assign(this.stats, {
      gpuKernels: this.steps.filter((s) => s.kind === 'gpu').length,
      fallbackOps: this.fallbacks.length,
      dispatchesPerRun: this.steps.reduce((n, s) => n + (s.kind === 'gpu' ? s.encoded.length : 0), 0),
      bindGroups,
      pipelines,
      buffers: memory.sizes.length,
      naiveBytes: memory.naiveBytes,
      arenaBytes: memory.plannedBytes,
      lowerBoundBytes: memory.lowerBoundBytes,
      feedBytes: this.feedRefs.reduce((s, r) => s + deviceBytes(r.dtype, r.shape), 0),
      fetchBytes: this.fetchRefs.reduce((s, r) => s + deviceBytes(r.dtype, r.shape), 0),
    });
  }

  private hostKnown = new Set<Storage>();
  private readonly consts: { storage: Storage; value: TensorValue; name: string }[] = [];
  private readonly hostVars: { storage: Storage; name: string; dtype: DType; shape: number[] }[] = [];
  /** Host-resident variables some GPU kernel of this plan reads. */
  private readonly gpuRead = new Set<Storage>();

  private bufferOf(step: GpuStep, ref: BindingRef): GPUBuffer {
    if ('state' in ref) {
      const { key, init } = step.plan.state![ref.state];
      return this.state.persistentBuffer(key, init);
    }
    if ('input' in ref) {
      const copy = step.copies.find((c) => c.input === ref.input);
      return (copy ? copy.scratch : step.inputs[ref.input].storage).buffer!;
    }
    if ('output' in ref) return step.outputs[ref.output].storage.buffer!;
    return step.scratch[ref.scratch].buffer!;
  }

  /** Binds the plan's tensors to the session's arena buffers (at compile, and after the arena grew for another plan). */
  private takeArena(): void {
    const physical = this.state.arena.bind(this, this.arenaPlan.sizes);
    this.slotList.forEach((s, i) => (s.buffer = physical[this.arenaPlan.assignment[i]]));
    this.arenaStale = false;
  }

  /** The pool replaced a buffer this plan binds: new bind groups before its next run. */
  arenaMoved(): void {
    this.arenaStale = true;
  }

  private rebindArena(): void {
    this.takeArena();
    for (const step of this.steps) {
      if (step.kind !== 'gpu') continue;
      for (const e of step.encoded) e.bindGroup = this.bindGroup(e.layout, e.buffers());
    }
  }

  private bindGroup(layout: GPUBindGroupLayout, buffers: GPUBuffer[]): GPUBindGroup {
    creationCounts.bindGroups++;
    return this.ctx.device.createBindGroup({ layout, entries: buffers.map((buffer, i) => ({ binding: i, resource: { buffer } })) });
  }

  private encode(step: GpuStep, d: WgslDispatch, buffers: () => GPUBuffer[]): EncodedDispatch {
    const ctx = this.ctx;
    const access = d.bindings.map((b) => b.access ?? ('input' in b.ref ? 'read' : 'read_write'));
    const decls = d.bindings.map((b, i) => `@group(0) @binding(${i}) var<storage, ${access[i]}> ${b.name}: ${b.type};`).join('\n');
    const code = `${decls}\n${preludeFor(d.body)}${d.body}\n`;
    const layoutKey = access.join(',');
    let layout = ctx.layouts.get(layoutKey);
    if (!layout) {
      layout = ctx.device.createBindGroupLayout({
        entries: access.map((a, i) => ({
          binding: i,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: a === 'read' ? 'read-only-storage' : 'storage' },
        })),
      });
      ctx.layouts.set(layoutKey, layout);
    }
    const pipeline = ctx.pipelines.acquire(code, () => {
      if (typeof process !== 'undefined' && process.env?.GRAPHC_WGSL_DUMP) {
        // debugging aid: every new kernel's source, labelled with its node
        process.stderr.write(`// ---- ${step.node.op} (${step.node.name})\n${code}\n`);
      }
      creationCounts.pipelines++;
      const module = ctx.device.createShaderModule({ code, label: `${step.node.op} ${step.node.name}` });
      const desc: GPUComputePipelineDescriptor = {
        layout: ctx.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
        label: step.node.op,
      };
      return process.env.GRAPHC_SYNC_PIPELINES ? Promise.resolve(ctx.device.createComputePipeline(desc)) : ctx.device.createComputePipelineAsync(desc);
    });
    this.pipelineSources.push(code);
    return { pipeline, resolved: null, layout, buffers, bindGroup: this.bindGroup(layout, buffers()), workgroups: d.workgroups };
  }

  run(feeds: TensorValue[]): Promise<TensorValue[]> {
    return exclusive(() => this.runExclusive(feeds));
  }

  private async runExclusive(feeds: TensorValue[]): Promise<TensorValue[]> {
    if (this.disposed) throw new GraphcError('webgpu: this plan was disposed (session closed)');
    if (this.ctx.lost) throw new GraphcError(`webgpu: the device was lost (${this.ctx.lost}); create a new session`);
    await this.prepared;
    if (this.arenaStale) this.rebindArena();
    for (const name of this.needsInit) {
      if (!this.state.has(name)) {
        throw new GraphcError(`variable '${name}' is not initialized: run globalVariablesInitializer() (or restore a checkpoint) first`);
      }
    }
    const device = this.ctx.device;
    let uploaded = 0;
    let downloaded = 0;
    let submits = 0;
    let dispatches = 0;
    const upload = (ref: TensorRef, value: TensorValue, what: string): void => {
      const data = toDeviceArray(value, what);
      device.queue.writeBuffer(ref.storage.buffer!, 0, data.buffer, data.byteOffset, data.byteLength);
      uploaded += data.byteLength;
    };
    const host = new Map<Storage, TensorValue>();
    for (const v of this.hostVars) {
      host.set(v.storage, this.state.hostValue(v.name, v.dtype, v.shape));
      if (this.gpuRead.has(v.storage)) uploaded += this.state.syncDevice(v.name);
    }
    this.feedRefs.forEach((r, i) => {
      if (sizeOf(feeds[i].shape) !== sizeOf(r.shape)) throw new ShapeError(`webgpu: feed ${i} has shape [${feeds[i].shape}], the plan was compiled for [${r.shape}]`);
      upload(r, feeds[i], `feed '${this.plan.feeds[i].name}'`);
      host.set(r.storage, feeds[i]);
    });
    for (const step of this.steps) {
      if (step.kind !== 'gpu' || !step.plan.hostChecks) continue;
      for (const { input, check } of step.plan.hostChecks) {
        const r = step.inputs[input];
        const known = host.get(r.storage) ?? r.host;
        const message = known ? check({ dtype: r.dtype, shape: r.shape, data: known.data }) : null;
        if (message) throw new GraphcError(message);
      }
    }
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    let encoder = device.createCommandEncoder();
    let pass = encoder.beginComputePass();
    const timer = this.timer;
    try {
      for (let index = 0; index < this.steps.length; index++) {
        const step = this.steps[index];
        if (step.kind === 'gpu') {
          // profiling: the step's dispatches in a pass of their own, stamped at its start and end
          if (timer) {
            pass.end();
            pass = encoder.beginComputePass(timer.pass(index));
          }
          for (const e of step.encoded) {
            pass.setPipeline(e.resolved!);
            pass.setBindGroup(0, e.bindGroup);
            pass.dispatchWorkgroups(...e.workgroups);
            dispatches++;
          }
          if (timer) {
            pass.end();
            pass = encoder.beginComputePass();
          }
          continue;
        }
        // CPU fallback: inputs from the host where known, else downloaded (which ends the command buffer)
        const values: (TensorValue | null)[] = step.inputs.map((r) => {
          const known = host.get(r.storage) ?? r.host;
          return known ? { dtype: r.dtype, shape: r.shape, data: known.data } : null;
        });
        const missing = step.inputs.map((r, k) => (values[k] ? null : r)).filter((r): r is TensorRef => r !== null);
        if (missing.length) {
          pass.end();
          const bytes = await readBack(
            device,
            encoder,
            missing.map((r) => ({ buffer: r.storage.buffer!, bytes: deviceBytes(r.dtype, r.shape) })),
            step.staging,
          );
          submits++;
          let m = 0;
          step.inputs.forEach((r, k) => {
            if (values[k]) return;
            values[k] = fromDeviceBytes(r.dtype, r.shape, bytes[m]);
            downloaded += bytes[m].byteLength;
            m++;
          });
          encoder = device.createCommandEncoder();
          pass = encoder.beginComputePass();
        }
        const hostStart = timer ? performance.now() : 0;
        const outputs = this.runHost(step, values as TensorValue[]);
        if (timer) timer.ms[index] += performance.now() - hostStart;
        outputs.forEach((v, k) => {
          const ref = step.outputs[k];
          if (ref.storage.hostVar) {
            this.state.hostChanged(ref.storage.hostVar);
            if (this.gpuRead.has(ref.storage)) uploaded += this.state.syncDevice(ref.storage.hostVar);
            return;
          }
          upload(ref, v, `output ${k} of node '${step.node.name}' (op '${step.node.op}', cpu fallback)`);
          if (ref.storage.kind === 'slot' && this.hostKnown.has(ref.storage)) host.set(ref.storage, v);
        });
        this.stats.fallbackRuns++;
      }
      pass.end();
      // fetches the host already holds (feeds, constants, host-resident variables) are not read back
      const onHost = this.fetchRefs.map((r) => host.get(r.storage) ?? r.host);
      const fromDevice = this.fetchRefs.filter((_, i) => !onHost[i]);
      const stamps = timer ? timer.resolve(encoder) : [];
      const fetched = await readBack(
        device,
        encoder,
        [...fromDevice.map((r) => ({ buffer: r.storage.buffer!, bytes: deviceBytes(r.dtype, r.shape) })), ...stamps],
        this.staging,
      );
      if (timer) {
        timer.record(fetched.splice(fromDevice.length));
        this.profiledRuns++;
      }
      submits++;
      for (const b of fetched) downloaded += b.byteLength;
      for (const name of this.assigned) this.state.markInitialized(name);
      let next = 0;
      return this.fetchRefs.map((r, i) => {
        const known = onHost[i];
        if (known) return { dtype: r.dtype, shape: [...r.shape], data: known.data.slice() };
        return fromDeviceBytes(r.dtype, r.shape, fetched[next++]);
      });
    } finally {
      // both scopes popped at once (the inner first): one wait for the device, not two in a row
      const [oom, invalid] = await Promise.all([device.popErrorScope(), device.popErrorScope()]);
      this.stats.runs++;
      this.stats.submits += submits;
      this.stats.dispatches += dispatches;
      this.stats.bytesUploaded += uploaded;
      this.stats.bytesDownloaded += downloaded;
      this.stats.lastRunBytesUploaded = uploaded;
      this.stats.lastRunBytesDownloaded = downloaded;
      this.stats.lastRunSubmits = submits;
      if (oom) throw new GraphcError(`webgpu: out of device memory running the plan: ${oom.message}`);
      if (invalid) throw new GraphcError(`webgpu: running the plan failed validation: ${invalid.message}`);
    }
  }

  private runHost(step: HostStep, inputs: TensorValue[]): TensorValue[] {
    const node = step.node;
    const variables = new Map<string, TensorValue>();
    const assignment = getOpDef(node.op).assignment;
    const written = step.written;
    written.forEach((k, j) => {
      const name = node.inputs[k].node.name;
      const ref = step.outputs[j];
      if (ref.storage.hostVar) variables.set(name, this.state.hostValue(name, ref.dtype, ref.shape));
      else if (this.state.has(name) || assignment !== 'replace') variables.set(name, inputs[k]);
    });
    const rng = (): Prng => {
      let g = this.state.rngs.get(node.name);
      if (!g) this.state.rngs.set(node.name, (g = new Prng(opSeed(node.attrs.seed, node.name))));
      return g;
    };
    const out = step.kernel(inputs, node.attrs, { node, outputs: step.outputInfo, alloc: heapAlloc, rng, variables });
    if (assignment) {
      return written.map((k, j) => variables.get(node.inputs[k].node.name) ?? out[j]);
    }
    return out;
  }

  /** A readable account of where each node runs and what crosses the bus. */
  describe(): string {
    const lines = this.placement.map((p) => `${p.where.padEnd(8)} ${p.op.padEnd(24)} ${p.node}${p.dispatches ? ` (${p.dispatches} dispatch${p.dispatches > 1 ? 'es' : ''})` : ''}`);
    for (const f of this.fallbacks) {
      lines.push(`fallback ${f.node}: ${f.reason}; ${f.downloadBytes} B down, ${f.uploadBytes} B up per run${f.early ? ' (before the first submit)' : ''}`);
    }
    return lines.join('\n');
  }

  startProfiling(): void {
    if (this.timer) return;
    if (!this.ctx.timestamps) throw new GraphcError(`profile: the webgpu adapter (${this.ctx.adapterName}) has no 'timestamp-query' feature, so its kernels cannot be timed`);
    this.timer = new GpuTimer(this.ctx.device, this.steps.length);
  }

  timings(): NodeTiming[] {
    const timer = this.timer;
    if (!timer) return [];
    return this.steps.map((step, i) => ({ node: step.node.name, op: step.node.op, calls: this.profiledRuns, ms: timer.ms[i] }));
  }

  clearTimings(): void {
    this.timer?.ms.fill(0);
    this.profiledRuns = 0;
  }

  /** Whether the plan was freed (its session closed, or evicted it: see SessionOptions.maxPlans). */
  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.state.leaveArena(this);
    for (const b of this.constantBuffers) this.state.releaseConstant(b);
    for (const code of this.pipelineSources) this.ctx.pipelines.release(code);
    for (const b of this.ownedBuffers) destroyBuffer(b);
    this.timer?.dispose();
  }
}
