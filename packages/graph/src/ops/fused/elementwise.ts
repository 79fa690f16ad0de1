import { SymbolicTensor } from '../../graph';
import { registerOp } from '../../registry';
import { applyOp } from '../builder';
import { FusedProgram, inferProgram, programAttr, programOf } from './program';

/**
 * A chain (or DAG) of elementwise ops run as one kernel: one loop over the output, every
 * intermediate a scalar in a register, rounded as its dtype's storage would round it so results
 * equal the unfused ops'. Inputs broadcast to the output as for any elementwise op. Made by the
 * fusion pass; `attrs.program` is the description backends generate code from (see program.ts).
 */
registerOp({
  name: 'fusedElementwise',
  family: 'fused',
  numInputs: 'variadic',
  inplaceInput: 0,
  infer: (ctx) => {
    const steps = inferProgram(programOf(ctx.attrs, 'program', ctx.where), ctx.inputs, ctx.where);
    return [steps[steps.length - 1]];
  },
});

/** Adds a fusedElementwise node computing `program` over `inputs` (the fusion pass's builder). */
export function fusedElementwise(inputs: SymbolicTensor[], program: FusedProgram, name?: string): SymbolicTensor {
  return applyOp('fusedElementwise', inputs, { program: programAttr(program) }, name).output(0);
}
