import { Attrs, DType, anchorInputCount, anchorOf, exprDType, inferProgram, programOf, registeredOps } from '@graphc/graph';
import { bindArgs, elementwiseExpr } from '../helpers';
import { registerGpujsKernel } from '../program';
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
): { code: string; result: string } {
  const statements = programOf(attrs, key, where);
  const steps = inferProgram(statements, inputs, where);
  const lines = statements.map((s, i) => {
    const expr = elementwiseExpr(s.op, s.attrs, exprDType(s, inputs, steps));
    const args = s.args.map((r) => ('input' in r ? inputLocals[r.input] : `${prefix}${r.step}`));
    return `const ${prefix}${i} = ${bindArgs(expr, args)};`;
  });
  return { code: `${lines.join('\n')}\n`, result: `${prefix}${statements.length - 1}` };
}

registerGpujsKernel('fusedElementwise', (ctx) => {
  const out = ctx.outputs[0];
  return [
    ctx.kernel(out.shape, out.dtype, ctx.inputs, (names) => {
      const locals = ctx.inputs.map((_, k) => `v${k}`);
      const body = programBody(ctx.attrs, 'program', ctx.inputs, locals, ctx.where);
      return `${readInputs(ctx.inputs, names, out.shape, locals)}${body.code}return ${body.result};`;
    }),
  ];
});

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
