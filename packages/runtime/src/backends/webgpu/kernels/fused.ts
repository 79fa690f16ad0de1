import { Attrs, DType, anchorInputCount, inferProgram, programOf } from '@graphc/graph';
import { GpuTensorInfo, KernelPlan, NoGpuKernel, WebGpuKernelContext, WgslBinding, registerWebGpuKernel, requireDTypes } from '../kernel';
import { broadcastLoads, elementwiseDispatch, programLines, ProgramStatement, valueType } from './elementwise';
import { GemmEpilogue, gemmTarget } from './gemm';
import { matmulDispatch } from './matmul';

/**
 * Kernels of the fused ops the passes make: a fusedElementwise program becomes one generated kernel,
 * and an anchor op with an epilogue (fusedMatmul, fusedConv2d, ...) runs the epilogue on each result
 * in registers before the anchor's kernel stores it.
 */

/** The program in `attrs[key]` with each statement's result dtype, over inputs of `inputs`' types. */
export function programStatements(
  attrs: Attrs,
  key: string,
  inputs: { dtype: DType; shape: (number | null)[] }[],
  where: string,
  results: readonly number[] = [],
): ProgramStatement[] {
  const statements = programOf(attrs, key, where);
  const steps = inferProgram(statements, inputs, where, results);
  return statements.map((s, i) => ({ op: s.op, attrs: s.attrs, args: s.args, dtype: steps[i].dtype }));
}

registerWebGpuKernel('fusedElementwise', (ctx) => {
  const statements = programStatements(ctx.attrs, 'program', ctx.inputs, `op 'fusedElementwise' (node '${ctx.node.name}'): `);
  return {
    dispatches: [
      elementwiseDispatch({ inputs: ctx.inputs, statements, output: ctx.outputs[0] }, ctx.limits.maxComputeWorkgroupsPerDimension),
    ],
  };
});

/**
 * The epilogue of an anchor op over an output of `out`'s shape: program input 0 is the anchor's
 * value, input k the node's input `firstExtra + k - 1`, loaded with broadcasting at the flat index.
 */
export function epilogueOf(ctx: WebGpuKernelContext, firstExtra: number): GemmEpilogue | undefined {
  if (ctx.attrs.epilogue === undefined) return undefined;
  const out = ctx.outputs[0];
  const extras = ctx.inputs.slice(firstExtra);
  const programInputs: GpuTensorInfo[] = [out, ...extras];
  const statements = programStatements(ctx.attrs, 'epilogue', programInputs, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  const bindings: WgslBinding[] = extras.map((t, k) => ({ ref: { input: firstExtra + k }, name: `ep${k + 1}`, type: `array<${valueType(t.dtype)}>` }));
  return {
    bindings,
    apply(v, flat, tag) {
      const loads = broadcastLoads(out.shape, extras, `(${flat})`);
      const values = [v, ...extras.map((_, k) => `ep${k + 1}[${loads[k]}]`)];
      return programLines({ inputs: programInputs, statements }, values, tag);
    },
  };
}

registerWebGpuKernel('fusedMatmul', (ctx): KernelPlan => {
  requireDTypes(ctx, ['float32', 'bool', 'int32']);
  const count = anchorInputCount('fusedMatmul')!;
  const [a, b] = ctx.inputs;
  if (a.dtype !== 'float32') throw new NoGpuKernel(`matmul of ${a.dtype}`);
  const { epilogue: _, ...anchorAttrs } = ctx.attrs;
  return {
    dispatches: [matmulDispatch(a, b, ctx.outputs[0], anchorAttrs, gemmTarget(ctx), epilogueOf(ctx, count))],
  };
});
