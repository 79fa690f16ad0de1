import { DType, Node, TensorValue, TypedArray, UnsupportedOpError, arrayTypeOf, getOpDef, sizeOf } from '@graphc/graph';
import type { TensorSlot } from '@graphc/passes';
import type { Executable, NodeTiming, VariableState } from '../../backend';
import type { Plan } from '../../plan';
import { Prng, opSeed } from '../../random';
import { CpuKernel, KernelContext, getCpuKernel, heapAlloc } from './kernel';
import { markConstantData } from './simd-memory';

/**
 * The memory a session's plans run in. A cpu run is synchronous, so two runs never overlap: the
 * plans of one session (one per feed shape) take turns in one buffer as large as the largest plan
 * needs, where each would otherwise hold an arena of its own. When a new plan needs more, the buffer
 * is replaced and the plans bound to the old one drop their views of it (so it can be freed) and
 * bind to the new one on their next run.
 */
export class SharedArena {
  private current = new ArrayBuffer(0);
  private readonly users = new Set<{ unbind(): void }>();

  /** The buffer, for a plan that binds its views to it until `reserve` replaces it or it `leave`s. */
  bind(user: { unbind(): void }): ArrayBuffer {
    this.users.add(user);
    return this.current;
  }

  leave(user: { unbind(): void }): void {
    this.users.delete(user);
  }

  reserve(bytes: number): void {
    if (bytes <= this.current.byteLength) return;
    this.current = new ArrayBuffer(bytes);
    for (const user of this.users) user.unbind();
    this.users.clear();
  }
}

/** Variables as host typed arrays, the per-node random generators and the arena of the session. */
export class CpuVariableState implements VariableState {
  readonly values = new Map<string, TensorValue>();
  readonly rngs = new Map<string, Prng>();
  readonly arena = new SharedArena();
  has(name: string): boolean {
    return this.values.has(name);
  }
  async read(name: string): Promise<TensorValue> {
    const v = this.values.get(name)!;
    return { dtype: v.dtype, shape: [...v.shape], data: v.data.slice() };
  }
  write(name: string, value: TensorValue): void {
    this.values.set(name, { dtype: value.dtype, shape: [...value.shape], data: value.data.slice() });
  }
  names(): string[] {
    return [...this.values.keys()];
  }
}

interface Step {
  node: Node;
  kernel: CpuKernel;
  inputSlots: number[];
  outputSlots: number[];
  /** Slots whose last reader is this step: dropped after it so memory can be reclaimed. */
  release: number[];
  ctx: KernelContext;
  /** Where this step's outputs lie in the arena, by output index (undefined: the kernel allocates). */
  planned?: (TensorSlot | undefined)[];
  /** Arena views of those regions, by output index (made when the plan binds to the arena). */
  arenaOut?: (ArenaView | undefined)[];
  /** Byte offset each output must have if it lies in the arena (a view of an input's region, or its own). */
  expectOffset?: (number | undefined)[];
  /** Whether the outputs may lie in the arena (state ops hand out variables, feeds and constants). */
  checkArena: boolean;
}

/** A typed-array view of one planned region of the arena, made when the plan binds to it and reused every run. */
interface ArenaView {
  dtype: DType;
  data: TypedArray;
  taken: boolean;
}

export class CpuExecutable implements Executable {
  readonly stats: Record<string, number> = { runs: 0, kernels: 0, arenaBytes: 0, arenaFixups: 0 };
  private readonly steps: Step[];
  private readonly slotCount: number;
  private readonly feedSlots: number[];
  private readonly fetchSlots: number[];
  /** The session's arena, where every planned tensor of a run lies at its MemoryPlan offset. */
  private readonly arena?: SharedArena;
  /** The arena buffer the steps' views are made on (none until the first run, or after the arena grew). */
  private bound?: ArrayBuffer;
  /** Whether arena views are poisoned when handed out (GRAPHC_POISON_ARENA, read when the plan compiles). */
  private readonly poisoned = POISON_ARENA();
  /** Milliseconds in each step's kernel since profiling started (undefined: not profiling). */
  private stepMs?: Float64Array;
  private profiledRuns = 0;

