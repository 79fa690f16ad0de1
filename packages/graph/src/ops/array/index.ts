// Ops of the 'array' family register here; see DESIGN.md for the one-file-per-op layout.
export * from './reshape';
export * from './transpose';
export * from './cast';
export * from './fill';
export * from './concat';
export * from './slice';
export * from './gather';
export * from './pad';
export * from './tile';
export * from './one-hot';
export * from './gradient-ops';
