import { DType } from '../../dtype';
import { GraphError, ShapeError } from '../../errors';
import type { AttrValue } from '../../graph';
import type { Attrs, InferContext, OutputInfo } from '../../opdef';
import { getOpDef, hasOp } from '../../registry';
import { shapeToString, shapesEqual } from '../../shape';

/**
 * The fused description every backend generates code from: a list of elementwise statements, each
 * naming a registered elementwise op, its attrs, and where its arguments come from. The CPU backend
 * builds one loop from the ops' `elementwise.js`, WebGPU one shader from their `elementwise.wgsl`.
 *
 * ```json
 * [ { "op": "add",  "attrs": {}, "args": [{ "input": 0 }, { "input": 1 }] },
 *   { "op": "gelu", "attrs": { "approximate": false }, "args": [{ "step": 0 }] } ]
 * ```
 * The last statement is the result. Statements are plain JSON, so fused nodes save in model.json.
 */
export type FusedRef = { input: number } | { step: number };

export interface FusedStatement {
  op: string;
  attrs: Attrs;
  args: FusedRef[];
}

export type FusedProgram = FusedStatement[];

/** A program as an attr value (attrs are JSON; statements are objects of JSON). */
export function programAttr(program: FusedProgram): AttrValue {
  return program.map((s) => ({ op: s.op, attrs: s.attrs, args: s.args.map((r) => ({ ...r })) })) as unknown as AttrValue;
}

const isRef = (r: unknown): r is FusedRef =>
  typeof r === 'object' &&
  r !== null &&
  ((Number.isInteger((r as { input?: number }).input) && (r as { input: number }).input >= 0) ||
    (Number.isInteger((r as { step?: number }).step) && (r as { step: number }).step >= 0));

/** Reads and checks the program in `attrs[key]` (it may come from a file: every field is checked). */
export function programOf(attrs: Attrs, key: string, where: string): FusedProgram {
  const raw = attrs[key] as unknown;
  if (!Array.isArray(raw) || raw.length === 0) throw new GraphError(`${where}attr '${key}' must be a non-empty list of statements`);
  raw.forEach((s, i) => {
    const st = s as Partial<FusedStatement>;
    if (typeof st !== 'object' || st === null || typeof st.op !== 'string' || !Array.isArray(st.args) || !st.args.every(isRef)) {
      throw new GraphError(`${where}statement ${i} of '${key}' must be { op, attrs, args: [{ input } | { step }] }`);
    }
    if (st.attrs !== undefined && (typeof st.attrs !== 'object' || st.attrs === null || Array.isArray(st.attrs))) {
      throw new GraphError(`${where}statement ${i} of '${key}' has attrs that are not an object`);
    }
    if (!hasOp(st.op) || !getOpDef(st.op).elementwise) {
      throw new GraphError(`${where}statement ${i} of '${key}' uses '${st.op}', which is not an elementwise op`);
    }
    for (const r of st.args) {
      if ('step' in r && r.step >= i) throw new GraphError(`${where}statement ${i} of '${key}' reads step ${r.step}, which is not computed before it`);
    }
  });
  return (raw as FusedStatement[]).map((s) => ({ op: s.op, attrs: s.attrs ?? {}, args: s.args }));
}

/**
 * Infers every statement's dtype and shape by the ops' own inference over `inputs`; the last entry
 * is the program's result. Every input must be read by some statement, and every statement must
 * feed the result or be one of `results` (the further values a multi-output kernel stores).
 */
export function inferProgram(program: FusedProgram, inputs: OutputInfo[], where: string, results: readonly number[] = []): OutputInfo[] {
  const steps: OutputInfo[] = [];
  const used = new Set<number>();
  const usedSteps = new Set<number>(results);
  program.forEach((s, i) => {
    const def = getOpDef(s.op);
    if (def.numInputs !== s.args.length) {
      throw new GraphError(`${where}statement ${i} ('${s.op}') has ${s.args.length} arguments, the op takes ${String(def.numInputs)}`);
    }
    const args = s.args.map((r) => {
      if ('input' in r) {
        if (r.input >= inputs.length) throw new GraphError(`${where}statement ${i} ('${s.op}') reads input ${r.input} of ${inputs.length}`);
        used.add(r.input);
        return inputs[r.input];
      }
      if (!(r.step >= 0 && r.step < i)) throw new GraphError(`${where}statement ${i} ('${s.op}') reads step ${r.step}, not an earlier statement`);
      usedSteps.add(r.step);
      return steps[r.step];
    });
    const ctx: InferContext = { inputs: args, attrs: s.attrs, where: `${where}statement ${i} ('${s.op}'): ` };
    steps.push(def.infer(ctx)[0]);
  });
  if (used.size !== inputs.length) throw new GraphError(`${where}the program reads ${used.size} of its ${inputs.length} inputs`);
  // every statement feeds the result: a dead one would make kernels disagree on the output's extent
  const dead = steps.findIndex((_, i) => i < steps.length - 1 && !usedSteps.has(i));
  if (dead >= 0) throw new GraphError(`${where}statement ${dead} ('${program[dead].op}') is never read`);
  return steps;
}

/** The dtype an op's scalar expression is specialized for: that of its last argument (as the generated kernels do). */
export function exprDType(statement: FusedStatement, inputs: { dtype: DType }[], steps: { dtype: DType }[]): DType {
  const last = statement.args[statement.args.length - 1];
  return 'input' in last ? inputs[last.input].dtype : steps[last.step].dtype;
}

const epilogueFusions = new Map<string, string>();

/**
 * Declares that `fusedOp` is `anchorOp` followed by an elementwise epilogue in the same kernel
 * (matmul -> fusedMatmul). The fusion pass asks here; it never names anchors itself.
 */
export function registerEpilogueFusion(anchorOp: string, fusedOp: string): void {
  epilogueFusions.set(anchorOp, fusedOp);
}

/** The fused variant of `op` that takes an epilogue, if one is registered. */
export function epilogueFusionOf(op: string): string | undefined {
  return epilogueFusions.get(op);
}

/**
 * Inference of an anchor + epilogue op: the anchor's own inference over inputs [0, anchorInputs),
 * then the epilogue with input 0 bound to the anchor's result and input k to node input
 * anchorInputs + k - 1. The epilogue runs in place on the anchor's output, so it keeps its type.
 */
export function inferWithEpilogue(anchorOp: string, anchorInputs: number, ctx: InferContext): OutputInfo[] {
  const { epilogue, ...anchorAttrs } = ctx.attrs;
  const [anchorOut] = getOpDef(anchorOp).infer({ inputs: ctx.inputs.slice(0, anchorInputs), attrs: anchorAttrs, where: ctx.where });
  if (epilogue === undefined) return [anchorOut];
  const program = programOf(ctx.attrs, 'epilogue', ctx.where);
  const steps = inferProgram(program, [anchorOut, ...ctx.inputs.slice(anchorInputs)], ctx.where);
  const out = steps[steps.length - 1];
  if (out.dtype !== anchorOut.dtype || !shapesEqual(out.shape, anchorOut.shape)) {
    throw new ShapeError(
      `${ctx.where}the epilogue must keep the ${anchorOp} result's type ${anchorOut.dtype} ${shapeToString(anchorOut.shape)}, got ${out.dtype} ${shapeToString(out.shape)}`,
    );
  }
  return [anchorOut];
}