  constructor(plan: Plan, state: CpuVariableState) {
    const slotOf = new Map<string, number>();
    let next = 0;
    const slot = (node: Node, index: number): number => {
      const key = `${node.id}:${index}`;
      let s = slotOf.get(key);
      if (s === undefined) slotOf.set(key, (s = next++));
      return s;
    };
    const fed = new Set(plan.feeds.map((f) => f.node));
    this.feedSlots = plan.feeds.map((f) => slot(f.node, f.index));
    const missing = plan.schedule.filter((n) => !getCpuKernel(n.op)).map((n) => n.op);
    if (missing.length) {
      throw new UnsupportedOpError(`the cpu backend has no kernel for: ${[...new Set(missing)].join(', ')}`, [...new Set(missing)]);
    }
    // constants' values never change, so a product may keep them in its kernel's memory between runs
    for (const node of plan.schedule) if (node.op === 'const') markConstantData((node.attrs.value as TensorValue).data);
    const memory = plan.memory;
    if (memory && memory.plannedBytes > 0) {
      this.arena = state.arena;
      this.arena.reserve(memory.plannedBytes);
      this.stats.arenaBytes = memory.plannedBytes;
    }
    this.steps = plan.schedule
      .filter((node) => !fed.has(node))
      .map((node) => {
        const rng = (): Prng => {
          let g = state.rngs.get(node.name);
          if (!g) state.rngs.set(node.name, (g = new Prng(opSeed(node.attrs.seed, node.name))));
          return g;
        };
        const step: Step = {
          node,
          kernel: getCpuKernel(node.op)!,
          inputSlots: node.inputs.map((i) => slot(i.node, i.index)),
          outputSlots: node.outputs.map((_, i) => slot(node, i)),
          release: [],
          ctx: { node, outputs: plan.outputInfo.get(node) ?? node.outputs, alloc: heapAlloc, rng, variables: state.values },
          checkArena: getOpDef(node.op).family !== 'state',
        };
        const planned = memory?.slots.get(node);
        if (this.arena && planned?.some((p) => p !== undefined)) {
          step.planned = planned;
          step.expectOffset = planned.map((p) => p?.offset);
        }
        return step;
      });
    this.fetchSlots = plan.fetches.map((f) => slot(f.node, f.index));
    this.slotCount = next;
    // liveness: release each slot after its last reader, unless it is fetched
    const lastUse = new Map<number, Step>();
    for (const step of this.steps) for (const s of step.inputSlots) lastUse.set(s, step);
    const fetched = new Set(this.fetchSlots);
    for (const [s, step] of lastUse) if (!fetched.has(s)) step.release.push(s);
  }

  async run(feeds: TensorValue[]): Promise<TensorValue[]> {
    return this.runSync(feeds);
  }

  startProfiling(): void {
    this.stepMs ??= new Float64Array(this.steps.length);
  }

  timings(): NodeTiming[] {
    const ms = this.stepMs;
    if (!ms) return [];
    return this.steps.map((step, i) => ({ node: step.node.name, op: step.node.op, calls: this.profiledRuns, ms: ms[i] }));
  }

  clearTimings(): void {
    this.stepMs?.fill(0);
    this.profiledRuns = 0;
  }

  /** Makes the steps' arena views: when the plan first runs, and after the arena grew for another plan. */
  private bind(arena: SharedArena): void {
    const buffer = arena.bind(this);
    for (const step of this.steps) {
      if (!step.planned) continue;
      step.arenaOut = step.planned.map((p) =>
        p && p.kind !== 'alias' ? { dtype: p.dtype, data: new (arrayTypeOf(p.dtype))(buffer, p.offset, p.length), taken: false } : undefined,
      );
      // a kernel that overwrites an input's region (inplaceInput) reads it first: never poison those
      step.ctx.alloc = arenaAlloc(step.arenaOut, this.poisoned && getOpDef(step.node.op).inplaceInput === undefined);
    }
    this.bound = buffer;
  }

