import { FeedError, GraphcError, TensorValue, allocArray, sizeOf } from '@graphc/graph';
import { runElementwise } from '../elementwise';
import { KernelContext, registerCpuKernel } from '../kernel';
import { elementwiseProgram, whereOf } from './fused';
import { markVariableData, variableWritten } from '../simd-memory';

registerCpuKernel('const', (_inputs, attrs) => [attrs.value as TensorValue]);

registerCpuKernel('placeholder', (_inputs, _attrs, ctx) => {
  throw new FeedError(`placeholder '${ctx.node.name}' must be fed`);
});

/**
 * Reading an uninitialized variable is legal only for its assign (the initializer): the value handed
 * out then fails on first use of its data, naming the variable, instead of computing with garbage.
 */
function uninitialized(name: string, dtype: TensorValue['dtype'], shape: number[]): TensorValue {
  return {
    dtype,
    shape,
    get data(): TensorValue['data'] {
      throw new GraphcError(`variable '${name}' is not initialized: run globalVariablesInitializer() (or restore a checkpoint) first`);
    },
  };
}

registerCpuKernel('variable', (_inputs, attrs, ctx) => {
  const value = ctx.variables.get(ctx.node.name);
  // products may keep its values resident while no assign writes them (simd-memory.ts)
  if (value) markVariableData(value.data);
  return [value ?? uninitialized(ctx.node.name, ctx.node.outputs[0].dtype, attrs.shape as number[])];
});

/**
 * Updates write into the variable's own buffer, so a variable keeps one allocation for the session's
 * life; the first assign (its initializer) allocates it.
 */
function update(opJs: string | null) {
  return (inputs: TensorValue[], _attrs: unknown, ctx: KernelContext): TensorValue[] => {
    const [, value] = inputs;
    const name = ctx.node.inputs[0].node.name;
    let target = ctx.variables.get(name);
    if (!target) {
      if (opJs !== null) throw new GraphcError(`variable '${name}' is not initialized: run globalVariablesInitializer() first`);
      const info = ctx.node.inputs[0];
      target = { dtype: info.dtype, shape: [...(info.shape as number[])], data: allocArray(info.dtype, sizeOf(info.shape as number[])) };
      ctx.variables.set(name, target);
    }
    if (opJs === null) {
      if (value.data.length === target.data.length) target.data.set(value.data);
      else runElementwise({ inputDTypes: [value.dtype], statements: [{ js: 'a', args: [{ input: 0 }], dtype: target.dtype }] }, [value], target.shape, target.data);
    } else {
      runElementwise(
        { inputDTypes: [target.dtype, value.dtype], statements: [{ js: opJs, args: [{ input: 0 }, { input: 1 }], dtype: target.dtype }] },
        [target, value],
        target.shape,
        target.data,
      );
    }
    variableWritten(target.data);
    return [target];
  };
}

/**
 * A fused update: the program reads the variable's old value as input 0 and its result is written
 * over it; chained updates (attr `updates`) store their statements into their variables. runElementwise
 * reads every input of an element before storing that element, and every variable has the output's
 * shape, so writing the variables' buffers in place is exact.
 */
registerCpuKernel('fusedAssign', (inputs, attrs, ctx) => {
  const program = elementwiseProgram(attrs, 'program', inputs, whereOf('fusedAssign', ctx.node.name));
  // input 0, then the chained updates' variables: the program (built once per node) holds their stores
  const written = [0, ...(program.stores ?? []).map((st) => st.input)];
  const targets = written.map((k) => {
    const name = ctx.node.inputs[k].node.name;
    const target = ctx.variables.get(name);
    if (!target) throw new GraphcError(`variable '${name}' is not initialized: run globalVariablesInitializer() first`);
    return target;
  });
  const values = inputs.slice();
  written.forEach((k, j) => (values[k] = targets[j]));
  runElementwise(program, values, targets[0].shape, targets[0].data);
  for (const target of targets) variableWritten(target.data);
  return targets;
});

registerCpuKernel('assign', update(null));
registerCpuKernel('assignAdd', update('a + b'));
registerCpuKernel('assignSub', update('a - b'));
