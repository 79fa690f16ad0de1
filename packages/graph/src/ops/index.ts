/** The builder API: `ops.add(a, b)`, `ops.conv2d(x, w, ...)`, ... One module per op family. */
export * from './math';
export * from './array';
export * from './reduce';
export * from './nn';
export * from './random';
export * from './state';
export * from './control';
export * from './fused';
export * from './composite';
export * from './segments';
export * from './matrix';
export * from './blocks';
