// Importing this module registers the cpu kernels of the 'random' op family.
import './random';
