import { registerCpuKernel } from '../../kernel';
import { activations, clipValue, dotRow, initialState, outputs, setup } from './recurrent';

/** ONNX LSTM: gates i, o, f, c in W, R and B; peepholes i, o, f in P. */
registerCpuKernel('lstm', (inputs, attrs, ctx) => {
  const s = setup(inputs, attrs, ctx);
  const { hidden: H, input: I, dirs } = s;
  const w = s.get('w')!.data;
  const r = s.get('r')!.data;
  const b = s.get('b')?.data;
  const p = s.get('p')?.data;
  const acts = activations(attrs, ['Sigmoid', 'Tanh', 'Tanh'], dirs);
  const coupled = attrs.inputForget === true;
  const { y, finals, yAt, finalAt } = outputs(s, inputs[0].dtype, ctx, 2);
  const xt = new Float64Array(I);
  const gates = new Float64Array(4 * H);
  for (let d = 0; d < dirs; d++) {
    const [f, g, h] = acts[d];
    const wBase = d * 4 * H * I;
    const rBase = d * 4 * H * H;
    for (let bi = 0; bi < s.batch; bi++) {
      let hPrev = initialState(s, 'initialH', d, bi);
      let cPrev = initialState(s, 'initialC', d, bi);
      const len = s.lengths[bi];
      for (let step = 0; step < len; step++) {
        const t = d === 0 && attrs.direction !== 'reverse' ? step : len - 1 - step;
        for (let i = 0; i < I; i++) xt[i] = s.x(t, bi, i);
        for (let k = 0; k < 4 * H; k++) {
          let v = dotRow(w, wBase + k * I, xt, I) + dotRow(r, rBase + k * H, hPrev, H);
          if (b) v += b[d * 8 * H + k] + b[d * 8 * H + 4 * H + k];
          gates[k] = v;
        }
        const hNew = new Float64Array(H);
        const cNew = new Float64Array(H);
        for (let k = 0; k < H; k++) {
          const peep = (j: number, c: number) => (p ? p[d * 3 * H + j * H + k] * c : 0);
          const iGate = f(clipValue(gates[k] + peep(0, cPrev[k]), s.clip));
          const fGate = coupled ? 1 - iGate : f(clipValue(gates[2 * H + k] + peep(2, cPrev[k]), s.clip));
          const cand = g(clipValue(gates[3 * H + k], s.clip));
          const c = fGate * cPrev[k] + iGate * cand;
          const oGate = f(clipValue(gates[H + k] + peep(1, c), s.clip));
          cNew[k] = c;
          hNew[k] = oGate * h(c);
        }
        hPrev = hNew;
        cPrev = cNew;
        y.data.set(hNew, yAt(t, d, bi));
      }
      finals[0].data.set(hPrev, finalAt(d, bi));
      finals[1].data.set(cPrev, finalAt(d, bi));
    }
  }
  return [y, finals[0], finals[1]];
});
