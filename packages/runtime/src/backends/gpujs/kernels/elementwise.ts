import { Attrs, DType, getOpDef } from '@graphc/graph';
import { bindArgs, elementwiseExpr } from '../helpers';
import { LowerContext, TensorRef, broadcastRead, registerGpujsFallback, registerGpujsKernel } from '../program';

/**
 * Elementwise ops: every op with an `elementwise` expression gets a kernel generated from it (one
 * output element per thread, inputs broadcast by index arithmetic), and a fused program becomes one
 * kernel whose statements are locals: no intermediate tensor exists.
 */

/** Statements reading each input (broadcast to `shape`) into locals `v0, v1, ...`. */
export function readInputs(inputs: TensorRef[], names: string[], shape: number[], locals: string[]): string {
  let code = '';
  inputs.forEach((t, k) => {
    const read = broadcastRead(t.shape, shape, `c${k}_`);
    code += `${read.code}const ${locals[k]} = ${names[k]}[${read.index}];\n`;
  });
  return code;
}

/** Output shape of numpy broadcasting of concrete shapes. */
export function broadcastShape(shapes: number[][]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) s.forEach((d, i) => (d !== 1 ? (out[rank - s.length + i] = d) : undefined));
  return out;
}

registerGpujsFallback(
  (op) => getOpDef(op).elementwise !== undefined,
  (ctx) => {
    const out = ctx.outputs[0];
    const expr = elementwiseExpr(ctx.node.op, ctx.attrs, ctx.inputs[ctx.inputs.length - 1].dtype);
    return [
      ctx.kernel(out.shape, out.dtype, ctx.inputs, (names) => {
        const locals = ctx.inputs.map((_, k) => `v${k}`);
        return `${readInputs(ctx.inputs, names, out.shape, locals)}return ${bindArgs(expr, locals)};`;
      }),
    ];
  },
);

/**
 * An anchor op (matmul, conv2d, ...) as code over the output flat index `i`: statements that leave
 * the output element in `acc`. Its own kernel and its fused forms with an epilogue share it.
 */
export interface AnchorCode {
  args: TensorRef[];
  code(names: string[]): string;
}

export type AnchorLowering = (ctx: LowerContext, inputs: TensorRef[], attrs: Attrs, out: { dtype: DType; shape: number[] }) => AnchorCode;

const anchors = new Map<string, AnchorLowering>();

/** Registers an anchor op's kernel; fused.ts builds the anchor + epilogue kernels from the same code. */
export function registerAnchorKernel(op: string, lower: AnchorLowering): void {
  anchors.set(op, lower);
  registerGpujsKernel(op, (ctx) => {
    const out = ctx.outputs[0];
    const a = lower(ctx, ctx.inputs, ctx.attrs, out);
    return [ctx.kernel(out.shape, out.dtype, a.args, (names) => `${a.code(names)}return acc;`)];
  });
}

export function anchorLowering(op: string): AnchorLowering | undefined {
  return anchors.get(op);
}
