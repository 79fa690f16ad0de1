import { registerCpuKernel } from '../../kernel';
import { activations, clipValue, dotRow, scanSequences, setup } from './recurrent';

/** ONNX RNN: H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb). */
registerCpuKernel('rnn', (inputs, attrs, ctx) => {
  const s = setup(inputs, attrs, ctx);
  const { hidden: H, input: I, dirs } = s;
  const w = s.get('w')!.data;
  const r = s.get('r')!.data;
  const b = s.get('b')?.data;
  const acts = activations(attrs, ['Tanh'], dirs);
  return scanSequences(s, attrs, inputs[0].dtype, ctx, ['initialH'], (d, xt, [hPrev]) => {
    const [f] = acts[d];
    const hNew = new Float64Array(H);
    for (let k = 0; k < H; k++) {
      let v = dotRow(w, (d * H + k) * I, xt, I) + dotRow(r, (d * H + k) * H, hPrev, H);
      if (b) v += b[d * 2 * H + k] + b[d * 2 * H + H + k];
      hNew[k] = f(clipValue(v, s.clip));
    }
    return [hNew];
  });
});
