export { gradients } from './gradients';
export type { GradientsOptions } from './gradients';
import './control-flow';
