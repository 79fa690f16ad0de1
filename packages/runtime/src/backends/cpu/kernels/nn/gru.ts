import { registerCpuKernel } from '../../kernel';
import { PackedB, packedColumns } from '../../gemm';
import { kernelScratch } from '../../scratch';
import { activations, clipValue, multiplyPacked, packRecurrent, scanSequences, setup } from './recurrent';

/** R_h^T packed on its own for the candidate's product where it cannot be a block of the step's packing, kept across calls. */
const candidatePack = kernelScratch();

/**
 * ONNX GRU: gates z, r, h in W, R and B. With `linearBeforeReset` the candidate takes r ⊙ (R_h·h),
 * so R_h joins the step's GEMM; without it, it takes R_h·(r ⊙ h), a second product once r is known.
 */
registerCpuKernel('gru', (inputs, attrs, ctx) => {
  const s = setup(inputs, attrs, ctx);
  const { hidden: H, batch, clip } = s;
  const b = s.get('b')?.data;
  const { slots, functions: acts } = activations(attrs, ['Sigmoid', 'Tanh'], s.dirs);
  const linearBeforeReset = attrs.linearBeforeReset === true;
  const stepGates = linearBeforeReset ? 3 : 2;
  // R_h's bias: inside the reset product with linearBeforeReset, so never folded into the projections
  const rbh = (d: number, k: number) => (b ? b[d * 6 * H + 5 * H + k] : 0);
  const update = new Float64Array(batch * H);
  const resetH = new Float64Array(batch * H);
  const candidate = new (inputs[0].dtype === 'float32' ? Float32Array : Float64Array)(batch * H);
  // R_h^T: columns 2H.. of the step's packing where they start on a SIMD panel (a multiple of 8), else packed on its own
  let packedRh: { d: number; packed: PackedB } | undefined;
  const candidateProduct = (d: number, packed: PackedB): PackedB => {
    if ((2 * H) % 8 === 0) return packedColumns(packed, 2 * H, H);
    if (packedRh?.d !== d) packedRh = { d, packed: packRecurrent(s.get('r')!, d, 3, H, 2, 1, candidatePack) };
    return packedRh.packed;
  };
  return scanSequences(s, attrs, inputs[0].dtype, ctx, {
    gates: 3,
    initialStates: ['initialH'],
    foldedBiasGates: 2,
    stepGates,
    simd: { kind: linearBeforeReset ? 'gruLinearBeforeReset' : 'gru', activations: slots, clip, bias: b },
    step({ d, xw, rh, packed, states: [h], each }) {
      const [f, g] = acts[d];
      const gate = (xo: number, ro: number, j: number, k: number) => xw[xo + j * H + k] + rh[ro + j * H + k];
      if (linearBeforeReset) {
        each((xo, ro, so) => {
          for (let k = 0; k < H; k++) {
            const z = f(clipValue(gate(xo, ro, 0, k), clip));
            const r = f(clipValue(gate(xo, ro, 1, k), clip));
            const cand = g(clipValue(xw[xo + 2 * H + k] + r * (rh[ro + 2 * H + k] + rbh(d, k)), clip));
            h[so + k] = (1 - z) * cand + z * h[so + k];
          }
        });
        return;
      }
      each((xo, ro, so) => {
        for (let k = 0; k < H; k++) {
          update[so + k] = f(clipValue(gate(xo, ro, 0, k), clip));
          resetH[so + k] = f(clipValue(gate(xo, ro, 1, k), clip)) * h[so + k];
        }
      });
      multiplyPacked(batch, resetH, candidateProduct(d, packed), candidate);
      each((xo, _ro, so) => {
        for (let k = 0; k < H; k++) {
          const cand = g(clipValue(xw[xo + 2 * H + k] + candidate[so + k] + rbh(d, k), clip));
          h[so + k] = (1 - update[so + k]) * cand + update[so + k] * h[so + k];
        }
      });
    },
  });
});
