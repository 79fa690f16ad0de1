import {
  Graph,
  GradientError,
  Node,
  SymbolicTensor,
  getOpDef,
  isFloat,
  ops,
  shapeToString,
  tensor,
} from '@graphc/graph';

export interface GradientsOptions {
  /** Name scope of the added nodes (default 'gradients'). */
  name?: string;
}

/**
 * Symbolic differentiation as a graph rewrite (reverse mode, as TensorFlow's `tf.gradients`): adds
 * to the graph of `ys` the nodes that compute `d(sum of ys · gradYs) / d(x)` for every x of `xs`,
 * and returns those tensors, one per x. Nothing runs: the result is ordinary graph that every later
 * pass optimizes and that may itself be differentiated again (Hessian-vector products, penalties).
 *
 * - Each op's gradient comes from its OpDef's gradient builder; contributions of an input used many
 *   times (fan-out) are summed.
 * - `gradYs` (default: ones) weights each y, as `grad_ys` in TensorFlow.
 * - Only float tensors carry gradient: integer and bool paths, `stopGradient` and an op's
 *   non-differentiable inputs (indices, labels, shapes) contribute nothing. An x that receives no
 *   gradient gets zeros of its shape.
 * - An op on a float path from an x to a y whose OpDef has no gradient builder is a GradientError
 *   naming it, as is asking for the gradient of or with respect to a non-float tensor.
 *
 * ```ts
 * const [dW, db] = gradients(loss, [W, b]);
 * const [hv] = gradients(ops.mul(gradients(f, [x])[0], v), [x]);   // Hessian-vector product
 * ```
 */
export function gradients(
  ys: SymbolicTensor | SymbolicTensor[],
  xs: SymbolicTensor | SymbolicTensor[],
  gradYs?: SymbolicTensor | (SymbolicTensor | null | undefined)[] | null,
  options: GradientsOptions = {},
): SymbolicTensor[] {
  const yList = Array.isArray(ys) ? ys : [ys];
  const xList = Array.isArray(xs) ? xs : [xs];
  const gyList = gradYs === undefined || gradYs === null ? [] : Array.isArray(gradYs) ? gradYs : [gradYs];
  if (yList.length === 0) throw new GradientError('gradients: ys is empty');
  const graph = yList[0].graph;
  checkArguments(graph, yList, xList, gyList);

  const scope = options.name ?? 'gradients';
  const xSet = new Set(xList);
  // nodes on a differentiable path from some x (forward) that some y needs (backward): only float
  // inputs the op differentiates carry the path on (stopGradient declares its input non-differentiable)
  const forward = new Set<Node>();
  const isLive = (t: SymbolicTensor): boolean => xSet.has(t) || forward.has(t.node);
  for (const n of graph.nodes) {
    const skip = getOpDef(n.op).nonDifferentiableInputs ?? [];
    if (n.inputs.some((t, i) => isLive(t) && isFloat(t.dtype) && !skip.includes(i))) forward.add(n);
  }
  const backward = ancestors(yList.map((y) => y.node));
  const between = graph.nodes.filter((n) => forward.has(n) && backward.has(n));

  const pending = new Map<SymbolicTensor, SymbolicTensor[]>();
  const summed = new Map<SymbolicTensor, SymbolicTensor | null>();
  const contribute = (t: SymbolicTensor, g: SymbolicTensor): void => {
    const list = pending.get(t);
    if (list) list.push(g);
    else pending.set(t, [g]);
  };
  /** The total gradient reaching `t`: its contributions summed once, and remembered. */
  const gradOf = (t: SymbolicTensor): SymbolicTensor | null => {
    if (summed.has(t)) return summed.get(t)!;
    const parts = pending.get(t) ?? [];
    const total = parts.length === 0 ? null : parts.length === 1 ? parts[0] : addAll(parts, t);
    summed.set(t, total);
    return total;
  };

  graph.nameScope(scope, () => {
    yList.forEach((y, i) => {
      if (!isLive(y)) return;
      contribute(y, gyList[i] ?? onesLike(y));
    });
    for (let k = between.length - 1; k >= 0; k--) {
      const node = between[k];
      const grads = node.outputTensors.map((t) => (isFloat(t.dtype) ? gradOf(t) : null));
      if (grads.every((g) => g === null)) continue;
      const def = getOpDef(node.op);
      const skip = new Set(def.nonDifferentiableInputs ?? []);
      const wanted = node.inputs.map((t, i) => isLive(t) && isFloat(t.dtype) && !skip.has(i));
      if (!wanted.some(Boolean)) continue;
      if (!def.gradient) {
        const path = node.inputs.filter((_, i) => wanted[i]).map((t) => `'${t.name}'`);
        throw new GradientError(
          `op '${node.op}' (node '${node.name}') has no gradient, but the gradient flows through it from input ${path.join(', ')}: ` +
            `cut that path with stopGradient, or differentiate with respect to tensors after it`,
        );
      }
      const inputGrads = graph.nameScope(`${node.name}_grad`, () =>
        def.gradient!({ node, inputs: node.inputs, outputs: node.outputTensors, grads, attrs: node.attrs }),
      );
      if (!Array.isArray(inputGrads) || inputGrads.length !== node.inputs.length) {
        throw new GradientError(`gradient of op '${node.op}' (node '${node.name}') returned ${Array.isArray(inputGrads) ? inputGrads.length : 'no'} gradients for ${node.inputs.length} inputs`);
      }
      inputGrads.forEach((g, i) => {
        if (!g || !wanted[i]) return;
        checkGradient(node, i, g);
        contribute(node.inputs[i], g);
      });
    }
  });

  return xList.map((x) => graph.nameScope(scope, () => gradOf(x) ?? zerosLike(x)));
}

