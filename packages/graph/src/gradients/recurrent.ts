import { GradientError } from '../errors';
import type { SymbolicTensor } from '../graph';
import type { Attrs, GradientContext } from '../opdef';
import { setGradient } from '../registry';
import { tensor } from '../tensor';
import { concat, split } from '../ops/array/concat';
import { reverseSequence } from '../ops/array/reverse-sequence';
import { expandDims, reshape, squeeze } from '../ops/array/reshape';
import { transpose } from '../ops/array/transpose';
import { add, greater, mul, sub, where } from '../ops/math/binary';
import { clip } from '../ops/math/clip';
import { matmul } from '../ops/math/matmul';
import { elu, leakyRelu, relu, sigmoid, softplus, tanh } from '../ops/math/unary';
import { softsign, thresholdedRelu } from '../ops/nn/activations-extra';
import { hardSigmoid } from '../ops/nn/hard-sigmoid';
import { RNN_ACTIVATIONS, rnnActivations, rnnInputIndex } from '../ops/nn/rnn-common';
import type { RnnInputName } from '../ops/nn/rnn-common';
import { scalarOf } from './helpers';
import { differentiateBuilt } from './subgraph';

/**
 * Gradients of ONNX's lstm, gru and rnn, as TensorFlow differentiates a dynamic_rnn: the recurrence
 * is unrolled over the (static) sequence into matmuls, gate activations and elementwise products
 * built from the op's own inputs, the same computation as the op's kernels, step by step; that
 * graph is then differentiated by its primitives' gradients (back-propagation through time).
 * Directions, per-entry sequence lengths (masked steps keep the state, their Y is 0; the reverse
 * direction reverses each entry's own prefix), initial states, biases, peepholes, clip,
 * inputForget, linearBeforeReset, both layouts and every ONNX activation are covered.
 */

type Activation = (x: SymbolicTensor) => SymbolicTensor;

function activationOp(name: string, alpha: number, beta: number): Activation {
  switch (name) {
    case 'relu':
      return relu;
    case 'tanh':
      return tanh;
    case 'sigmoid':
      return sigmoid;
    case 'affine':
      return (x) => add(mul(x, alpha), beta);
    case 'leakyrelu':
      return (x) => leakyRelu(x, alpha);
    case 'thresholdedrelu':
      return (x) => thresholdedRelu(x, alpha);
    case 'scaledtanh':
      return (x) => mul(tanh(mul(x, beta)), alpha);
    case 'hardsigmoid':
      return (x) => hardSigmoid(x, alpha, beta);
    case 'elu':
      return (x) => elu(x, alpha);
    case 'softsign':
      return softsign;
    case 'softplus':
      return softplus;
    default:
      throw new GradientError(`recurrent activation '${name}' is not supported (${RNN_ACTIVATIONS.join(', ')})`);
  }
}

/** Each direction's activations (rnnActivations: the slots every kernel reads). */
function activations(attrs: Attrs, defaults: string[], dirs: number): Activation[][] {
  return rnnActivations(attrs, defaults, dirs).map((slots) => slots.map((a) => activationOp(a.name, a.alpha, a.beta)));
}

export type RecurrentOp = 'lstm' | 'gru' | 'rnn';

const GATES: Record<RecurrentOp, number> = { lstm: 4, gru: 3, rnn: 1 };
const DEFAULT_ACTIVATIONS: Record<RecurrentOp, string[]> = { lstm: ['Sigmoid', 'Tanh', 'Tanh'], gru: ['Sigmoid', 'Tanh'], rnn: ['Tanh'] };

/** Direction d's slice of a [dirs, ...] tensor (layout 0 states too), or of a [batch, dirs, ...] one (`axis` 1). */
function direction(t: SymbolicTensor, d: number, dirs: number, axis = 0): SymbolicTensor {
  return squeeze(dirs === 1 ? t : split(t, dirs, axis)[d], [axis]);
}

