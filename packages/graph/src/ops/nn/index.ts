// Ops of the 'nn' family register here; see DESIGN.md for the one-file-per-op layout.
export * from './softmax';
export * from './conv2d';
export * from './pool';
export * from './batch-norm';
export * from './dropout';
export * from './cross-entropy';
export * from './conv2d-backprop';
export * from './pool-grad';
