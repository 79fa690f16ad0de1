import { AttrValue, GradientContext, SymbolicTensor, getDefaultGraph, instantiateFunction, isFloat, ops, setGradient } from '@graphc/graph';
import { gradients } from './gradients';

/**
 * The body of a function re-created in the graph being built (a function body being traced), its
 * parameters bound to `args`. Each argument passes through an identity, so the copy reads it even
 * where the body returns a parameter unchanged; returns those identities and the copy's outputs.
 */
function inlineFunction(attr: AttrValue, args: SymbolicTensor[], what: string): { params: SymbolicTensor[]; outputs: SymbolicTensor[] } {
  const fn = instantiateFunction(attr, what);
  const graph = getDefaultGraph();
  const params = args.map((a) => ops.identity(a));
  const map = new Map<SymbolicTensor, SymbolicTensor>(fn.inputs.map((p, i) => [p, params[i]]));
  for (const node of fn.graph.nodes) {
    if (map.has(node.output(0)) && node.op === 'placeholder') continue;
    const copy = graph.addNode(node.op, node.inputs.map((t) => map.get(t)!), node.attrs, { name: node.name });
    node.outputTensors.forEach((t, k) => map.set(t, copy.output(k)));
  }
  return { params, outputs: fn.outputs.map((t) => map.get(t)!) };
}

/**
 * d cond: another cond on the same predicate, whose branches differentiate the forward branches.
 * Branch b returns, for every float input of the node, the gradient through b for b's own inputs
 * and zeros for the other branch's. Only the taken branch's gradient is computed, as in tf.cond.
 */
function condGradient(ctx: GradientContext): (SymbolicTensor | null)[] {
  const { node, inputs } = ctx;
  const split = 1 + (ctx.attrs.thenInputs as number);
  const floats = inputs.map((t, i) => i > 0 && isFloat(t.dtype));
  if (!floats.some(Boolean)) return inputs.map(() => null);
  const dys = ctx.outputs.map((y, i) => ctx.grads[i] ?? (isFloat(y.dtype) ? ops.zerosLike(y) : null));
  const branch = (attr: AttrValue, lo: number, hi: number, what: string) => (): SymbolicTensor[] => {
    const { params, outputs } = inlineFunction(attr, inputs.slice(lo, hi), `cond '${node.name}' ${what}`);
    const differentiable = outputs.map((y, i) => isFloat(y.dtype) && dys[i] !== null);
    const ys = outputs.filter((_, i) => differentiable[i]);
    const seeds = dys.filter((_, i) => differentiable[i]).map((g) => ops.identity(g!));
    const xs = params.filter((p) => isFloat(p.dtype));
    const grads = ys.length && xs.length ? gradients(ys, xs, seeds, { name: `${what}_grad` }) : xs.map((x) => ops.zerosLike(x));
    const byInput = new Map(params.map((p, k) => [lo + k, p]).filter(([, p]) => isFloat((p as SymbolicTensor).dtype)).map(([i], k) => [i as number, grads[k]]));
    return inputs.flatMap((t, i) => (floats[i] ? [byInput.get(i) ?? ops.zerosLike(t)] : []));
  };
  const result = ops.cond(inputs[0], branch(ctx.attrs.thenBranch!, 1, split, 'then'), branch(ctx.attrs.elseBranch!, split, inputs.length, 'else'), `${node.name}_grad`);
  let k = 0;
  return inputs.map((_, i) => (floats[i] ? result[k++] : null));
}

setGradient('cond', condGradient);
