/// <reference types="@webgpu/types" preserve="true" />
import { GraphcError } from '@graphc/graph';
import type { Backend, Executable, VariableState } from '../../backend';
import type { Plan } from '../../plan';
import { GpuContext, getGpu } from './device';
import { WebGpuExecutable } from './executable';
import { WebGpuVariableState } from './state';
import './kernels';

/**
 * The webgpu backend: WGSL compute shaders over storage buffers, through `navigator.gpu` in browsers
 * and the `webgpu` package (Dawn) in Node. `ready()` acquires the process's device (asking for the
 * adapter's limits on workgroup storage and buffer sizes) or rejects with WebGpuUnavailableError.
 */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly staticShapesOnly = true;
  private ctx: GpuContext | null = null;
  private readonly states = new Set<WebGpuVariableState>();
  private readonly plans: WebGpuExecutable[] = [];

  /** The plans compiled by this backend and not freed yet, newest last (fallbacks, placement and stats per plan). */
  get compiled(): WebGpuExecutable[] {
    return this.plans.filter((e) => !e.isDisposed);
  }

  async ready(): Promise<void> {
    if (this.ctx && !this.ctx.lost) return;
    this.ctx = await getGpu();
    for (const s of this.states) s.bind(this.ctx);
  }

  /** The adapter's name and whether it is a software (CPU-emulated) one, once ready. */
  get adapter(): { name: string; software: boolean } | null {
    return this.ctx ? { name: this.ctx.adapterName, software: this.ctx.software } : null;
  }

  createState(): VariableState {
    const state = new WebGpuVariableState();
    this.states.add(state);
    if (this.ctx) state.bind(this.ctx);
    return state;
  }

  compile(plan: Plan, state: VariableState): Executable {
    if (!this.ctx) throw new GraphcError('webgpu: compile() before ready()');
    if (!(state instanceof WebGpuVariableState)) throw new GraphcError('webgpu: variable state of another backend');
    state.bind(this.ctx);
    const exe = new WebGpuExecutable(plan, state, this.ctx);
    for (let i = this.plans.length - 1; i >= 0; i--) if (this.plans[i].isDisposed) this.plans.splice(i, 1);
    this.plans.push(exe);
    return exe;
  }

  dispose(): void {
    for (const e of this.plans) e.dispose();
    for (const s of this.states) s.dispose();
    this.states.clear();
  }
}
