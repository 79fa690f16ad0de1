// Ops of the 'array' family register here; see DESIGN.md for the one-file-per-op layout.
export {};
