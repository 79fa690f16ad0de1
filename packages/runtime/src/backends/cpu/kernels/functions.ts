import { Attrs, DType, GraphcError, Shape, ShapeError, TensorValue, TypedArray, allocArray, ops } from '@graphc/graph';
import { callFunction } from '../functions';
import { KernelContext, registerCpuKernel } from '../kernel';

const { MAX_TENSOR_ELEMENTS } = ops;

/** A result of a function call written where the plan wants the node's output (the arena, when planned). */
function place(ctx: KernelContext, v: TensorValue): TensorValue {
  const out = ctx.alloc(v.dtype, v.shape);
  out.data.set(v.data as never);
  return out;
}

/**
 * Iterations one whileLoop may run when its condition never fails: a model's loop whose trip count
 * comes out infinite (a Cast of inf) is an error here, not a run that never returns. The default
 * (2^24) is far above what a decoder or solver loop takes; GRAPHC_MAX_LOOP_ITERATIONS changes it.
 */
function maxIterations(): number {
  const v = Number(process.env.GRAPHC_MAX_LOOP_ITERATIONS);
  return Number.isSafeInteger(v) && v > 0 ? v : 2 ** 24;
}

/** One scanned output, stacked as the iterations produce it into a buffer that doubles as it fills. */
class ScanStack {
  private data: TypedArray;
  private shape: number[] | null = null;
  count = 0;

  constructor(
    private readonly dtype: DType,
    private readonly what: string,
  ) {
    this.data = allocArray(dtype, 0);
  }

  push(v: TensorValue): void {
    if (!this.shape) this.shape = [...v.shape];
    else if (v.shape.join() !== this.shape.join()) throw new ShapeError(`${this.what} changes shape between iterations ([${this.shape}] vs [${v.shape}])`);
    const size = v.data.length;
    const need = (this.count + 1) * size;
    if (need > MAX_TENSOR_ELEMENTS) throw new ShapeError(`${this.what} would hold more than ${MAX_TENSOR_ELEMENTS} elements after ${this.count + 1} iterations`);
    if (need > this.data.length) {
      const grown = allocArray(this.dtype, Math.min(MAX_TENSOR_ELEMENTS, Math.max(need, 2 * this.data.length)));
      grown.set(this.data as never);
      this.data = grown;
    }
    this.data.set(v.data as never, this.count * size);
    this.count++;
  }

  /** The stacked values, [iterations, ...value shape]; with no iteration, the declared shape's known dims (others 0). */
  result(ctx: KernelContext, declared: Shape): TensorValue {
    const shape = [this.count, ...(this.shape ?? declared.slice(1).map((d) => d ?? 0))];
    const out = ctx.alloc(this.dtype, shape);
    out.data.set(this.data.subarray(0, out.data.length) as never);
    return out;
  }
}

/**
 * What scanned output k of a whileLoop holds, for errors. The loop autodiff adds to replay a loop
 * backwards (attr forwardScans) stacks each iteration's starting values after the loop's own scans:
 * one of those changing shape means the user's loop variable did, and that such a loop has no gradient.
 */
function scanName(node: string, attrs: Attrs, k: number): string {
  const own = attrs.forwardScans as number | undefined;
  if (own === undefined || k < own || k >= own + (attrs.carried as number)) return `whileLoop '${node}': scan output ${k}`;
  return `the gradient of whileLoop '${String(attrs.forwardOf ?? node)}' (it has none where a loop variable changes shape): loop variable ${k - own}`;
}

registerCpuKernel('whileLoop', (inputs, attrs, ctx) => {
  const carried = attrs.carried as number;
  const what = `whileLoop '${ctx.node.name}'`;
  const limit = Number(inputs[0].data[0]);
  const cap = maxIterations();
  let go = inputs[1].data[0] !== 0;
  let vars = inputs.slice(2, 2 + carried);
  const captured = inputs.slice(2 + carried);
  const stacks = ctx.outputs.slice(carried).map((o, k) => new ScanStack(o.dtype, scanName(ctx.node.name, attrs, k)));
  // the body's first two arguments, written in place each iteration (its results are copies)
  const iteration: TensorValue = { dtype: 'int64', shape: [], data: new Float64Array(1) };
  const condition: TensorValue = { dtype: 'bool', shape: [], data: new Uint8Array([1]) };
  for (let i = 0; i < limit && go; i++) {
    if (i === cap) {
      throw new GraphcError(
        `${what} is still running after ${cap} iterations (its condition holds and its trip count is ${limit}): ` +
          'bound it with maxIterations, or raise GRAPHC_MAX_LOOP_ITERATIONS',
      );
    }
    iteration.data[0] = i;
    const out = callFunction(attrs.body!, [iteration, condition, ...vars, ...captured], what);
    go = out[0].data[0] !== 0;
    vars = out.slice(1, 1 + carried);
    out.slice(1 + carried).forEach((v, k) => stacks[k].push(v));
  }
  return [...vars.map((v) => place(ctx, v)), ...stacks.map((s, k) => s.result(ctx, ctx.outputs[carried + k].shape))];
});

registerCpuKernel('cond', (inputs, attrs, ctx) => {
  const split = 1 + (attrs.thenInputs as number);
  const taken = inputs[0].data[0] !== 0;
  const what = `cond '${ctx.node.name}' (${taken ? 'then' : 'else'} branch)`;
  const results = callFunction(taken ? attrs.thenBranch! : attrs.elseBranch!, taken ? inputs.slice(1, split) : inputs.slice(split), what);
  return results.map((v) => place(ctx, v));
});