/**
 * One step's product of a state by a block of R (R^T's columns), recorded for the gradient: R's
 * gradient over every step is then one product, dProducts^T · states over all the steps' rows,
 * rather than one small product per step summed (recurrentWeightGradient).
 */
export interface RecurrentProduct {
  d: number;
  /** Which block of the direction's R: 0 (every gate; gru's z and r), 1 (gru's h). */
  block: number;
  state: SymbolicTensor;
  product: SymbolicTensor;
}

/** One step of a direction: the new hidden state (and cell state for lstm) from x_t W^T (+ biases) and the previous state. */
type Step = (xw: SymbolicTensor, h: SymbolicTensor, c: SymbolicTensor | null) => [SymbolicTensor, SymbolicTensor | null];

/**
 * The forward computation of a lstm, gru or rnn node as primitive ops, from `inputs` (in the node's
 * order, named by attr `inputs`): [Y, Y_h] (and Y_c for lstm), shaped as the op's outputs. Needs the
 * sequence length (x's time dimension) and the hidden size to be known.
 */
export function unrollRecurrent(op: RecurrentOp, inputs: SymbolicTensor[], attrs: Attrs, label = `op '${op}'`, products?: RecurrentProduct[]): SymbolicTensor[] {
  const index = rnnInputIndex(attrs);
  const get = (n: RnnInputName): SymbolicTensor | undefined => (index.has(n) ? inputs[index.get(n)!] : undefined);
  const x = get('x')!;
  const graph = x.graph;
  const dtype = x.dtype;
  const G = GATES[op];
  const H = Number(attrs.hiddenSize);
  const layout = Number(attrs.layout ?? 0);
  const dirName = String(attrs.direction ?? 'forward');
  const dirs = dirName === 'bidirectional' ? 2 : 1;
  const xt = layout === 1 ? transpose(x, [1, 0, 2]) : x; // [seq, batch, in]
  const seq = xt.shape[0];
  if (seq === null || seq < 1) throw new GradientError(`gradient of ${label}: the sequence length must be known and positive, got ${seq}`);
  const lens = get('sequenceLens');
  const acts = activations(attrs, DEFAULT_ACTIVATIONS[op], dirs);
  const clipAt = typeof attrs.clip === 'number' && Number.isFinite(attrs.clip) ? attrs.clip : null;
  const clipped = (t: SymbolicTensor): SymbolicTensor => (clipAt === null ? t : clip(t, -clipAt, clipAt));
  const stateAxis = layout === 1 ? 1 : 0;
  const zeroState = graph.constant(tensor(new Array(H).fill(0), [1, H], dtype));
  const w = get('w')!;
  const r = get('r')!;
  const b = get('b');
  const p = get('p');

  const ys: SymbolicTensor[] = [];
  const hs: SymbolicTensor[] = [];
  const cs: SymbolicTensor[] = [];
  for (let d = 0; d < dirs; d++) {
    const reversed = dirName === 'reverse' || d === 1;
    const wd = reshape(direction(w, d, dirs), [G * H, -1]);
    const rd = reshape(direction(r, d, dirs), [G * H, H]);
    // b holds Wb then Rb, each [G * H]
    const [wb, rb] = b ? split(direction(b, d, dirs), 2, 0) : [null, null];
    const [f, g, hAct] = acts[d];
    const product = (block: number, state: SymbolicTensor, weights: SymbolicTensor): SymbolicTensor => {
      const out = matmul(state, weights, { transposeB: true });
      products?.push({ d, block, state, product: out });
      return out;
    };
    const clippedF = (t: SymbolicTensor) => f(clipped(t));
    const clippedG = (t: SymbolicTensor) => g(clipped(t));
    let step: Step;
    if (op === 'rnn') {
      const bias = wb && rb ? add(wb, rb) : null;
      step = (xw, h) => {
        const pre = add(xw, product(0, h, rd));
        return [clippedF(bias ? add(pre, bias) : pre), null];
      };
    } else if (op === 'lstm') {
      const bias = wb && rb ? add(wb, rb) : null;
      const [pi, po, pf] = p ? split(direction(p, d, dirs), 3, 0) : [null, null, null];
      const coupled = attrs.inputForget === true;
      step = (xw, h, c) => {
        let pre = add(xw, product(0, h, rd));
        if (bias) pre = add(pre, bias);
        const [gi, go, gf, gc] = split(pre, 4, 1);
        const peep = (gate: SymbolicTensor, weight: SymbolicTensor | null, state: SymbolicTensor) => (weight ? add(gate, mul(weight, state)) : gate);
        const i = clippedF(peep(gi, pi, c!));
        const forget = coupled ? sub(scalarOf(i, 1), i) : clippedF(peep(gf, pf, c!));
        const cNew = add(mul(forget, c!), mul(i, clippedG(gc)));
        const o = clippedF(peep(go, po, cNew));
        return [mul(o, hAct(cNew)), cNew];
      };
    } else {
      const linearBeforeReset = attrs.linearBeforeReset === true;
      const [wbZR, wbH] = wb ? split(wb, [2 * H, H], 0) : [null, null];
      const [rbZR, rbH] = rb ? split(rb, [2 * H, H], 0) : [null, null];
      const biasZR = wbZR && rbZR ? add(wbZR, rbZR) : null;
      const [rZR, rH] = split(rd, [2 * H, H], 0);
      step = (xw, h) => {
        const [xZR, xH] = split(xw, [2 * H, H], 1);
        let preZR = add(xZR, product(0, h, rZR));
        if (biasZR) preZR = add(preZR, biasZR);
        const [z, reset] = split(clippedF(preZR), 2, 1);
        let recurrent: SymbolicTensor;
        if (linearBeforeReset) {
          const hR = product(1, h, rH);
          recurrent = mul(reset, rbH ? add(hR, rbH) : hR);
        } else {
          const hR = product(1, mul(reset, h), rH);
          recurrent = rbH ? add(hR, rbH) : hR;
        }
        const preH = add(wbH ? add(xH, wbH) : xH, recurrent);
        const cand = clippedG(preH);
        return [add(mul(sub(scalarOf(z, 1), z), cand), mul(z, h)), null];
      };
    }

    // each entry's own prefix reversed, as the kernels walk it from its last step back
    const source = reversed && lens ? reverseSequence(xt, lens, 0, 1) : xt;
    const xw = split(matmul(source, wd, { transposeB: true }), seq, 0).map((t) => squeeze(t, [0])); // [batch, G * H] each
    const initialH = get('initialH');
    const initialC = get('initialC');
    let h = initialH ? direction(initialH, d, dirs, stateAxis) : zeroState;
    let c: SymbolicTensor | null = op === 'lstm' ? (initialC ? direction(initialC, d, dirs, stateAxis) : zeroState) : null;
    const out = new Array<SymbolicTensor>(seq);
    for (let k = 0; k < seq; k++) {
      const t = reversed && !lens ? seq - 1 - k : k;
      const [hNew, cNew] = step(xw[t], h, c);
      if (lens) {
        // steps past an entry's length keep its state and write 0 to Y
        const live = expandDims(greater(lens, scalarOf(lens, t)), 1);
        h = where(live, hNew, h);
        if (c && cNew) c = where(live, cNew, c);
        out[t] = where(live, hNew, scalarOf(hNew, 0));
      } else {
        h = hNew;
        c = cNew;
        out[t] = hNew;
      }
    }
    let yd = concat(out.map((t) => expandDims(t, 0)), 0); // [seq, batch, H]
    if (reversed && lens) yd = reverseSequence(yd, lens, 0, 1);
    ys.push(expandDims(yd, 1));
    hs.push(expandDims(h, 0));
    if (c) cs.push(expandDims(c, 0));
  }
  const yAll = concat(ys, 1); // [seq, dirs, batch, H]
  const finals = [hs, ...(op === 'lstm' ? [cs] : [])].map((list) => concat(list, 0)); // [dirs, batch, H]
  if (layout !== 1) return [yAll, ...finals];
  return [transpose(yAll, [2, 0, 1, 3]), ...finals.map((t) => transpose(t, [1, 0, 2]))];
}

