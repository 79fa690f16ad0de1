export * from '@graphc/graph';
export * from '@graphc/passes';
export * from '@graphc/runtime';
export { main } from './main';
