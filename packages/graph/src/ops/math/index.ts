export * from './unary';
export * from './binary';
export * from './matmul';
export * from './broadcast-gradient';
export * from './activation-grad';
