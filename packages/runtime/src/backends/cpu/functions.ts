import { AttrValue, GraphcError, Node, OutputInfo, TensorValue, instantiateFunction } from '@graphc/graph';
import { buildPlan } from '../../plan';
import { CpuKernel, KernelContext, evaluateNode, getCpuKernel, heapAlloc } from './kernel';

/** One function compiled for one set of argument shapes: the steps of its optimized plan. */
interface CompiledFunction {
  feeds: string[];
  steps: { node: Node; kernel: CpuKernel; ctx: KernelContext; inputs: string[]; outputs: string[] }[];
  fetches: string[];
}

/** Per function attr, per argument signature. Weakly held: a dropped graph frees its compiled bodies. */
const compiled = new WeakMap<object, Map<string, CompiledFunction>>();

const key = (node: Node, index: number): string => `${node.id}:${index}`;

function compile(attr: AttrValue, args: TensorValue[], what: string): CompiledFunction {
  const fn = instantiateFunction(attr, what);
  // the body is a graph like any other: pruned, folded and fused once per argument signature
  const plan = buildPlan({
    graph: fn.graph,
    fetchNames: fn.outputs.map((o) => o.name),
    targetNames: [],
    feedNames: fn.inputs.map((i) => i.name),
    feedShapes: args.map((a) => a.shape),
    level: 2,
    evaluate: evaluateNode,
    planMemory: false,
  });
  const fed = new Set(plan.feeds.map((f) => f.node));
  const noRandom = (): never => {
    throw new GraphcError(`${what}: a function body draws no random numbers`);
  };
  return {
    feeds: plan.feeds.map((f) => key(f.node, f.index)),
    steps: plan.schedule
      .filter((node) => !fed.has(node))
      .map((node) => {
        const outputs: OutputInfo[] = plan.outputInfo.get(node) ?? node.outputs;
        const kernel = getCpuKernel(node.op);
        if (!kernel) throw new GraphcError(`${what}: no cpu kernel for op '${node.op}' (node '${node.name}')`);
        return {
          node,
          kernel,
          ctx: { node, outputs, alloc: heapAlloc, rng: noRandom, variables: new Map() },
          inputs: node.inputs.map((i) => key(i.node, i.index)),
          outputs: node.outputs.map((_, i) => key(node, i)),
        };
      }),
    fetches: plan.fetches.map((f) => key(f.node, f.index)),
  };
}

/**
 * Calls a graph function (a whileLoop body, a cond branch) on concrete arguments. Its plan is built
 * on the first call with these argument shapes and reused after; a loop whose carried shapes stay
 * put compiles its body once.
 */
export function callFunction(attr: AttrValue, args: TensorValue[], what: string): TensorValue[] {
  const signature = args.map((a) => `${a.dtype}[${a.shape}]`).join(' ');
  let bySignature = compiled.get(attr as object);
  if (!bySignature) compiled.set(attr as object, (bySignature = new Map()));
  let fn = bySignature.get(signature);
  if (!fn) bySignature.set(signature, (fn = compile(attr, args, what)));
  const values = new Map<string, TensorValue>();
  fn.feeds.forEach((k, i) => values.set(k, args[i]));
  for (const step of fn.steps) {
    const results = step.kernel(step.inputs.map((k) => values.get(k)!), step.node.attrs, step.ctx);
    step.outputs.forEach((k, i) => values.set(k, results[i]));
  }
  return fn.fetches.map((k) => values.get(k)!);
}
