export { gradients } from './gradients';
export type { GradientsOptions } from './gradients';