/**
 * The gradient of a recurrent node: its unrolled forward, differentiated, with R's gradient taken
 * for all the steps at once from the gradients at the steps' products (TensorFlow's BPTT sums one
 * small product per step).
 */
function recurrentGradient(op: RecurrentOp) {
  return (ctx: GradientContext): (SymbolicTensor | null)[] => {
    const graph = ctx.inputs[0].graph;
    const from = graph.nodes.length;
    const products: RecurrentProduct[] = [];
    const outputs = unrollRecurrent(op, ctx.inputs, ctx.attrs, `${op} (node '${ctx.node.name}')`, products);
    recordRecurrentTwin(graph, ctx.node.name, outputs);
    const n = ctx.inputs.length;
    const all = differentiateBuilt(graph, from, outputs, ctx.grads, [...ctx.inputs, ...products.map((p) => p.product)]);
    const grads = all.slice(0, n);
    const r = rnnInputIndex(ctx.attrs).get('r')!;
    grads[r] = recurrentWeightGradient(op, ctx.inputs[r], products, all.slice(n), Number(ctx.attrs.hiddenSize));
    // an input tensor fed twice gets its whole gradient once, at its first input: for R also fed as
    // W, that is W's, the step-by-step sum of every use
    return grads.map((g, i) => (ctx.inputs.indexOf(ctx.inputs[i]) === i ? g : null));
  };
}

