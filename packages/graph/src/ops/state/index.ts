export * from './state';
export * from './fused-assign';
