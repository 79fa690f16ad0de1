import { GraphcError, registeredOps } from '@graphc/graph';
import type { Backend, Executable, VariableState } from '../../backend';
import type { Plan } from '../../plan';
import { Prng, opSeed } from '../../random';
import { KernelCache } from './device';
import { GpujsRunInfo, PipelineExecutor, StepExecutor } from './executor';
import { GPUJS_MODES, GpuJsInstance, GpujsMode, bestMode, isDeviceMode, loadGpuJs, unavailableReason } from './gpu';
import { buildProgram, gpujsUnsupportedReason } from './program';
import { GpujsVariableState } from './state';
import './kernels';

export type { GpujsMode } from './gpu';
export type { GpujsRunInfo } from './executor';
export { GPUJS_MODES, bestMode, unavailableReason } from './gpu';
export { registerGpujsKernel, registerGpujsUnsupported, gpujsUnsupportedReason, hasGpujsKernel } from './program';
export type { LowerContext, Lowering, TensorRef } from './program';
export { GpujsVariableState } from './state';

export interface GpujsBackendOptions {
  /**
   * The gpu.js mode kernels run on. Default: the `GRAPHC_GPUJS_MODE` environment variable, else
   * 'auto': gpu.js's best available (webgpu where an adapter answers, else its own chain
   * headlessgl -> webgl2 -> webgl -> webasm -> cpu). An explicit mode that cannot run here is an error.
   */
  mode?: GpujsMode | 'auto';
  /** Run each plan as one gpu.js createPipeline where it can (default true). */
  pipeline?: boolean;
  /** Told once per compiled plan that does not run as one fused pipeline (default: console.warn). */
  onFallback?: (message: string) => void;
  /**
   * webasm only: run pipelines on gpu.js's worker pool ('fused-threaded') rather than on the calling
   * thread ('fused-sync'). Default: when the machine has more than 2 cores (on 2 the pool's hand-offs
   * cost more than the second core gives: a 256 GEMM took 85 ms threaded, 50-71 ms on one thread).
   */
  threads?: boolean;
}

/**
 * Runs plans as gpu.js kernels: every op is a kernel gpu.js transpiles (to WGSL, GLSL or WebAssembly)
 * or runs as JavaScript, results stay resident between kernels, and where gpu.js can, a whole plan
 * is one `createPipeline`.
 *
 * ```ts
 * new Session(g, { backend: 'gpujs' });                                   // gpu.js's best mode
 * new Session(g, { backend: new GpujsBackend({ mode: 'webasm' }) });       // a chosen mode
 * ```
 */
export class GpujsBackend implements Backend {
  readonly name = 'gpujs';
  readonly staticShapesOnly = true;
  /** The ops declared without a kernel (registerGpujsUnsupported): value-dependent attrs or shapes. */
  readonly hostOps: ReadonlySet<string> = new Set(registeredOps().map((d) => d.name).filter((op) => gpujsUnsupportedReason(op) !== undefined));
  private resolved: GpujsMode | null = null;
  private gpu: GpuJsInstance | null = null;
  private kernels: KernelCache | null = null;
  private readying: Promise<void> | null = null;
  private readonly requested: GpujsMode | 'auto';
  /** How the most recently compiled plan ran (updated as it runs). */
  lastInfo: GpujsRunInfo | null = null;

  constructor(private readonly options: GpujsBackendOptions = {}) {
    const env = typeof process !== 'undefined' ? process.env.GRAPHC_GPUJS_MODE : undefined;
    const mode = options.mode ?? (env as GpujsMode | 'auto' | undefined) ?? 'auto';
    if (mode !== 'auto' && !GPUJS_MODES.includes(mode)) {
      throw new GraphcError(`unknown gpu.js mode '${String(mode)}' (one of: auto, ${GPUJS_MODES.join(', ')})`);
    }
    this.requested = mode;
  }

  /** The mode kernels run on (known after ready()). */
  get mode(): GpujsMode {
    if (!this.resolved) throw new GraphcError('the gpujs backend is not ready: await backend.ready() first');
    return this.resolved;
  }

  ready(): Promise<void> {
    this.readying ??= (async () => {
      let mode: GpujsMode;
      if (this.requested === 'auto') mode = await bestMode();
      else {
        const why = await unavailableReason(this.requested);
        if (why) throw new GraphcError(`gpu.js mode '${this.requested}' cannot run here: ${why}`);
        mode = this.requested;
      }
      const { GPU } = loadGpuJs();
      this.gpu = new GPU({ mode });
      if (this.gpu.mode !== mode) throw new GraphcError(`gpu.js chose mode '${this.gpu.mode}' when '${mode}' was asked for`);
      this.kernels = new KernelCache(this.gpu, mode);
      this.resolved = mode;
    })();
    this.readying.catch(() => (this.readying = null));
    return this.readying;
  }

  private readonly states: GpujsVariableState[] = [];

  createState(): GpujsVariableState {
    const state = new GpujsVariableState();
    this.states.push(state);
    return state;
  }

  compile(plan: Plan, state: VariableState): Executable {
    if (!this.kernels) throw new GraphcError('the gpujs backend is not ready: await backend.ready() first');
    const vars = state as GpujsVariableState;
    const program = buildProgram(plan, {
      rng: (node) => {
        let g = vars.rngs.get(node.name);
        if (!g) vars.rngs.set(node.name, (g = new Prng(opSeed(node.attrs.seed, node.name))));
        return g;
      },
    });
    const mode = this.mode;
    let reason: string | null = null;
    if (this.options.pipeline === false) reason = 'pipelines are turned off (pipeline: false)';
    else if (isDeviceMode(mode) && program.writes.length) {
      reason =
        'the plan assigns variables: a gpu.js pipeline takes plain arrays in and reads every result back, ' +
        'so variables would leave the device every run; kernels run one call per step with results resident';
    } else if (program.steps.length === 0) reason = 'the plan has no kernels';
    const report = this.options.onFallback ?? ((m: string) => console.warn(`graphc gpujs: ${m}`));
    let executable: (StepExecutor | PipelineExecutor) & Executable;
    if (reason) {
      executable = new StepExecutor(program, vars, this.kernels, reason);
      if (program.steps.length) report(`plan runs without createPipeline: ${reason}`);
    } else {
      const threads = this.options.threads ?? coreCount() > 2;
      const pipeline = new PipelineExecutor(program, vars, this.kernels, threads);
      let told = false;
      const run = pipeline.run.bind(pipeline);
      pipeline.run = async (feeds) => {
        const out = await run(feeds);
        if (!told && pipeline.info.fallbackReason) {
          told = true;
          report(`gpu.js ran the plan's pipeline with its generic executor: ${pipeline.info.fallbackReason}`);
        }
        return out;
      };
      executable = pipeline;
    }
    this.lastInfo = executable.info;
    return executable;
  }

  dispose(): void {
    // device-resident variables die with the device
    for (const s of this.states.splice(0)) s.dispose();
    this.kernels?.dispose();
    void this.gpu?.destroy().catch(() => undefined);
    this.kernels = null;
    this.gpu = null;
    this.readying = null;
    this.resolved = null;
  }
}

/** The machine's cores: navigator.hardwareConcurrency in a browser, os.cpus() in Node. */
function coreCount(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  return (require('os') as typeof import('os')).cpus().length;
}
