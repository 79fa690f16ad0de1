import { GraphError } from '../../errors';
import { SymbolicTensor } from '../../graph';
import { registerOp } from '../../registry';
import { applyOp } from '../builder';
import { FusedProgram, inferProgram, programAttr, programOf } from '../fused/program';
import { requireVariable, updatedVariable } from './update';

/**
 * An update of a variable computed in the kernel that writes it: `assignSub(v, lr * g)`,
 * `assign(m, b1 * m + (1 - b1) * g)` and the like, with the value's elementwise ops folded in by the
 * fusion pass, so the value never exists as a tensor and the update is one launch instead of two or
 * more. Input 0 is the variable; attr `program` (see fused/program.ts) computes its new value, with
 * program input 0 the variable's old value and input k the node's input k, broadcast to the
 * variable's shape. The program reads the old value, element by element in the thread that writes
 * it, so the update runs in place with no copy.
 */
registerOp({
  name: 'fusedAssign',
  family: 'state',
  numInputs: 'variadic',
  stateful: true,
  assignment: 'program',
  infer: (ctx) => {
    if (ctx.inputs.length === 0) throw new GraphError(`${ctx.where}needs the variable as input 0`);
    const steps = inferProgram(programOf(ctx.attrs, 'program', ctx.where), ctx.inputs, ctx.where);
    return [updatedVariable(ctx, ctx.inputs[0], steps[steps.length - 1])];
  },
});

/** Adds a fusedAssign node updating `variable` by `program` over [variable, ...inputs] (the fusion pass's builder). */
export function fusedAssign(variable: SymbolicTensor, inputs: SymbolicTensor[], program: FusedProgram, name?: string): SymbolicTensor {
  requireVariable(variable, 'fusedAssign');
  return applyOp('fusedAssign', [variable, ...inputs], { program: programAttr(program) }, name).output(0);
}
