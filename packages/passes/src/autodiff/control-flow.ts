import { AttrValue, GradientContext, GradientError, SymbolicTensor, TensorLike, getDefaultGraph, instantiateFunction, isFloat, ops, setGradient, shapeToString, traceFunction } from '@graphc/graph';
import { gradients } from './gradients';

/**
 * The body of a function re-created in the graph being built (a function body being traced), its
 * parameters bound to `args`. Each argument passes through an identity, so the copy reads it even
 * where the body returns a parameter unchanged; returns those identities and the copy's outputs.
 */
function inlineFunction(attr: AttrValue, args: TensorLike[], what: string): { params: SymbolicTensor[]; outputs: SymbolicTensor[] } {
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

/** `compact` (the values at `mask`'s true places, in order) spread back over `mask`, `missing` elsewhere. */
function expand<T, M>(mask: boolean[], compact: T[], missing: M): (T | M)[] {
  let k = 0;
  return mask.map((m) => (m ? compact[k++] : missing));
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
    // this branch's float inputs get their gradients (xs are exactly those, in order), the other branch's zeros
    const own = expand(floats.map((f, i) => f && i >= lo && i < hi), grads, null);
    return inputs.flatMap((t, i) => (floats[i] ? [own[i] ?? ops.zerosLike(t)] : []));
  };
  const result = ops.cond(inputs[0], branch(ctx.attrs.thenBranch!, 1, split, 'then'), branch(ctx.attrs.elseBranch!, split, inputs.length, 'else'), `${node.name}_grad`);
  return expand(floats, result, null);
}

setGradient('cond', condGradient);

/**
 * d whileLoop, by recomputation (TensorFlow keeps every intermediate on stacks; graphc keeps only
 * each iteration's starting values and recomputes the body from them):
 *
 * 1. the loop runs again with its body extended to stack, per iteration, the carried values it
 *    started from (so carried shapes must stay put: a growing loop variable has no gradient);
 * 2. a second loop walks the iterations backwards: from iteration t's starting values it re-creates
 *    the body and takes its vector-Jacobian product with the gradient of t's results, which gives
 *    the gradient of t's starting values (carried on to t - 1) and of the captured tensors (summed
 *    over the iterations).
 */
function whileLoopGradient(ctx: GradientContext): (SymbolicTensor | null)[] {
  const { node, inputs } = ctx;
  const carriedCount = ctx.attrs.carried as number;
  const scanCount = ctx.attrs.scans as number;
  const body = ctx.attrs.body!;
  const what = `whileLoop '${node.name}'`;
  const carried = inputs.slice(2, 2 + carriedCount);
  const captured = inputs.slice(2 + carriedCount);
  const floatCarried = carried.map((t) => isFloat(t.dtype));
  const floatCaptured = captured.map((t) => isFloat(t.dtype));
  if (!floatCarried.some(Boolean) && !floatCaptured.some(Boolean)) return inputs.map(() => null);
  const graph = node.graph;
  carried.forEach((t, i) => {
    // the body made a known dimension unknown: iterations start from values of different shapes
    if (t.shape.some((d, k) => d !== null && node.outputs[i].shape[k] === null)) {
      throw new GradientError(`${what}: loop variable ${i} changes shape between iterations (${shapeToString(t.shape)} becomes ${shapeToString(node.outputs[i].shape)}); such a loop has no gradient`);
    }
  });

  // 1. the loop again, stacking each iteration's starting values and its number
  const params = instantiateFunction(body, what).inputs.slice(0, 2 + carriedCount).map((p) => ({ dtype: p.dtype, shape: [...p.shape] }));
  const augmented = traceFunction(
    graph,
    params,
    (iteration, condition, ...vars) => [...inlineFunction(body, [iteration, condition, ...vars, ...captured], what).outputs, ...vars, iteration],
    `${what} (forward for its gradient)`,
  );
  const forward = graph.addNode(
    'whileLoop',
    [inputs[0], inputs[1], ...carried, ...augmented.captures],
    // forwardBody: CSE lets this loop stand for the original where both run (opt/cse.ts); forwardOf
    // names the original in errors (a loop variable that changes shape at run time has no gradient)
    { body: augmented.fn as unknown as AttrValue, carried: carriedCount, scans: scanCount + carriedCount + 1, forwardBody: body, forwardScans: scanCount, forwardOf: node.name },
    { name: `${node.name}_forward` },
  );
  const stacks = forward.outputTensors.slice(carriedCount + scanCount, 2 * carriedCount + scanCount);
  const iterations = ops.cast(ops.gather(ops.shapeOf(forward.output(2 * carriedCount + scanCount)), 0), 'int64');

  // 2. backwards over the iterations
  const dCarried = carried.map((_, i) => (floatCarried[i] ? (ctx.grads[i] ?? ops.zerosLike(node.output(i))) : null)).filter((g): g is SymbolicTensor => g !== null);
  const dScans = ctx.grads.slice(carriedCount);
  const [, ...totals] = ops.whileLoop(
    (t) => ops.greaterEqual(t, 0),
    (t, ...gs) => {
      const gCarried = gs.slice(0, dCarried.length);
      const gCaptured = gs.slice(dCarried.length);
      const starts = stacks.map((s) => ops.gather(s, t));
      const { params: p, outputs } = inlineFunction(body, [t, true, ...starts, ...captured], what);
      const results = outputs.slice(1);
      const seeds = [...expand(floatCarried, gCarried, null), ...dScans.map((d) => (d ? ops.gather(d, t) : null))];
      const flowing = results.map((_, i) => seeds[i] !== null && isFloat(results[i].dtype));
      const xs = [...p.slice(2, 2 + carriedCount).filter((_, i) => floatCarried[i]), ...p.slice(2 + carriedCount).filter((_, i) => floatCaptured[i])];
      const dxs = flowing.some(Boolean)
        ? gradients(results.filter((_, i) => flowing[i]), xs, seeds.filter((_, i) => flowing[i]) as SymbolicTensor[], { name: 'vjp' })
        : xs.map((x) => ops.zerosLike(x));
      return [ops.sub(t, 1), ...dxs.slice(0, dCarried.length), ...gCaptured.map((g, k) => ops.add(g, dxs[dCarried.length + k]))];
    },
    [ops.sub(iterations, 1), ...dCarried, ...captured.filter((_, i) => floatCaptured[i]).map((c) => ops.zerosLike(c))],
    { name: `${node.name}_backward` },
  );
  return [null, null, ...expand(floatCarried, totals.slice(0, dCarried.length), null), ...expand(floatCaptured, totals.slice(dCarried.length), null)];
}

setGradient('whileLoop', whileLoopGradient);
