import { GraphError, ShapeError } from '../../errors';
import { SymbolicTensor } from '../../graph';
import type { Attrs, OutputInfo } from '../../opdef';
import { registerOp } from '../../registry';
import { shapeToString, shapesEqual } from '../../shape';
import { applyOp } from '../builder';
import { FusedProgram, inferProgram, programAttr, programOf } from '../fused/program';
import { FusedUpdate, requireVariable, updatedVariable, updatesOf } from './update';


/**
 * An update of a variable computed in the kernel that writes it: `assignSub(v, lr * g)`,
 * `assign(m, b1 * m + (1 - b1) * g)` and the like, with the value's elementwise ops folded in by the
 * fusion pass, so the value never exists as a tensor and the update is one launch instead of two or
 * more. Input 0 is the variable; attr `program` (see fused/program.ts) computes its new value, with
 * program input k the node's input k (input 0 the variable's old value), broadcast to the variable's
 * shape. The program reads the old value, element by element in the thread that writes it, so the
 * update runs in place with no copy.
 *
 * Attr `updates` (optional) chains updates of more variables of the same shape into the kernel, as
 * Adam's m and v feed its weight update: each `{ input, step }` writes statement `step` into the
 * variable at node input `input`. Every element of every input is read before any is written, and
 * the node's outputs are the new values of input 0, then of each `updates` variable in order.
 */
registerOp({
  name: 'fusedAssign',
  family: 'state',
  numInputs: 'variadic',
  stateful: true,
  assignment: 'program',
  infer: (ctx) => {
    if (ctx.inputs.length === 0) throw new GraphError(`${ctx.where}needs the variable as input 0`);
    const program = programOf(ctx.attrs, 'program', ctx.where);
    const updates = updatesOf(ctx.attrs, ctx.where);
    const steps = inferProgram(program, ctx.inputs, ctx.where, updates.map((u) => u.step));
    const outputs: OutputInfo[] = [updatedVariable(ctx, ctx.inputs[0], steps[steps.length - 1])];
    const written = new Set([0]);
    for (const u of updates) {
      if (u.input >= ctx.inputs.length || u.step >= steps.length || written.has(u.input)) {
        throw new GraphError(`${ctx.where}attr 'updates' names input ${u.input} and step ${u.step}: not a further input and a statement of the program`);
      }
      written.add(u.input);
      const variable = ctx.inputs[u.input];
      // one index space: every element of each variable is read and written by the same thread
      if (!shapesEqual(variable.shape, ctx.inputs[0].shape)) {
        throw new ShapeError(`${ctx.where}updated input ${u.input} has shape ${shapeToString(variable.shape)}, not the shape ${shapeToString(ctx.inputs[0].shape)} of input 0`);
      }
      outputs.push(updatedVariable(ctx, variable, steps[u.step]));
    }
    return outputs;
  },
});


/**
 * Adds a fusedAssign node updating `variable` by `program` over [variable, ...inputs] (the fusion
 * pass's builder), and the variables among `inputs` that `updates` names.
 */
export function fusedAssign(variable: SymbolicTensor, inputs: SymbolicTensor[], program: FusedProgram, updates: FusedUpdate[] = [], name?: string): SymbolicTensor[] {
  requireVariable(variable, 'fusedAssign');
  for (const u of updates) requireVariable([variable, ...inputs][u.input], 'fusedAssign');
  const attrs: Attrs = { program: programAttr(program) };
  if (updates.length) attrs.updates = updates.map((u) => ({ input: u.input, step: u.step }));
  return applyOp('fusedAssign', [variable, ...inputs], attrs, name).outputTensors;
}
