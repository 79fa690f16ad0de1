import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';

/**
 * shapeOf(x): x's dimensions [start, end) as an int64 vector (ONNX Shape). Folded to a constant when
 * the shape is known; at run time it reads the fed shape.
 */
registerOp({
  name: 'shapeOf',
  family: 'array',
  numInputs: 1,
  nonDifferentiableInputs: [0],
  infer: (ctx) => {
    const rank = ctx.inputs[0].shape.length;
    const { start, end } = shapeRange(rank, ctx.attrs.start, ctx.attrs.end);
    return [{ dtype: 'int64', shape: [Math.max(0, end - start)] }];
  },
});

/** ONNX Shape's start/end: negative counts from the end, both clamped to [0, rank]. */
export function shapeRange(rank: number, start: unknown, end: unknown): { start: number; end: number } {
  const clamp = (v: number): number => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  return { start: clamp(typeof start === 'number' ? start : 0), end: clamp(typeof end === 'number' ? end : rank) };
}

export function shapeOf(x: TensorLike, name?: string): SymbolicTensor {
  return apply1('shapeOf', [x], {}, name);
}