/** graph.metadata's key for the recurrent nodes whose outputs an unrolled forward also computes. */
export const RECURRENT_TWINS = 'recurrentTwins';

/**
 * Notes that `outputs` (an unrolled forward built for a gradient) compute node `name`'s outputs, by
 * names in the graph's metadata: where a plan needs both, the optimizer's recurrentTwins pass feeds
 * the node's consumers from the unrolled forward, which the gradient computes anyway, rather than
 * running the recurrence twice.
 */
function recordRecurrentTwin(graph: SymbolicTensor['graph'], name: string, outputs: SymbolicTensor[]): void {
  const twins = (graph.metadata[RECURRENT_TWINS] ??= {}) as Record<string, string[]>;
  twins[name] = outputs.map((t) => t.name);
}

/**
 * R's gradient ([dirs, G * H, H]) from the steps' products and the gradients reaching them: per
 * direction and block of R, dProducts^T · states with every step's rows stacked (the R^T product
 * of a step is state · block^T, so d block = dProduct^T · state). Null where no gradient reaches R.
 */
function recurrentWeightGradient(op: RecurrentOp, r: SymbolicTensor, products: RecurrentProduct[], dProducts: (SymbolicTensor | null)[], hidden: number): SymbolicTensor | null {
  if (dProducts.every((g) => g === null)) return null;
  const dirs = r.shape[0] ?? 1;
  const blocks = op === 'gru' ? [2 * hidden, hidden] : [GATES[op] * hidden];
  const perDirection: SymbolicTensor[] = [];
  for (let d = 0; d < dirs; d++) {
    const parts = blocks.map((rows, block) => {
      const steps = products.map((p, i) => ({ p, g: dProducts[i] })).filter(({ p, g }) => p.d === d && p.block === block && g !== null);
      if (steps.length === 0) return r.graph.constant(tensor(new Array(rows * hidden).fill(0), [rows, hidden], r.dtype));
      const stack = (list: SymbolicTensor[]) => (list.length === 1 ? list[0] : concat(list, 0));
      return matmul(stack(steps.map(({ g }) => g!)), stack(steps.map(({ p }) => p.state)), { transposeA: true });
    });
    perDirection.push(expandDims(parts.length === 1 ? parts[0] : concat(parts, 0), 0));
  }
  return perDirection.length === 1 ? perDirection[0] : concat(perDirection, 0);
}

for (const op of ['lstm', 'gru', 'rnn'] as const) setGradient(op, recurrentGradient(op));
