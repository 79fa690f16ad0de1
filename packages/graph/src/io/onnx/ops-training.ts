import type { SymbolicTensor } from '../../graph';
import type { OnnxNode } from './context';
import { TRAINING_DOMAIN, defineOnnxOp } from './import';

/**
 * The optimizer steps of ONNX's training domain (ai.onnx.preview.training): each takes the learning
 * rate R and step count T, then groups of tensors (the parameters X, their gradients G, and one or
 * two optimizer states per parameter), and returns the new parameters and states. They are pure
 * functions of their inputs, so each becomes graphc elementwise ops. (Gradient itself, which needs
 * autodiff, is translated by the importer.)
 */

/** R, T (as R's type) and the `groups` lists of tensors that follow them, each `count` long. */
function optimizerInputs(n: OnnxNode, groups: number): { r: SymbolicTensor; t: SymbolicTensor; lists: SymbolicTensor[][] } {
  const count = (n.inputCount - 2) / groups;
  if (!Number.isInteger(count) || count < 1) n.fail(`takes R, T and ${groups} tensors per parameter; got ${n.inputCount} inputs`);
  if (n.outputCount > (groups - 1) * count) n.fail(`has ${n.outputCount} outputs for ${count} parameter(s): at most ${(groups - 1) * count}`);
  const r = n.input(0);
  const t = n.op('cast', [n.input(1)], { dtype: r.dtype });
  const lists = Array.from({ length: groups }, (_, g) => Array.from({ length: count }, (_, i) => n.input(2 + g * count + i)));
  for (const list of lists.slice(1)) {
    list.forEach((v, i) => {
      if (v.dtype !== lists[0][i].dtype) n.fail(`input '${v.name}' is ${v.dtype}, its parameter ${lists[0][i].dtype}`);
    });
  }
  return { r, t, lists };
}

/** Arithmetic on a node's tensors, constants taking the other operand's dtype. */
function arithmetic(n: OnnxNode) {
  const lift = (v: SymbolicTensor | number, like: SymbolicTensor): SymbolicTensor => (typeof v === 'number' ? n.constant(v, like.dtype) : v);
  const binary = (op: string) => (a: SymbolicTensor | number, b: SymbolicTensor | number): SymbolicTensor => {
    const like = typeof a === 'number' ? (b as SymbolicTensor) : a;
    return n.op(op, [lift(a, like), lift(b, like)]);
  };
  return { add: binary('add'), sub: binary('sub'), mul: binary('mul'), div: binary('div'), pow: binary('pow'), sqrt: (x: SymbolicTensor) => n.op('sqrt', [x]) };
}

/** G + norm_coefficient * X: the gradient of the loss plus 0.5 * norm_coefficient * ||X||^2. */
function regularized(n: OnnxNode, x: SymbolicTensor, g: SymbolicTensor, norm: number): SymbolicTensor {
  const { add, mul } = arithmetic(n);
  return norm === 0 ? g : add(mul(norm, x), g);
}

// H_new = H + G_r^2; X_new = X - R / (1 + T * decay_factor) * G_r / (sqrt(H_new) + epsilon)
defineOnnxOp(
  'Adagrad',
  (n) => {
    const { add, sub, mul, div, sqrt } = arithmetic(n);
    const decay = n.attr.float('decay_factor', 0);
    const eps = n.attr.float('epsilon', 1e-6);
    const norm = n.attr.float('norm_coefficient', 0);
    const { r, t, lists } = optimizerInputs(n, 3);
    const [xs, gs, hs] = lists;
    const rate = div(r, add(1, mul(t, decay)));
    const xNew: SymbolicTensor[] = [];
    const hNew: SymbolicTensor[] = [];
    xs.forEach((x, i) => {
      const g = regularized(n, x, gs[i], norm);
      const h = add(hs[i], mul(g, g));
      hNew.push(h);
      xNew.push(sub(x, div(mul(rate, g), add(sqrt(h), eps))));
    });
    return [...xNew, ...hNew];
  },
  TRAINING_DOMAIN,
);

// V_new = alpha * V + beta' * G_r (beta' = beta after the first step, 1 at T = 0);
// standard: X_new = X - R * V_new; nesterov: X_new = X - R * (G_r + alpha * V_new)
defineOnnxOp(
  'Momentum',
  (n) => {
    const { add, sub, mul } = arithmetic(n);
    const alpha = n.attr.float('alpha');
    const beta = n.attr.float('beta');
    const norm = n.attr.float('norm_coefficient');
    const mode = n.attr.string('mode');
    if (mode !== 'standard' && mode !== 'nesterov') n.fail(`mode must be 'standard' or 'nesterov', got '${mode}'`);
    const { r, t, lists } = optimizerInputs(n, 3);
    const [xs, gs, vs] = lists;
    const betaNow = n.op('where', [n.op('greater', [t, n.constant(0, t.dtype)]), n.constant(beta, t.dtype), n.constant(1, t.dtype)]);
    const xNew: SymbolicTensor[] = [];
    const vNew: SymbolicTensor[] = [];
    xs.forEach((x, i) => {
      const g = regularized(n, x, gs[i], norm);
      const v = add(mul(alpha, vs[i]), mul(betaNow, g));
      vNew.push(v);
      xNew.push(sub(x, mul(r, mode === 'standard' ? v : add(g, mul(alpha, v)))));
    });
    return [...xNew, ...vNew];
  },
  TRAINING_DOMAIN,
);

// V_new = alpha * V + (1 - alpha) * G_r; H_new = beta * H + (1 - beta) * G_r^2;
// R' = R * sqrt(1 - beta^T) / (1 - alpha^T) after the first step (R at T = 0);
// X_new = (1 - norm_coefficient_post) * (X - R' * V_new / (sqrt(H_new) + epsilon))
defineOnnxOp(
  'Adam',
  (n) => {
    const { add, sub, mul, div, pow, sqrt } = arithmetic(n);
    const alpha = n.attr.float('alpha', 0.9);
    const beta = n.attr.float('beta', 0.999);
    const eps = n.attr.float('epsilon', 1e-6);
    const norm = n.attr.float('norm_coefficient', 0);
    const post = n.attr.float('norm_coefficient_post', 0);
    const { r, t, lists } = optimizerInputs(n, 4);
    const [xs, gs, vs, hs] = lists;
    const corrected = div(mul(r, sqrt(sub(1, pow(beta, t)))), sub(1, pow(alpha, t)));
    const rate = n.op('where', [n.op('greater', [t, n.constant(0, t.dtype)]), corrected, r]);
    const xNew: SymbolicTensor[] = [];
    const vNew: SymbolicTensor[] = [];
    const hNew: SymbolicTensor[] = [];
    xs.forEach((x, i) => {
      const g = regularized(n, x, gs[i], norm);
      const v = add(mul(alpha, vs[i]), mul(1 - alpha, g));
      const h = add(mul(beta, hs[i]), mul(1 - beta, mul(g, g)));
      vNew.push(v);
      hNew.push(h);
      const stepped = sub(x, div(mul(rate, v), add(sqrt(h), eps)));
      xNew.push(post === 0 ? stepped : mul(1 - post, stepped));
    });
    return [...xNew, ...vNew, ...hNew];
  },
  TRAINING_DOMAIN,
);
