import { Attrs, DType, anchorInputCount, anchorOf, exprDType, inferProgram, programOf, registeredOps, updatesOf } from '@graphc/graph';
import { bindArgs, elementwiseExpr } from '../helpers';
import { LowerContext, TensorRef, registerGpujsKernel } from '../program';
import { anchorLowering, readInputs } from './elementwise';

/**
 * Fused ops from the fusion pass: a fused elementwise program is one kernel whose statements are
 * locals (no intermediate tensor exists), and an anchor + epilogue op (fusedMatmul, fusedConv2d, ...)
 * is the anchor's kernel with the epilogue applied to its accumulator before the one store.
 */

/**
 * Statements of a fused program over scalar locals: `inputLocals[k]` holds input k; the statements
 * declare `${prefix}0, ${prefix}1, ...` and the result is the last one.
 */
export function programBody(
  attrs: Attrs,
  key: string,
  inputs: { dtype: DType; shape: number[] }[],
  inputLocals: string[],
  where: string,
  prefix = 't',
  results: readonly number[] = [],
): { code: string; result: string } {
  const statements = programOf(attrs, key, where);
  const steps = inferProgram(statements, inputs, where, results);
  const lines = statements.map((s, i) => {
    const expr = elementwiseExpr(s.op, s.attrs, exprDType(s, inputs, steps));
    const args = s.args.map((r) => ('input' in r ? inputLocals[r.input] : `${prefix}${r.step}`));
    return `const ${prefix}${i} = ${bindArgs(expr, args)};`;
  });
  return { code: `${lines.join('\n')}\n`, result: `${prefix}${statements.length - 1}` };
}

/** Inputs one fused kernel binds at most: gpu.js's webgpu mode has ~8 storage buffers per shader (as concat). */
export const MAX_FUSED_INPUTS = 6;

registerGpujsKernel('fusedElementwise', (ctx) => [programKernel(ctx, 'program', ctx.inputs, ctx.outputs[0])]);

/**
 * The program in attr `key` over `inputs` as one kernel writing `out`, or, with more inputs than a
 * kernel may bind, as a kernel per statement.
 */
function programKernel(ctx: LowerContext, key: string, inputs: TensorRef[], out: { shape: number[]; dtype: DType }): TensorRef {
  const bound = programInputs(ctx, inputs);
  if (bound.live.length > MAX_FUSED_INPUTS) return spread(unfusedSteps(ctx.attrs, key, inputs, ctx).at(-1)!, out, ctx);
  return ctx.kernel(out.shape, out.dtype, bound.live, (names) => {
    const body = programBody(ctx.attrs, key, inputs, bound.locals, ctx.where);
    return `${bound.read(names, out.shape)}${body.code}return ${body.result};`;
  });
}

/**
 * A fused kernel's inputs: the tensors it reads (`live`), and a finite constant scalar (a
 * hyperparameter) as a number literal instead, so a fused update with many of them fits the
 * MAX_FUSED_INPUTS a kernel binds. `read` declares local v<k> for every program input k.
 */
function programInputs(ctx: LowerContext, inputs: TensorRef[] = ctx.inputs): { live: TensorRef[]; locals: string[]; read: (names: string[], shape: number[]) => string } {
  const literals = inputs.map((t) => {
    const v = ctx.scalarConstant(t);
    // -0 prints as 0, and gpu.js writes no infinity or NaN literal: those stay inputs
    if (v === undefined || !Number.isFinite(v) || Object.is(v, -0)) return undefined;
    return Number.isInteger(v) ? `${v}.0` : String(v);
  });
  const locals = inputs.map((_, k) => `v${k}`);
  const liveIndex = inputs.map((_, k) => k).filter((k) => literals[k] === undefined);
  return {
    live: liveIndex.map((k) => inputs[k]),
    locals,
    read: (names, shape) =>
      readInputs(liveIndex.map((k) => inputs[k]), names, shape, liveIndex.map((k) => locals[k])) +
      literals.map((l, k) => (l === undefined ? '' : `const v${k} = ${l};\n`)).join(''),
  };
}

/**
 * A fused update: a kernel per variable it writes (a gpu.js kernel has one output), each evaluating
 * the program over the old values up to the statement that variable gets. The program builder
 * applies an update's writes after its last kernel, so every kernel reads the old values.
 */
