// Importing this module registers the cpu kernels of the 'nn' op family.
import './softmax';
import './conv2d';
import './depthwise-conv2d';
import './pool';
import './batch-norm';
import './dropout';
import './cross-entropy';
import './conv2d-backprop';
import './pool-grad';
