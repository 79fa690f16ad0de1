import type { Backend, Executable, VariableState } from '../../backend';
import type { Plan } from '../../plan';
import { CpuExecutable, CpuVariableState } from './executable';
export { evaluateNode } from './kernel';
export { CpuVariableState } from './executable';
import './kernels';

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly runsAnyShape = true;
  async ready(): Promise<void> {}
  createState(): CpuVariableState {
    return new CpuVariableState();
  }
  compile(plan: Plan, state: VariableState): Executable {
    return new CpuExecutable(plan, state as CpuVariableState);
  }
  dispose(): void {}
}
