import type { TensorValue } from '@graphc/graph';
import type { Plan } from './plan';

/**
 * What a backend gives the session: a compiled form of a plan, and storage for variables that
 * stays on the backend's device for the session's life.
 */
export interface Backend {
  readonly name: string;
  /**
   * Compiles only plans whose every shape is known (GPU backends plan buffers ahead). The session
   * then runs a plan with data-dependent shapes in stages (see staged.ts) instead of handing it over.
   */
  readonly staticShapesOnly?: boolean;
  /**
   * Runs a plan whose shapes are partly unknown, its kernels working each tensor's shape out as they
   * run (the cpu): the session then runs a shape its shared passes' graph serves on that graph's one
   * unspecialized plan, and specializes a plan for the shape only when it comes back.
   */
  readonly runsAnyShape?: boolean;
  /** Ops it has no kernel for at all (their attrs come from values): the session stages at them too. */
  readonly hostOps?: ReadonlySet<string>;
  /** Resolves once the device is usable; rejects with a GraphcError saying why if it is not. */
  ready(): Promise<void>;
  /** Fresh variable storage for one session. */
  createState(): VariableState;
  /** Binds kernels (and, on GPUs, pipelines and buffers) for one plan; done once per signature. */
  compile(plan: Plan, state: VariableState): Executable;
  /** Frees device memory. */
  dispose(): void;
}

/** Variable storage of one session, by variable node name. */
export interface VariableState {
  has(name: string): boolean;
  /** Current value, downloaded to the host if the backend keeps it on a device. */
  read(name: string): Promise<TensorValue>;
  /** Replaces a variable's value (restore, load); uploads it to the device if needed. */
  write(name: string, value: TensorValue): void;
  names(): string[];
}

export interface Executable {
  /** Runs the plan with `feeds` (by plan feed order) and returns the fetched values (by fetch order). */
  run(feeds: TensorValue[]): Promise<TensorValue[]>;
  /** Figures for tests and reports (bytes moved, kernels dispatched, ...). */
  readonly stats: Record<string, number>;
  /**
   * Starts timing each node's kernels on every run from now on (a session with `profile: true` calls
   * it). A backend that cannot time its kernels leaves it out, and such a session is refused.
   */
  startProfiling?(): void;
  /** Kernel times per node since profiling started (or was last cleared). */
  timings?(): NodeTiming[];
  clearTimings?(): void;
  dispose?(): void;
}

/** The time one node's kernels took, summed over the runs profiled. */
export interface NodeTiming {
  node: string;
  op: string;
  /** Runs the node's kernel took part in. */
  calls: number;
  ms: number;
}
