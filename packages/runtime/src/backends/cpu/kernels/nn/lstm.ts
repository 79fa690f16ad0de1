import { registerCpuKernel } from '../../kernel';
import { activations, clipValue, dotRow, scanSequences, setup } from './recurrent';

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
  const gates = new Float64Array(4 * H);
  return scanSequences(s, attrs, inputs[0].dtype, ctx, ['initialH', 'initialC'], (d, xt, [hPrev, cPrev]) => {
    const [f, g, h] = acts[d];
    const wBase = d * 4 * H * I;
    const rBase = d * 4 * H * H;
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
    return [hNew, cNew];
  });
});
