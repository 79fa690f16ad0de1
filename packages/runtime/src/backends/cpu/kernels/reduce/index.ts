// Importing this module registers the cpu kernels of the 'reduce' op family.
import './reduce';
import './arg-reduce';