registerGpujsKernel('fusedAssign', (ctx) => {
  const updates = updatesOf(ctx.attrs, ctx.where);
  const last = programOf(ctx.attrs, 'program', ctx.where).length - 1;
  const results = [last, ...updates.map((u) => u.step)];
  const inputs = programInputs(ctx);
  if (inputs.live.length > MAX_FUSED_INPUTS) {
    const all = unfusedSteps(ctx.attrs, 'program', ctx.inputs, ctx, results);
    return results.map((step, j) => spread(all[step], ctx.outputs[j], ctx));
  }
  return results.map((step, j) =>
    ctx.kernel(ctx.outputs[j].shape, ctx.outputs[j].dtype, inputs.live, (names) => {
      const body = programBody(ctx.attrs, 'program', ctx.inputs, inputs.locals, ctx.where, 't', results);
      return `${inputs.read(names, ctx.outputs[j].shape)}${body.code}return t${step};`;
    }),
  );
});

/**
 * A fused program with more inputs than one kernel may bind, as a kernel per statement (the program
 * unfused again; each statement reads at most three tensors): every statement's result. Same
 * expressions, same order. `stored`: statements a fusedAssign stores besides the last.
 */
function unfusedSteps(attrs: Attrs, key: string, inputs: TensorRef[], ctx: LowerContext, stored: readonly number[] = []): TensorRef[] {
  const statements = programOf(attrs, key, ctx.where);
  const steps = inferProgram(statements, inputs, ctx.where, stored);
  const results: TensorRef[] = [];
  statements.forEach((s, i) => {
    const args = s.args.map((r) => ('input' in r ? inputs[r.input] : results[r.step]));
    const shape = steps[i].shape as number[];
    const expr = elementwiseExpr(s.op, s.attrs, exprDType(s, inputs, steps));
    const locals = args.map((_, k) => `v${k}`);
    results.push(ctx.kernel(shape, steps[i].dtype, args, (names) => `${readInputs(args, names, shape, locals)}return ${bindArgs(expr, locals)};`));
  });
  return results;
}

/** `t` as a tensor of `out`'s shape: a statement may broadcast to less than the node's shape. */
function spread(t: TensorRef, out: { shape: number[]; dtype: DType }, ctx: LowerContext): TensorRef {
  if (t.shape.length === out.shape.length && t.shape.every((d, k) => d === out.shape[k])) return t;
  return ctx.kernel(out.shape, out.dtype, [t], (names) => `${readInputs([t], names, out.shape, ['v0'])}return v0;`);
}

for (const def of registeredOps()) {
  const anchor = def.family === 'fused' ? anchorOf(def.name) : undefined;
  const lower = anchor ? anchorLowering(anchor) : undefined;
  if (!anchor || !lower) continue;
  const count = anchorInputCount(def.name)!;
  registerGpujsKernel(def.name, (ctx) => {
    const out = ctx.outputs[0];
    const { epilogue: _, ...anchorAttrs } = ctx.attrs;
    const a = lower(ctx, ctx.inputs.slice(0, count), anchorAttrs, out);
    if (ctx.attrs.epilogue === undefined) {
      return [ctx.kernel(out.shape, out.dtype, a.args, (names) => `${a.code(names)}return acc;`)];
    }
    const extra = ctx.inputs.slice(count);
    if (a.args.length + extra.length > MAX_FUSED_INPUTS) {
      // more buffers than one kernel may bind (gpu.js's webgpu mode has 8): the anchor, then the epilogue
      const acc = ctx.kernel(out.shape, out.dtype, a.args, (names) => `${a.code(names)}return acc;`);
      return [programKernel(ctx, 'epilogue', [acc, ...extra], out)];
    }
    return [
      ctx.kernel(out.shape, out.dtype, [...a.args, ...extra], (names) => {
        const anchorNames = names.slice(0, a.args.length);
        const extraNames = names.slice(a.args.length);
        const locals = extra.map((_, k) => `e${k}`);
        const body = programBody(ctx.attrs, 'epilogue', [out, ...extra], ['acc', ...locals], ctx.where, 'p');
        return `${a.code(anchorNames)}${readInputs(extra, extraNames, out.shape, locals)}${body.code}return ${body.result};`;
      }),
    ];
  });
}
