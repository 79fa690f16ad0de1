import { registerCpuKernel } from '../../kernel';
import { activations, clipValue, dotRow, initialState, outputs, setup } from './recurrent';

/** ONNX GRU: gates z, r, h in W, R and B; `linearBeforeReset` applies R_h before the reset gate. */
registerCpuKernel('gru', (inputs, attrs, ctx) => {
  const s = setup(inputs, attrs, ctx);
  const { hidden: H, input: I, dirs } = s;
  const w = s.get('w')!.data;
  const r = s.get('r')!.data;
  const b = s.get('b')?.data;
  const acts = activations(attrs, ['Sigmoid', 'Tanh'], dirs);
  const linearBeforeReset = attrs.linearBeforeReset === true;
  const { y, finals, yAt, finalAt } = outputs(s, inputs[0].dtype, ctx, 1);
  const xt = new Float64Array(I);
  const hr = new Float64Array(H);
  for (let d = 0; d < dirs; d++) {
    const [f, g] = acts[d];
    const wBase = d * 3 * H * I;
    const rBase = d * 3 * H * H;
    const wb = (k: number) => (b ? b[d * 6 * H + k] : 0);
    const rb = (k: number) => (b ? b[d * 6 * H + 3 * H + k] : 0);
    for (let bi = 0; bi < s.batch; bi++) {
      let hPrev = initialState(s, 'initialH', d, bi);
      const len = s.lengths[bi];
      for (let step = 0; step < len; step++) {
        const t = d === 0 && attrs.direction !== 'reverse' ? step : len - 1 - step;
        for (let i = 0; i < I; i++) xt[i] = s.x(t, bi, i);
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
        hPrev = hNew;
        y.data.set(hNew, yAt(t, d, bi));
      }
      finals[0].data.set(hPrev, finalAt(d, bi));
    }
  }
  return [y, finals[0]];
});
