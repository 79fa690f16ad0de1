// Importing this module registers the cpu kernels of 'math' ops that are not pointwise.
import './cumsum';
import './einsum';
import './det';
import './matmul-nbits';
import './linalg';
