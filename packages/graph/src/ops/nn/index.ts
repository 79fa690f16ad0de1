// Ops of the 'nn' family register here; see DESIGN.md for the one-file-per-op layout.
export {};
