import { Node, TensorValue, UnsupportedOpError } from '@graphc/graph';
import type { Backend, Executable, VariableState } from '../../backend';
import type { Plan } from '../../plan';
import { Prng, opSeed } from '../../random';
import { CpuKernel, KernelContext, getCpuKernel, heapAlloc } from './kernel';
import './kernels';

/** Variables as host typed arrays, plus the per-node random generators of the session. */
export class CpuVariableState implements VariableState {
  readonly values = new Map<string, TensorValue>();
  readonly rngs = new Map<string, Prng>();
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
}

/** Evaluates one node on concrete inputs (constant folding uses this). */
export function evaluateNode(node: Node, inputs: TensorValue[]): TensorValue[] {
  const kernel = getCpuKernel(node.op);
  if (!kernel) throw new UnsupportedOpError(`no cpu kernel for op '${node.op}' (node '${node.name}')`, [node.op]);
  const rngs = new Map<string, Prng>();
  return kernel(inputs, node.attrs, {
    node,
    outputs: node.outputs,
    alloc: heapAlloc,
    rng: () => rngs.get(node.name) ?? rngs.set(node.name, new Prng(opSeed(node.attrs.seed, node.name))).get(node.name)!,
    variables: new Map(),
  });
}

class CpuExecutable implements Executable {
  readonly stats: Record<string, number> = { runs: 0, kernels: 0 };
  private readonly steps: Step[];
  private readonly slotCount: number;
  private readonly feedSlots: number[];
  private readonly fetchSlots: number[];

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
    this.steps = plan.schedule
      .filter((node) => !fed.has(node))
      .map((node) => {
        const rng = (): Prng => {
          let g = state.rngs.get(node.name);
          if (!g) state.rngs.set(node.name, (g = new Prng(opSeed(node.attrs.seed, node.name))));
          return g;
        };
        return {
          node,
          kernel: getCpuKernel(node.op)!,
          inputSlots: node.inputs.map((i) => slot(i.node, i.index)),
          outputSlots: node.outputs.map((_, i) => slot(node, i)),
          release: [],
          ctx: { node, outputs: plan.outputInfo.get(node) ?? node.outputs, alloc: heapAlloc, rng, variables: state.values },
        };
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
    const slots: (TensorValue | undefined)[] = new Array(this.slotCount);
    this.feedSlots.forEach((s, i) => (slots[s] = feeds[i]));
    for (const step of this.steps) {
      const inputs = step.inputSlots.map((s) => slots[s]!);
      const outputs = step.kernel(inputs, step.node.attrs, step.ctx);
      for (let i = 0; i < step.outputSlots.length; i++) slots[step.outputSlots[i]] = outputs[i];
      for (const s of step.release) slots[s] = undefined;
    }
    this.stats.runs++;
    this.stats.kernels += this.steps.length;
    // fetched values are copies: callers must not alias variables or arena memory
    return this.fetchSlots.map((s) => {
      const v = slots[s]!;
      return { dtype: v.dtype, shape: [...v.shape], data: v.data.slice() };
    });
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  async ready(): Promise<void> {}
  createState(): CpuVariableState {
    return new CpuVariableState();
  }
  compile(plan: Plan, state: VariableState): Executable {
    return new CpuExecutable(plan, state as CpuVariableState);
  }
  dispose(): void {}
}
