import {
  Attrs,
  DType,
  GraphcError,
  TensorValue,
  anchorInputCount,
  anchorOf,
  exprDType,
  getOpDef,
  inferProgram,
  programOf,
  registeredOps,
} from '@graphc/graph';
import { ElementwiseProgram, runElementwise } from '../elementwise';
import { gemmPacked, packMatrixB, packedBSize } from '../gemm';
import { CpuKernel, broadcastResultShape, getCpuKernel, registerCpuKernel } from '../kernel';

/**
 * CPU kernels of the 'fused' family. A fused program becomes one ElementwiseProgram: runElementwise
 * compiles it to a single loop over the output with each statement's scalar expression inlined and
 * intermediates rounded to their dtype, so no intermediate tensor exists and the numbers equal the
 * unfused ops'.
 */

/** Storage rounding of a bool intermediate (a Uint8Array store); runElementwise rounds the others. */
const asStored = (js: string, dtype: DType): string => (dtype === 'bool' ? `((${js}) & 255)` : js);

const compiled = new WeakMap<object, Map<string, ElementwiseProgram>>();

/** The ElementwiseProgram of `attrs[key]` for these input types, built once per node and dtype signature. */
function elementwiseProgram(attrs: Attrs, key: string, inputs: TensorValue[], where: string): ElementwiseProgram {
  let byTypes = compiled.get(attrs);
  if (!byTypes) compiled.set(attrs, (byTypes = new Map()));
  const sig = inputs.map((i) => `${i.dtype}${i.shape.length}`).join(',');
  let program = byTypes.get(sig);
  if (program) return program;
  const statements = programOf(attrs, key, where);
  const steps = inferProgram(statements, inputs, where);
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
  };
  byTypes.set(sig, program);
  return program;
}

const whereOf = (op: string, name: string): string => `op '${op}' (node '${name}'): `;

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
 * Anchor + epilogue: the anchor's kernel writes its result into this node's output buffer, then the
 * epilogue runs in place over that buffer with the extra inputs broadcast. One kernel launch, one
 * output tensor, no intermediate: the bias, activation and residual never exist as tensors.
 */
function anchorWithEpilogue(fusedOp: string): CpuKernel {
  const anchor = anchorOf(fusedOp)!;
  const count = anchorInputCount(fusedOp)!;
  return (inputs, attrs, ctx) => {
    const kernel = getCpuKernel(anchor);
    if (!kernel) throw new GraphcError(`${whereOf(fusedOp, ctx.node.name)}the cpu backend has no kernel for '${anchor}'`);
    const [acc] = kernel(inputs.slice(0, count), anchorAttrs(attrs), ctx);
    if (attrs.epilogue === undefined) return [acc];
    const epilogueInputs = [acc, ...inputs.slice(count)];
    const program = elementwiseProgram(attrs, 'epilogue', epilogueInputs, whereOf(fusedOp, ctx.node.name));
    runElementwise(program, epilogueInputs, acc.shape, acc.data);
    return [acc];
  };
}

/** Rows of C per GEMM call in fusedMatmul: the block is still in cache when its epilogue runs. */
const EPILOGUE_ROWS = 64;
let packedScratch = new Float64Array(0);

/**
 * An epilogue input viewed for rows [i0, i0 + rows) of an [m, n] result: a per-column vector as it
 * is, a full [m, n] or per-row [m, 1] tensor as its rows; undefined when it broadcasts otherwise.
 */
function rowBlock(t: TensorValue, m: number, n: number, i0: number, rows: number): TensorValue | undefined {
  const s = t.shape;
  const lead = s.slice(0, -1);
  if (s.length <= 1 || lead.every((d) => d === 1)) return t;
  if (s.length !== 2 || s[0] !== m) return undefined;
  if (s[1] === n) return { dtype: t.dtype, shape: [rows, n], data: t.data.subarray(i0 * n, (i0 + rows) * n) };
  if (s[1] === 1) return { dtype: t.dtype, shape: [rows, 1], data: t.data.subarray(i0, i0 + rows) };
  return undefined;
}

/**
 * matmul + epilogue for 2-D operands in one pass: B is packed once, then each block of 64 rows of
 * C is multiplied and immediately run through the epilogue while it is in cache. Batched products
 * and epilogue inputs that broadcast across rows in other ways take the general path.
 */
const generalMatmul = anchorWithEpilogue('fusedMatmul');
const fusedMatmul: CpuKernel = (inputs, attrs, ctx) => {
  const [a, b, ...extras] = inputs;
  if (attrs.epilogue === undefined || a.shape.length !== 2 || b.shape.length !== 2) return generalMatmul(inputs, attrs, ctx);
  const ta = attrs.transposeA === true;
  const tb = attrs.transposeB === true;
  const [m, k] = ta ? [a.shape[1], a.shape[0]] : a.shape;
  const n = tb ? b.shape[0] : b.shape[1];
  if (m === 0 || n === 0 || k === 0 || !extras.every((e) => rowBlock(e, m, n, 0, Math.min(m, EPILOGUE_ROWS)))) {
    return generalMatmul(inputs, attrs, ctx);
  }
  const out = ctx.alloc(a.dtype, [m, n]);
  const size = packedBSize(k, n);
  if (packedScratch.length < size) packedScratch = new Float64Array(size);
  const pb = packMatrixB(k, n, { data: b.data, offset: 0, rowStride: tb ? 1 : n, colStride: tb ? k : 1 }, packedScratch);
  const where = whereOf('fusedMatmul', ctx.node.name);
  const program = elementwiseProgram(attrs, 'epilogue', [out, ...extras], where);
  for (let i0 = 0; i0 < m; i0 += EPILOGUE_ROWS) {
    const rows = Math.min(EPILOGUE_ROWS, m - i0);
    const aView = { data: a.data, offset: ta ? i0 : i0 * k, rowStride: ta ? 1 : k, colStride: ta ? m : 1 };
    gemmPacked(rows, n, k, aView, pb, out.data, i0 * n);
    const block = out.data.subarray(i0 * n, (i0 + rows) * n);
    const blockInputs = [{ dtype: out.dtype, shape: [rows, n], data: block }, ...extras.map((e) => rowBlock(e, m, n, i0, rows)!)];
    runElementwise(program, blockInputs, [rows, n], block);
  }
  return [out];
};

for (const def of registeredOps()) {
  if (def.family !== 'fused' || !anchorOf(def.name)) continue;
  registerCpuKernel(def.name, def.name === 'fusedMatmul' ? fusedMatmul : anchorWithEpilogue(def.name));
}
