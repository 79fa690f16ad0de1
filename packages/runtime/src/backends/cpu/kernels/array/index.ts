// Importing this module registers the cpu kernels of the 'array' op family.
import './reshape';
import './transpose';
import './fill';
import './concat';
import './slice';
import './gather';
import './pad';
import './one-hot';
import './gradient-ops';
