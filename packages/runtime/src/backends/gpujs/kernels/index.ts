// Importing a kernel module registers its gpu.js lowerings.
import './elementwise';
import './matmul';
import './array';
import './reduce';
import './nn';
import './gradients';
import './indexing';
import './nchw';
import './onnx';
import './recurrent';
import './detection';
import './control-flow';
import './linalg';
// last: fused ops reuse the anchor kernels registered above
import './fused';
