// Ops of the 'reduce' family register here; see DESIGN.md for the one-file-per-op layout.
export * from './reduce';
export * from './arg-reduce';
