import { setGradient } from '../registry';

/** identity passes the gradient through; stopGradient is the point where it stops (tf.stop_gradient). */
setGradient('identity', ({ grads }) => [grads[0]]);
setGradient('stopGradient', () => [null], [0]);
