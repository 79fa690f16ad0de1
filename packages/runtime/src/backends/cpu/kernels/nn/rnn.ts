import { registerCpuKernel } from '../../kernel';
import { activations, clipValue, scanSequences, setup } from './recurrent';

/** ONNX RNN: H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb). */
registerCpuKernel('rnn', (inputs, attrs, ctx) => {
  const s = setup(inputs, attrs, ctx);
  const { hidden: H, clip } = s;
  const { slots, functions: acts } = activations(attrs, ['Tanh'], s.dirs);
  return scanSequences(s, attrs, inputs[0].dtype, ctx, {
    gates: 1,
    initialStates: ['initialH'],
    foldedBiasGates: 1,
    stepGates: 1,
    simd: { kind: 'rnn', activations: slots, clip },
    step({ d, xw, rh, states: [h], each }) {
      const [f] = acts[d];
      each((xo, ro, so) => {
        for (let k = 0; k < H; k++) h[so + k] = f(clipValue(xw[xo + k] + rh[ro + k], clip));
      });
    },
  });
});
