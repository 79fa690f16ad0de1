// Importing a kernel module registers its kernels.
import './state';
import './control';
import './matmul';
