// Importing a kernel module registers its kernels.
import './state';
import './control';
import './matmul';
import './array';
import './reduce';
import './nn';
import './random';
import './broadcast-gradient';
import './fused';
import './math';
import './functions';
