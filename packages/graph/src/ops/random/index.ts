// Ops of the 'random' family register here; see DESIGN.md for the one-file-per-op layout.
export * from './random';
export * from './multinomial';
