import { registerCpuKernel } from '../../kernel';
import { activations, clipValue, dotRow, initialState, outputs, setup } from './recurrent';

/** ONNX RNN: H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb). */
registerCpuKernel('rnn', (inputs, attrs, ctx) => {
  const s = setup(inputs, attrs, ctx);
  const { hidden: H, input: I, dirs } = s;
  const w = s.get('w')!.data;
  const r = s.get('r')!.data;
  const b = s.get('b')?.data;
  const acts = activations(attrs, ['Tanh'], dirs);
  const { y, finals, yAt, finalAt } = outputs(s, inputs[0].dtype, ctx, 1);
  const xt = new Float64Array(I);
  for (let d = 0; d < dirs; d++) {
    const [f] = acts[d];
    for (let bi = 0; bi < s.batch; bi++) {
      let hPrev = initialState(s, 'initialH', d, bi);
      const len = s.lengths[bi];
      for (let step = 0; step < len; step++) {
        const t = d === 0 && attrs.direction !== 'reverse' ? step : len - 1 - step;
        for (let i = 0; i < I; i++) xt[i] = s.x(t, bi, i);
        const hNew = new Float64Array(H);
        for (let k = 0; k < H; k++) {
          let v = dotRow(w, (d * H + k) * I, xt, I) + dotRow(r, (d * H + k) * H, hPrev, H);
          if (b) v += b[d * 2 * H + k] + b[d * 2 * H + H + k];
          hNew[k] = f(clipValue(v, s.clip));
        }
        hPrev = hNew;
        y.data.set(hNew, yAt(t, d, bi));
      }
      finals[0].data.set(hPrev, finalAt(d, bi));
    }
  }
  return [y, finals[0]];
});
