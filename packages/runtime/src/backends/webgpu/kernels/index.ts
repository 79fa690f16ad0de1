// Importing a kernel module registers its WGSL kernels.
import './state';
import './matmul';
import './fused';
import './reduce';
import './softmax';
import './array';
import './conv';
import './pool';
import './nn';
import './onnx-array';
import './onnx-nn';
import './onnx-math';
import './onnx-sampling';
import './recurrent';
import './roi-align';
import './matmul-nbits';
import './linalg';
