import { AttrValue, TensorValue, instantiateFunction } from '@graphc/graph';
import type { ConstantEvaluator } from '@graphc/passes';
import { PlanRequest, specializePlan } from '../../plan';
import { rememberingEvaluator } from '../../fold-cache';
import { DEFAULT_MAX_PLANS, PlanCache } from '../../plan-cache';
import { SharedPasses } from '../../varying-dims';
import { CpuExecutable, CpuVariableState } from './executable';
import { evaluateNode } from './kernel';

/**
 * A function's compiled bodies, by argument signature, the most recently called kept (a loop whose
 * carried tensor grows calls its body with a new shape every iteration), and the state they share:
 * one arena, as the bodies of one function never run inside each other.
 */
interface Bodies {
  bySignature: PlanCache<CpuExecutable>;
  /** Constant folding the bodies share: each length's body folds the same constants into the same arrays. */
  evaluate: ConstantEvaluator;
  /** The bodies' optimized graphs: once the carried shapes vary, one optimized with them unknown serves every length. */
  passes: SharedPasses;
  // a body holds no variables or random ops (instantiateFunction refuses them): only its arena is used
  state: CpuVariableState;
}

/** Per function attr. Weakly held: a dropped graph frees its compiled bodies. */
const compiled = new WeakMap<object, Bodies>();

/**
 * A function as a cpu executable for these argument shapes: optimized (level 2; from the third
 * shape, once for the dimensions that vary: SharedPasses) and planned into one arena.
 */
function compile(attr: AttrValue, args: TensorValue[], what: string, bodies: Bodies): CpuExecutable {
  const fn = instantiateFunction(attr, what);
  const request: PlanRequest = {
    graph: fn.graph,
    fetchNames: fn.outputs.map((o) => o.name),
    targetNames: [],
    feedNames: fn.inputs.map((i) => i.name),
    feedShapes: args.map((a) => a.shape),
    level: 2,
    evaluate: bodies.evaluate,
  };
  return new CpuExecutable(specializePlan(bodies.passes.optimizedGraph(request, args.map((a) => a.dtype).join(' ')), request), bodies.state);
}

/**
 * Calls a graph function (a whileLoop body, a cond branch) on concrete arguments. It is compiled on
 * the first call with these argument shapes, as a session compiles a plan, and reused after: a loop
 * whose carried shapes stay put compiles its body once and runs it in the same arena every
 * iteration (the results are copies, so the next iteration may overwrite the arena).
 */
export function callFunction(attr: AttrValue, args: TensorValue[], what: string): TensorValue[] {
  // a loop calls its body with the same shapes iteration after iteration: check the last call's first
  const last = lastCall.get(attr as object);
  if (last && sameTypes(last.args, args)) return last.exe.runSync(args);
  const signature = args.map((a) => `${a.dtype}[${a.shape}]`).join(' ');
  let bodies = compiled.get(attr as object);
  if (!bodies) {
    const bySignature = new PlanCache<CpuExecutable>(DEFAULT_MAX_PLANS, (exe) => exe.dispose());
    compiled.set(attr as object, (bodies = { bySignature, evaluate: rememberingEvaluator(evaluateNode), passes: new SharedPasses(DEFAULT_MAX_PLANS), state: new CpuVariableState() }));
  }
  let exe = bodies.bySignature.get(signature);
  if (!exe) bodies.bySignature.set(signature, (exe = compile(attr, args, what, bodies)));
  lastCall.set(attr as object, { args: args.map((a) => ({ dtype: a.dtype, shape: [...a.shape] })), exe });
  return exe.runSync(args);
}

/** How many times the passes ran for a function's bodies (for tests); undefined if it was never called. */
export function functionOptimizeCount(attr: AttrValue): number | undefined {
  return compiled.get(attr as object)?.passes.optimizeCount;
}

/** Per function attr, the argument types of its last call and the executable that served it. */
const lastCall = new WeakMap<object, { args: { dtype: string; shape: number[] }[]; exe: CpuExecutable }>();

function sameTypes(a: { dtype: string; shape: number[] }[], b: TensorValue[]): boolean {
  return a.length === b.length && a.every((t, i) => t.dtype === b[i].dtype && t.shape.length === b[i].shape.length && t.shape.every((d, k) => d === b[i].shape[k]));
}
