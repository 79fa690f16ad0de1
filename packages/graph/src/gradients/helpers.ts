import type { DType } from '../dtype';
import type { SymbolicTensor } from '../graph';
import type { Node } from '../graph';
import { broadcastReduces, sumToShapeOf } from '../ops/math/broadcast-gradient';
import { tensor } from '../tensor';

/**
 * The gradient of input `index` of a broadcasting op: `grad` (shaped as the op's output) summed back
 * to that input's shape, or `grad` itself when broadcasting provably did not expand the input.
 */
export function unbroadcast(grad: SymbolicTensor, node: Node, index: number): SymbolicTensor {
  const input = node.inputs[index];
  const others = node.inputs.filter((_, i) => i !== index).map((t) => t.shape);
  if (!broadcastReduces(input.shape, grad.shape, others)) return grad;
  return sumToShapeOf(grad, input);
}

/** A scalar constant of `dtype` in the graph of `like`. */
export function scalarOf(like: SymbolicTensor, value: number, dtype: DType = like.dtype): SymbolicTensor {
  return like.graph.constant(tensor([value], [], dtype));
}
