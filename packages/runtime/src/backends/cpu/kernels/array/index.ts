// Importing this module registers the cpu kernels of the 'array' op family.
export {};
