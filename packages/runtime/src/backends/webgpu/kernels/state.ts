import { updatesOf } from '@graphc/graph';
import { registerWebGpuKernel } from '../kernel';
import { elementwiseDispatch } from './elementwise';
import { programStatements } from './fused';

/**
 * assign/assignAdd/assignSub write the variable's own buffer in place (the executable binds the
 * variable as output 0); the value broadcasts to the variable's shape. assignAdd reads the element it
 * overwrites, so the variable is bound once, read-write.
 */
for (const [op, combine] of [
  ['assign', null],
  ['assignAdd', 'add'],
  ['assignSub', 'sub'],
] as const) {
  registerWebGpuKernel(op, (ctx) => {
    const [variable, value] = ctx.inputs;
    const dtype = variable.dtype;
    const statements = combine
      ? [{ op: combine, attrs: {}, args: [{ input: 0 }, { input: 1 }], dtype }]
      : [{ op: 'identity', attrs: {}, args: [{ input: 1 }], dtype }];
    return {
      dispatches: [
        elementwiseDispatch(
          { inputs: [variable, value], statements, output: ctx.outputs[0], inputIsOutput: [{ input: 0, output: 0 }] },
          ctx.limits.maxComputeWorkgroupsPerDimension,
        ),
      ],
    };
  });
}

/**
 * A fused update: the program over [old value, inputs...] in one kernel writing the variable in
 * place, and the variables of its chained updates (attr `updates`, outputs 1..) likewise.
 */
registerWebGpuKernel('fusedAssign', (ctx) => {
  const where = `op 'fusedAssign' (node '${ctx.node.name}'): `;
  const updates = updatesOf(ctx.attrs, where);
  const statements = programStatements(ctx.attrs, 'program', ctx.inputs, where, updates.map((u) => u.step));
  const inputIsOutput = [{ input: 0, output: 0 }, ...updates.map((u, j) => ({ input: u.input, output: j + 1, step: u.step }))];
  return {
    dispatches: [elementwiseDispatch({ inputs: ctx.inputs, statements, output: ctx.outputs[0], inputIsOutput }, ctx.limits.maxComputeWorkgroupsPerDimension)],
  };
});
