import {
  Attrs,
  DType,
  GraphcError,
  TensorValue,
  anchorInputCount,
  anchorOf,
  updatesOf,
  exprDType,
  getOpDef,
  inferProgram,
  programOf,
  registeredOps,
} from '@graphc/graph';
import { ElementwiseProgram, runElementwise } from '../elementwise';
import { CpuKernel, broadcastResultShape, getCpuEpilogueKernel, getCpuKernel, registerCpuKernel } from '../kernel';
import { blockEpilogue } from '../wasm-elementwise';

/**
 * CPU kernels of the 'fused' family. A fused program becomes one ElementwiseProgram: runElementwise
 * compiles it to a single loop over the output with each statement's scalar expression inlined and
 * intermediates rounded to their dtype, so no intermediate tensor exists and the numbers equal the
 * unfused ops'.
 */

/** Storage rounding of a bool intermediate (a Uint8Array store); runElementwise rounds the others. */
const asStored = (js: string, dtype: DType): string => (dtype === 'bool' ? `((${js}) & 255)` : js);

/** A node's programs by input signature (dtypes and ranks), and the one its last call used. */
interface Programs {
  bySignature: Map<string, ElementwiseProgram>;
  last?: { program: ElementwiseProgram; ranks: number[] };
}

const compiled = new WeakMap<object, Programs>();

/** Whether `inputs` have the dtypes and ranks `last` was built for (a node's every run but its first). */
function sameSignature(last: Programs['last'], inputs: TensorValue[]): last is NonNullable<Programs['last']> {
  if (!last || last.ranks.length !== inputs.length) return false;
  for (let k = 0; k < inputs.length; k++) if (inputs[k].dtype !== last.program.inputDTypes[k] || inputs[k].shape.length !== last.ranks[k]) return false;
  return true;
}

/** The ElementwiseProgram of `attrs[key]` for these input types, built once per node and dtype signature. */
export function elementwiseProgram(attrs: Attrs, key: string, inputs: TensorValue[], where: string): ElementwiseProgram {
  let programs = compiled.get(attrs);
  if (!programs) compiled.set(attrs, (programs = { bySignature: new Map() }));
  if (sameSignature(programs.last, inputs)) return programs.last.program;
  const byTypes = programs.bySignature;
  const sig = inputs.map((i) => `${i.dtype}${i.shape.length}`).join(',');
  let program = byTypes.get(sig);
  if (program) {
    programs.last = { program, ranks: inputs.map((i) => i.shape.length) };
    return program;
  }
  const statements = programOf(attrs, key, where);
  // a fusedAssign's chained updates: further results, stored into their variables
  const stores = updatesOf(attrs, where);
  const steps = inferProgram(statements, inputs, where, stores.map((s) => s.step));
  const last = statements.length - 1;
  program = {
    inputDTypes: inputs.map((i) => i.dtype),
    statements: statements.map((s, i) => {
      const js = getOpDef(s.op).elementwise!.js(s.attrs, exprDType(s, inputs, steps));
      return {
        js: i === last ? js : asStored(js, steps[i].dtype),
        args: s.args.map((r) => ('input' in r ? { input: r.input } : { step: r.step })),
        dtype: steps[i].dtype,
      };
    }),
    ...(stores.length ? { stores } : {}),
  };
  byTypes.set(sig, program);
  programs.last = { program, ranks: inputs.map((i) => i.shape.length) };
  return program;
}

export const whereOf = (op: string, name: string): string => `op '${op}' (node '${name}'): `;

registerCpuKernel('fusedElementwise', (inputs, attrs, ctx) => {
  const program = elementwiseProgram(attrs, 'program', inputs, whereOf('fusedElementwise', ctx.node.name));
  const shape = broadcastResultShape(inputs.map((i) => i.shape));
  const out = ctx.alloc(program.statements[program.statements.length - 1].dtype, shape);
  runElementwise(program, inputs, shape, out.data);
  return [out];
});

const anchorAttrCache = new WeakMap<object, Attrs>();

/** The anchor's own attrs (without `epilogue`), one object per node so kernels may cache by identity. */
function anchorAttrs(attrs: Attrs): Attrs {
  let a = anchorAttrCache.get(attrs);
  if (!a) {
    const { epilogue: _, ...rest } = attrs;
    anchorAttrCache.set(attrs, (a = rest));
  }
  return a;
}

/**
 * Anchor + epilogue: one kernel launch, one output tensor, no intermediate: the bias, activation and
 * residual never exist as tensors. Where the anchor has an epilogue kernel (matmul, conv2d,
 * depthwiseConv2d) and the epilogue has an f32x4 form, the anchor applies it to each block of its
 * output in the SIMD kernels' memory before copying the block out (BlockEpilogue). Otherwise the
 * anchor's kernel writes its result into this node's output buffer, then the epilogue runs in place
 * over that buffer with the extra inputs broadcast.
 */
function anchorWithEpilogue(fusedOp: string): CpuKernel {
  const anchor = anchorOf(fusedOp)!;
  const count = anchorInputCount(fusedOp)!;
  return (inputs, attrs, ctx) => {
    const where = whereOf(fusedOp, ctx.node.name);
    const extras = inputs.slice(count);
    const programFor = (acc: TensorValue): ElementwiseProgram => elementwiseProgram(attrs, 'epilogue', [acc, ...extras], where);
    const blockKernel = attrs.epilogue === undefined ? undefined : getCpuEpilogueKernel(anchor);
    if (blockKernel) {
      const { outputs, applied } = blockKernel(inputs.slice(0, count), anchorAttrs(attrs), ctx, (acc) => blockEpilogue(programFor(acc), [acc, ...extras]));
      if (!applied) runElementwise(programFor(outputs[0]), [outputs[0], ...extras], outputs[0].shape, outputs[0].data);
      return outputs;
    }
    const kernel = getCpuKernel(anchor);
    if (!kernel) throw new GraphcError(`${where}the cpu backend has no kernel for '${anchor}'`);
    const [acc] = kernel(inputs.slice(0, count), anchorAttrs(attrs), ctx);
    if (attrs.epilogue === undefined) return [acc];
    runElementwise(programFor(acc), [acc, ...extras], acc.shape, acc.data);
    return [acc];
  };
}

for (const def of registeredOps()) {
  if (def.family === 'fused' && anchorOf(def.name)) registerCpuKernel(def.name, anchorWithEpilogue(def.name));
}
