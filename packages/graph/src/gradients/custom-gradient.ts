import { GradientError } from '../errors';
import { setGradient } from '../registry';
import { shapeToString } from '../shape';
import { customGradientFunction } from '../ops/control/custom-gradient';

/**
 * customGradient: the registered function's gradients for inputs 1.. (its xs); none for input 0,
 * the value, so autodiff does not go into the ops that computed it from here.
 */
setGradient('customGradient', ({ node, inputs, outputs, grads }) => {
  const name = String(node.attrs.gradient);
  const fn = customGradientFunction(name);
  if (!fn) {
    throw new GradientError(`node '${node.name}': its custom gradient '${name}' is not registered in this process; call registerCustomGradient('${name}', fn) before differentiating a loaded graph`);
  }
  const xs = inputs.slice(1);
  const given = fn(grads[0]!, { xs, y: outputs[0] });
  const dxs = Array.isArray(given) ? given : [given];
  if (dxs.length !== xs.length) throw new GradientError(`node '${node.name}': custom gradient '${name}' returned ${dxs.length} gradients for ${xs.length} inputs`);
  dxs.forEach((d, i) => {
    if (!d) return;
    const x = xs[i];
    const fits = d.rank === x.rank && d.shape.every((v, k) => v === null || x.shape[k] === null || v === x.shape[k]);
    if (d.dtype !== x.dtype || !fits) {
      throw new GradientError(`node '${node.name}': custom gradient '${name}' returned ${d.dtype} ${shapeToString(d.shape)} for input ${i}, which is ${x.dtype} ${shapeToString(x.shape)}`);
    }
  });
  return [null, ...dxs];
});
