import { registerCpuKernel } from '../../kernel';
import { activations, clipValue, scanSequences, setup } from './recurrent';

/** ONNX LSTM: gates i, o, f, c in W, R and B; peepholes i, o, f in P. */
registerCpuKernel('lstm', (inputs, attrs, ctx) => {
  const s = setup(inputs, attrs, ctx);
  const { hidden: H, clip } = s;
  const p = s.get('p')?.data;
  const { slots, functions: acts } = activations(attrs, ['Sigmoid', 'Tanh', 'Tanh'], s.dirs);
  const coupled = attrs.inputForget === true;
  return scanSequences(s, attrs, inputs[0].dtype, ctx, {
    gates: 4,
    initialStates: ['initialH', 'initialC'],
    foldedBiasGates: 4,
    stepGates: 4,
    simd: { kind: 'lstm', activations: slots, clip, coupled, peepholes: p },
    step({ d, xw, rh, states: [h, c], each }) {
      const [f, g, out] = acts[d];
      const peepholes = p ? d * 3 * H : -1;
      each((xo, ro, so) => {
        for (let k = 0; k < H; k++) {
          // gates i, o, f, c at columns k, H + k, 2H + k, 3H + k
          const x = xo + k;
          const r = ro + k;
          const cPrev = c[so + k];
          let i = xw[x] + rh[r];
          let o = xw[x + H] + rh[r + H];
          let fg = xw[x + 2 * H] + rh[r + 2 * H];
          if (peepholes >= 0) {
            i += p![peepholes + k] * cPrev;
            fg += p![peepholes + 2 * H + k] * cPrev;
          }
          const iGate = f(clipValue(i, clip));
          const fGate = coupled ? 1 - iGate : f(clipValue(fg, clip));
          const cNew = fGate * cPrev + iGate * g(clipValue(xw[x + 3 * H] + rh[r + 3 * H], clip));
          if (peepholes >= 0) o += p![peepholes + H + k] * cNew;
          c[so + k] = cNew;
          h[so + k] = f(clipValue(o, clip)) * out(cNew);
        }
      });
    },
  });
});
