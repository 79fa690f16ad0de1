import { registerCpuKernel } from '../kernel';

registerCpuKernel('noOp', () => []);
registerCpuKernel('identity', (inputs) => [inputs[0]]);
registerCpuKernel('stopGradient', (inputs) => [inputs[0]]);
registerCpuKernel('customGradient', (inputs) => [inputs[0]]);
