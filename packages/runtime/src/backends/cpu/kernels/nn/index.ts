// Importing this module registers the cpu kernels of the 'nn' op family.
export {};