  /** Drops the views of the arena's buffer (it grew for another plan, or this plan was freed). */
  unbind(): void {
    for (const step of this.steps) {
      if (!step.arenaOut) continue;
      step.arenaOut = undefined;
      step.ctx.alloc = heapAlloc;
    }
    this.bound = undefined;
  }

  dispose(): void {
    this.arena?.leave(this);
    this.unbind();
  }

  /** `run` without the promise: the cpu computes on the calling thread (a loop body runs inside a kernel so). */
  runSync(feeds: TensorValue[]): TensorValue[] {
    if (this.arena && !this.bound) this.bind(this.arena);
    const slots: (TensorValue | undefined)[] = new Array(this.slotCount);
    this.feedSlots.forEach((s, i) => (slots[s] = feeds[i]));
    const stepMs = this.stepMs;
    for (let i = 0; i < this.steps.length; i++) {
      const step = this.steps[i];
      const inputs = step.inputSlots.map((s) => slots[s]!);
      if (step.arenaOut) for (const v of step.arenaOut) if (v) v.taken = false;
      const start = stepMs ? performance.now() : 0;
      const outputs = step.kernel(inputs, step.node.attrs, step.ctx);
      if (stepMs) stepMs[i] += performance.now() - start;
      if (this.arena && step.checkArena) this.checkArenaOutputs(step, outputs);
      for (let i = 0; i < step.outputSlots.length; i++) slots[step.outputSlots[i]] = outputs[i];
      for (const s of step.release) slots[s] = undefined;
    }
    this.stats.runs++;
    this.stats.kernels += this.steps.length;
    if (stepMs) this.profiledRuns++;
    // fetched values are copies: callers must not alias variables or arena memory
    return this.fetchSlots.map((s) => {
      const v = slots[s]!;
      return { dtype: v.dtype, shape: [...v.shape], data: v.data.slice() };
    });
  }

  /**
   * The plan assumed each output lies at its planned offset (or outside the arena). A kernel that
   * hands back another arena region (an input, returned as its output without the op declaring it
   * a view) would let that region be reused while the output is still read: such an output is
   * moved to its own planned region, or to the heap.
   */
  private checkArenaOutputs(step: Step, outputs: TensorValue[]): void {
    for (let i = 0; i < outputs.length; i++) {
      const v = outputs[i];
      if (!v || v.data.buffer !== this.bound || step.expectOffset?.[i] === v.data.byteOffset) continue;
      const own = step.arenaOut?.[i];
      let data: TypedArray;
      if (own && own.dtype === v.dtype && own.data.length === v.data.length && own.data.byteOffset !== v.data.byteOffset) {
        own.data.set(v.data as never);
        data = own.data;
      } else data = v.data.slice();
      outputs[i] = { dtype: v.dtype, shape: [...v.shape], data };
      this.stats.arenaFixups++;
    }
  }
}

/**
 * GRAPHC_POISON_ARENA=1: every arena view a kernel allocates is first filled with garbage (NaN, or
 * 0x5a bytes for integers), as malloc-perturb does, so a kernel that relies on zeroed memory fails
 * visibly (tests/runtime/poison-arena.test.ts runs every op's cases so).
 */
const POISON_ARENA = (): boolean => process.env.GRAPHC_POISON_ARENA === '1';

function poison(data: TypedArray): void {
  if (data instanceof Float32Array || data instanceof Float64Array) data.fill(NaN);
  else new Uint8Array(data.buffer, data.byteOffset, data.byteLength).fill(0x5a);
}

/** `ctx.alloc` of a planned step: hands out its arena views in output order, by dtype and size; anything else goes to the heap. */
function arenaAlloc(views: (ArenaView | undefined)[], poisoned = false): KernelContext['alloc'] {
  return (dtype, shape) => {
    const length = sizeOf(shape);
    for (const v of views) {
      if (v && !v.taken && v.dtype === dtype && v.data.length === length) {
        v.taken = true;
        if (poisoned) poison(v.data);
        return { dtype, shape: [...shape], data: v.data };
      }
    }
    return heapAlloc(dtype, shape);
  };
}
