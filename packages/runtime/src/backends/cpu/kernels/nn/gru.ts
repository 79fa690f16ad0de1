import { registerCpuKernel } from '../../kernel';
import { activations, clipValue, dotRow, scanSequences, setup } from './recurrent';

/** ONNX GRU: gates z, r, h in W, R and B; `linearBeforeReset` applies R_h before the reset gate. */
registerCpuKernel('gru', (inputs, attrs, ctx) => {
  const s = setup(inputs, attrs, ctx);
  const { hidden: H, input: I, dirs } = s;
  const w = s.get('w')!.data;
  const r = s.get('r')!.data;
  const b = s.get('b')?.data;
  const acts = activations(attrs, ['Sigmoid', 'Tanh'], dirs);
  const linearBeforeReset = attrs.linearBeforeReset === true;
  const hr = new Float64Array(H);
  return scanSequences(s, attrs, inputs[0].dtype, ctx, ['initialH'], (d, xt, [hPrev]) => {
    const [f, g] = acts[d];
    const wBase = d * 3 * H * I;
    const rBase = d * 3 * H * H;
    const wb = (k: number) => (b ? b[d * 6 * H + k] : 0);
    const rb = (k: number) => (b ? b[d * 6 * H + 3 * H + k] : 0);
    const z = new Float64Array(H);
    const rg = new Float64Array(H);
    for (let k = 0; k < H; k++) {
      z[k] = f(clipValue(dotRow(w, wBase + k * I, xt, I) + dotRow(r, rBase + k * H, hPrev, H) + wb(k) + rb(k), s.clip));
      rg[k] = f(clipValue(dotRow(w, wBase + (H + k) * I, xt, I) + dotRow(r, rBase + (H + k) * H, hPrev, H) + wb(H + k) + rb(H + k), s.clip));
    }
    for (let k = 0; k < H; k++) hr[k] = rg[k] * hPrev[k];
    const hNew = new Float64Array(H);
    for (let k = 0; k < H; k++) {
      const row = rBase + (2 * H + k) * H;
      const recurrent = linearBeforeReset ? rg[k] * (dotRow(r, row, hPrev, H) + rb(2 * H + k)) : dotRow(r, row, hr, H) + rb(2 * H + k);
      const cand = g(clipValue(dotRow(w, wBase + (2 * H + k) * I, xt, I) + wb(2 * H + k) + recurrent, s.clip));
      hNew[k] = (1 - z[k]) * cand + z[k] * hPrev[k];
    }
    return [hNew];
  });
});
