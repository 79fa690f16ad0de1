export * from './unary';
export * from './binary';
export * from './matmul';