function checkArguments(graph: Graph, ys: SymbolicTensor[], xs: SymbolicTensor[], gradYs: (SymbolicTensor | null | undefined)[]): void {
  for (const t of [...ys, ...xs, ...gradYs]) {
    if (t && !(t instanceof SymbolicTensor)) throw new GradientError(`gradients: ${String(t)} is not a tensor of a graph`);
    if (t && t.graph !== graph) throw new GradientError(`gradients: '${t.name}' belongs to another graph than '${ys[0].name}'`);
  }
  for (const y of ys) {
    if (!isFloat(y.dtype)) throw new GradientError(`gradients: cannot differentiate '${y.name}' of dtype ${y.dtype}: only float tensors have gradients`);
  }
  for (const x of xs) {
    if (!isFloat(x.dtype)) {
      throw new GradientError(`gradients: cannot differentiate with respect to '${x.name}' of dtype ${x.dtype}: only float tensors have gradients`);
    }
  }
  if (gradYs.length > ys.length) throw new GradientError(`gradients: ${gradYs.length} gradYs for ${ys.length} ys`);
  gradYs.forEach((gy, i) => {
    if (!gy) return;
    const y = ys[i];
    if (gy.dtype !== y.dtype) throw new GradientError(`gradients: gradYs[${i}] '${gy.name}' has dtype ${gy.dtype}, '${y.name}' has ${y.dtype}`);
    if (!compatible(gy.shape, y.shape)) {
      throw new GradientError(`gradients: gradYs[${i}] '${gy.name}' has shape ${shapeToString(gy.shape)}, '${y.name}' has ${shapeToString(y.shape)}`);
    }
  });
}

/** A builder's gradient must look like the input it belongs to: anything else is a bug in the builder. */
function checkGradient(node: Node, index: number, g: SymbolicTensor): void {
  const input = node.inputs[index];
  if (g.dtype !== input.dtype || !compatible(g.shape, input.shape)) {
    throw new GradientError(
      `gradient of op '${node.op}' (node '${node.name}') for input ${index} is ${g.dtype} ${shapeToString(g.shape)}, ` +
        `but the input '${input.name}' is ${input.dtype} ${shapeToString(input.shape)}`,
    );
  }
}

/** Static shapes that may be equal at run time. */
function compatible(a: (number | null)[], b: (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i]);
}

/** Nodes `roots` depend on through data inputs (control inputs carry no gradient). */
function ancestors(roots: Node[]): Set<Node> {
  const seen = new Set<Node>();
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const i of n.inputs) stack.push(i.node);
  }
  return seen;
}

/** Sums gradient contributions pairwise (a balanced tree keeps float error and depth low). */
function addAll(parts: SymbolicTensor[], target: SymbolicTensor): SymbolicTensor {
  let level = parts;
  while (level.length > 1) {
    const next: SymbolicTensor[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? ops.add(level[i], level[i + 1]) : level[i]);
    }
    level = next;
  }
  // operands may broadcast statically where their unknown dims differ; the sum keeps the target's shape
  const sum = level[0];
  return compatible(sum.shape, target.shape) ? sum : ops.sumToShapeOf(sum, target);
}

function constLike(t: SymbolicTensor, value: number): SymbolicTensor {
  return t.graph.constant(tensor([value], [], t.dtype));
}

function onesLike(t: SymbolicTensor): SymbolicTensor {
  const one = constLike(t, 1);
  return t.rank === 0 ? one : ops.broadcastToShapeOf(one, t);
}

function zerosLike(t: SymbolicTensor): SymbolicTensor {
  const zero = constLike(t, 0);
  return t.rank === 0 ? zero : ops.broadcastToShapeOf(zero, t);
}
