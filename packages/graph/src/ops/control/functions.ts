import { DTypeError, GraphError, ShapeError } from '../../errors';
import { GraphFunction, instantiateFunction, mergeShapes, traceFunction } from '../../function';
import { AttrValue, Graph, SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import type { InferContext, OutputInfo } from '../../opdef';
import { registerOp } from '../../registry';
import { Shape, shapeToString } from '../../shape';
import { TensorValue, tensor as makeTensor } from '../../tensor';
import { cast } from '../array/cast';
import { gather } from '../array/gather';
import { reshape } from '../array/reshape';
import { shapeOf } from '../array/shape-of';

// Run-time control flow: ops that call graph functions (function.ts). Their kernels run a function
// as a plan of its own (on the cpu; GPU backends run these ops as host steps). Their gradients need
// autodiff itself, so they are set by passes/src/autodiff/control-flow.ts.

function count(ctx: InferContext, key: string): number {
  const v = ctx.attrs[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new GraphError(`${ctx.where}attr '${key}' must be a non-negative integer`);
  return v;
}

function checkScalar(ctx: InferContext, index: number, what: string, dtypes: string[]): void {
  const t = ctx.inputs[index];
  if (!dtypes.includes(t.dtype)) throw new DTypeError(`${ctx.where}${what} must be ${dtypes.join(' or ')}, got ${t.dtype}`);
  if (t.shape.some((d) => d !== null && d !== 1)) throw new ShapeError(`${ctx.where}${what} must hold one element, got shape ${shapeToString(t.shape)}`);
}

/** Checks that the tensors passed to a function have the types of its parameters. */
function checkArgs(ctx: InferContext, params: SymbolicTensor[], args: OutputInfo[], what: string): void {
  if (params.length !== args.length) throw new GraphError(`${ctx.where}${what} takes ${params.length} inputs, the node passes ${args.length}`);
  params.forEach((p, i) => {
    if (p.dtype !== args[i].dtype) throw new DTypeError(`${ctx.where}${what} input ${i} ('${p.name}') is ${p.dtype}, the node passes ${args[i].dtype}`);
    if (p.rank !== args[i].shape.length) throw new ShapeError(`${ctx.where}${what} input ${i} ('${p.name}') has rank ${p.rank}, the node passes ${shapeToString(args[i].shape)}`);
  });
}

function merged(ctx: InferContext, a: OutputInfo, b: OutputInfo, what: string): OutputInfo {
  if (a.dtype !== b.dtype) throw new DTypeError(`${ctx.where}${what}: ${a.dtype} vs ${b.dtype}`);
  const shape = mergeShapes(a.shape, b.shape);
  if (!shape) throw new ShapeError(`${ctx.where}${what}: rank changes (${shapeToString(a.shape)} vs ${shapeToString(b.shape)})`);
  return { dtype: a.dtype, shape };
}

/**
 * whileLoop(maxIterations, cond, ...carried, ...captured) with attrs { body, carried, scans }, as
 * ONNX's Loop: while i < maxIterations and cond, `body(i, cond, ...carried, ...captured)` returns
 * (cond', ...carried', ...scan values); outputs are the final carried values and, per scan value,
 * the values of every iteration stacked on a new axis 0.
 */
registerOp({
  name: 'whileLoop',
  family: 'control',
  numInputs: 'variadic',
  nonDifferentiableInputs: [0, 1],
  infer: (ctx) => {
    const carried = count(ctx, 'carried');
    const scans = count(ctx, 'scans');
    if (ctx.inputs.length < 2 + carried) throw new GraphError(`${ctx.where}expects maxIterations, cond and ${carried} carried values`);
    checkScalar(ctx, 0, 'maxIterations', ['int64', 'int32']);
    checkScalar(ctx, 1, 'the condition', ['bool']);
    const body = instantiateFunction(ctx.attrs.body, `${ctx.where}body`);
    checkArgs(ctx, body.inputs, [{ dtype: 'int64', shape: [] }, { dtype: 'bool', shape: [] }, ...ctx.inputs.slice(2)], 'the body');
    if (body.outputs.length !== 1 + carried + scans) {
      throw new GraphError(`${ctx.where}the body returns ${body.outputs.length} values, not cond + ${carried} carried + ${scans} scanned`);
    }
    if (body.outputs[0].dtype !== 'bool') throw new DTypeError(`${ctx.where}the body's condition output is ${body.outputs[0].dtype}, not bool`);
    const finals = ctx.inputs.slice(2, 2 + carried).map((init, i) => merged(ctx, init, body.outputs[1 + i], `carried value ${i} changes type in the body`));
    const stacked = body.outputs.slice(1 + carried).map((s): OutputInfo => ({ dtype: s.dtype, shape: [null, ...s.shape] }));
    return [...finals, ...stacked];
  },
});

/**
 * cond(pred, ...thenCaptured, ...elseCaptured) with attrs { thenBranch, elseBranch, thenInputs }:
 * runs only the branch `pred` picks and returns its results (tf.cond; ONNX If).
 */
registerOp({
  name: 'cond',
  family: 'control',
  numInputs: 'variadic',
  nonDifferentiableInputs: [0],
  infer: (ctx) => {
    if (ctx.inputs.length < 1) throw new GraphError(`${ctx.where}expects a predicate`);
    checkScalar(ctx, 0, 'the predicate', ['bool']);
    const split = 1 + count(ctx, 'thenInputs');
    const then = instantiateFunction(ctx.attrs.thenBranch, `${ctx.where}thenBranch`);
    const other = instantiateFunction(ctx.attrs.elseBranch, `${ctx.where}elseBranch`);
    checkArgs(ctx, then.inputs, ctx.inputs.slice(1, split), 'the then branch');
    checkArgs(ctx, other.inputs, ctx.inputs.slice(split), 'the else branch');
    if (then.outputs.length !== other.outputs.length) {
      throw new GraphError(`${ctx.where}the branches return ${then.outputs.length} and ${other.outputs.length} values`);
    }
    return then.outputs.map((t, i) => merged(ctx, t, other.outputs[i], `output ${i} differs between the branches`));
  },
});

const asAttr = (fn: GraphFunction): AttrValue => fn as unknown as AttrValue;
/** A plain number array is one constant; any other array is a list of values (an empty one too). */
const isValueList = (r: TensorLike | TensorLike[]): r is TensorLike[] => Array.isArray(r) && (r.length === 0 || !r.every((x) => typeof x === 'number'));
const asList = (r: TensorLike | TensorLike[]): TensorLike[] => (isValueList(r) ? r : [r]);
const infoOf = (t: SymbolicTensor): OutputInfo => ({ dtype: t.dtype, shape: [...t.shape] });

export interface WhileLoopOptions {
  /** Stops after this many iterations even while `cond` holds (tf.while_loop's maximum_iterations). */
  maxIterations?: TensorLike;
  name?: string;
}

/** What one iteration of a loop built here computes from its number and the loop variables. */
interface Iteration {
  next: TensorLike[];
  /** Whether another iteration runs (after the next values). */
  cond: TensorLike;
  /** Values stacked over the iterations into extra outputs (tf.map_fn's and tf.scan's results). */
  scans?: TensorLike[];
}

/**
 * The whileLoop node of `step` over `vars`: traced, and while the body changes a carried shape,
 * traced again with that dimension unknown (tf's shape invariants, found rather than declared).
 * Returns the final values, then the stacked scan values.
 */
function buildLoop(
  graph: Graph,
  name: string,
  vars: SymbolicTensor[],
  first: SymbolicTensor,
  limit: SymbolicTensor,
  step: (iteration: SymbolicTensor, vars: SymbolicTensor[]) => Iteration,
): SymbolicTensor[] {
  let shapes: Shape[] = vars.map((v) => [...v.shape]);
  for (;;) {
    let scanCount = 0;
    const traced = traceFunction(
      graph,
      [{ dtype: 'int64', shape: [] }, { dtype: 'bool', shape: [] }, ...vars.map((v, i) => ({ dtype: v.dtype, shape: shapes[i] }))],
      (iteration, _condition, ...args) => {
        const { next, cond: again, scans = [] } = step(iteration, args);
        if (next.length !== args.length) throw new GraphError(`whileLoop '${name}': the body returns ${next.length} values for ${args.length} loop variables`);
        scanCount = scans.length;
        return [again, ...next.map((v, k) => toSymbolic(iteration.graph, v, args[k].dtype)), ...scans];
      },
      `whileLoop '${name}'`,
      ['iteration', 'condition', ...vars.map((_, i) => `var${i}`)],
    );
    const relaxed = shapes.map((s, i) => mergeShapes(s, traced.outputs[1 + i].shape));
    const bad = relaxed.findIndex((s) => s === null);
    if (bad >= 0) throw new ShapeError(`whileLoop '${name}': the body changes the rank of loop variable ${bad}`);
    if (relaxed.every((s, i) => s!.every((d, k) => d === shapes[i][k]))) {
      const attrs = { body: asAttr(traced.fn), carried: vars.length, scans: scanCount };
      return graph.addNode('whileLoop', [limit, first, ...vars, ...traced.captures], attrs, { name }).outputTensors;
    }
    shapes = relaxed as Shape[];
  }
}

const NO_LIMIT = (): TensorValue => makeTensor([Number.MAX_SAFE_INTEGER], [], 'int64');

/**
 * tf.while_loop: repeats `body` while `cond` holds, starting from `loopVars`; returns the final
 * values. `body` returns new values of the same dtypes and ranks; a dimension it changes (a growing
 * concat) becomes unknown, as tf's shape invariants would say. Tensors of the enclosing graph used
 * in `cond` or `body` are captured. The body must be pure (no variables, assigns or random ops).
 */
export function whileLoop(
  cond: (...vars: SymbolicTensor[]) => TensorLike,
  body: (...vars: SymbolicTensor[]) => TensorLike | TensorLike[],
  loopVars: TensorLike[],
  options: WhileLoopOptions = {},
): SymbolicTensor[] {
  const graph = graphOf(loopVars);
  const name = options.name ?? 'while';
  const vars = loopVars.map((v) => toSymbolic(graph, v));
  const first = toSymbolic(graph, graph.nameScope(name, () => cond(...vars)));
  const limit = toSymbolic(graph, options.maxIterations ?? NO_LIMIT(), 'int64');
  return buildLoop(graph, name, vars, first, limit, (_iteration, args) => {
    const next = asList(body(...args)).map((v, k) => toSymbolic(_iteration.graph, v, args[k]?.dtype));
    return { next, cond: cond(...next) };
  });
}

/** The number of slices of `elems` along axis 0, as an int64 scalar (known at run time if not before). */
function sliceCount(elems: SymbolicTensor): SymbolicTensor {
  if (elems.rank === 0) throw new ShapeError(`a loop over slices needs a tensor of rank 1 or more, got a scalar '${elems.name}'`);
  const n = elems.shape[0];
  return n !== null ? toSymbolic(elems.graph, makeTensor([n], [], 'int64')) : cast(gather(shapeOf(elems), 0), 'int64');
}

/** Stacked loop results whose slice count was known before the run: their shape says so (a reshape that moves nothing). */
function withLength(stacked: SymbolicTensor, elems: SymbolicTensor): SymbolicTensor {
  const n = elems.shape[0];
  const rest = stacked.shape.slice(1);
  return n !== null && rest.every((d) => d !== null) ? reshape(stacked, [n, ...(rest as number[])]) : stacked;
}

/**
 * tf.map_fn: `fn` applied to each slice of `elems` along axis 0, the results stacked along a new
 * axis 0, in one run-time loop (the slice count may be known only at run time). `fn` must be pure;
 * tensors of the enclosing graph it uses are captured. Differentiable, as whileLoop.
 *
 * ```ts
 * const norms = ops.mapFn((row) => ops.sqrt(ops.reduceSum(ops.square(row))), x);   // [n]
 * ```
 */
export function mapFn(fn: (slice: SymbolicTensor) => TensorLike, elems: TensorLike, name = 'map'): SymbolicTensor {
  const graph = graphOf([elems]);
  const xs = toSymbolic(graph, elems);
  const n = sliceCount(xs);
  const outs = buildLoop(graph, name, [], toSymbolic(graph, true), n, (iteration) => ({ next: [], cond: true, scans: [fn(gather(xs, iteration))] }));
  return withLength(outs[0], xs);
}

/**
 * tf.scan: folds `fn(accumulated, slice)` over the slices of `elems` along axis 0 from `initializer`,
 * returning every intermediate value stacked along a new axis 0 (the last one is tf.foldl's result).
 *
 * ```ts
 * const cumulative = ops.scan((acc, x) => ops.add(acc, x), xs, ops.zerosLike(ops.gather(xs, 0)));
 * ```
 */
export function scan(fn: (accumulated: SymbolicTensor, slice: SymbolicTensor) => TensorLike, elems: TensorLike, initializer: TensorLike, name = 'scan'): SymbolicTensor {
  const graph = graphOf([elems, initializer]);
  const xs = toSymbolic(graph, elems);
  const init = toSymbolic(graph, initializer);
  const n = sliceCount(xs);
  const outs = buildLoop(graph, name, [init], toSymbolic(graph, true), n, (iteration, [acc]) => {
    const next = toSymbolic(iteration.graph, fn(acc, gather(xs, iteration)), acc.dtype);
    return { next: [next], cond: true, scans: [next] };
  });
  return withLength(outs[1], xs);
}

/** tf.cond: runs `trueFn` when `pred` holds, else `falseFn`; both return the same number of values of the same dtypes. */
export function cond<T extends TensorLike | TensorLike[]>(
  pred: TensorLike,
  trueFn: () => T,
  falseFn: () => T,
  name = 'cond',
): T extends TensorLike[] ? SymbolicTensor[] : SymbolicTensor {
  const graph: Graph = graphOf([pred]);
  const p = toSymbolic(graph, pred);
  let single = false;
  const branch = (fn: () => T, what: string) =>
    traceFunction(graph, [], () => {
      const r = fn();
      single = !isValueList(r);
      return asList(r);
    }, `cond '${name}' ${what}`);
  const then = branch(trueFn, 'true branch');
  const other = branch(falseFn, 'false branch');
  const node = graph.addNode(
    'cond',
    [p, ...then.captures, ...other.captures],
    { thenBranch: asAttr(then.fn), elseBranch: asAttr(other.fn), thenInputs: then.captures.length },
    { name },
  );
  return (single ? node.output(0) : node.outputTensors) as never;
}
