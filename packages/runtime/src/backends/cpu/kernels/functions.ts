import { GraphcError, TensorValue, sizeOf } from '@graphc/graph';
import { callFunction } from '../functions';
import { KernelContext, registerCpuKernel } from '../kernel';

/** A result of a function call written where the plan wants the node's output (the arena, when planned). */
function place(ctx: KernelContext, v: TensorValue): TensorValue {
  const out = ctx.alloc(v.dtype, v.shape);
  out.data.set(v.data as never);
  return out;
}

registerCpuKernel('whileLoop', (inputs, attrs, ctx) => {
  const carried = attrs.carried as number;
  const scans = attrs.scans as number;
  const what = `whileLoop '${ctx.node.name}'`;
  const limit = Number(inputs[0].data[0]);
  let go = inputs[1].data[0] !== 0;
  let vars = inputs.slice(2, 2 + carried);
  const captured = inputs.slice(2 + carried);
  const stacks: TensorValue[][] = Array.from({ length: scans }, () => []);
  for (let i = 0; i < limit && go; i++) {
    const iteration: TensorValue = { dtype: 'int64', shape: [], data: new Float64Array([i]) };
    const condition: TensorValue = { dtype: 'bool', shape: [], data: new Uint8Array([1]) };
    const out = callFunction(attrs.body!, [iteration, condition, ...vars, ...captured], what);
    go = out[0].data[0] !== 0;
    vars = out.slice(1, 1 + carried);
    out.slice(1 + carried).forEach((v, k) => stacks[k].push(v));
  }
  const stacked = stacks.map((values, k) => {
    const declared = ctx.outputs[carried + k];
    const shape = values.length ? values[0].shape : declared.shape.slice(1).map((d) => d ?? 0);
    for (const v of values) {
      if (v.shape.join() !== shape.join()) throw new GraphcError(`${what}: scan output ${k} changes shape between iterations ([${shape}] vs [${v.shape}])`);
    }
    const out = ctx.alloc(declared.dtype, [values.length, ...shape]);
    const size = sizeOf(shape);
    values.forEach((v, t) => out.data.set(v.data as never, t * size));
    return out;
  });
  return [...vars.map((v) => place(ctx, v)), ...stacked];
});

registerCpuKernel('cond', (inputs, attrs, ctx) => {
  const split = 1 + (attrs.thenInputs as number);
  const taken = inputs[0].data[0] !== 0;
  const what = `cond '${ctx.node.name}' (${taken ? 'then' : 'else'} branch)`;
  const results = callFunction(taken ? attrs.thenBranch! : attrs.elseBranch!, taken ? inputs.slice(1, split) : inputs.slice(split), what);
  return results.map((v) => place(ctx, v));
});
