// Importing a kernel module registers its gpu.js lowerings.
import './elementwise';
import './matmul';
import './array';
import './reduce';
import './nn';
import './gradients';
// last: fused ops reuse the anchor kernels registered above
import './fused';
