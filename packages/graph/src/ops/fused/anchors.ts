import { registerOp } from '../../registry';
import { inferWithEpilogue, registerEpilogueFusion } from './program';

/**
 * Ops that run an elementwise epilogue on their result inside the same kernel: the GEMM-based ops
 * (matmul + bias + activation, conv2d + bias + activation, a residual add, ...). Inputs are the
 * anchor's inputs followed by the epilogue's extra inputs; attrs are the anchor's plus `epilogue`,
 * a program (program.ts) whose input 0 is the anchor's result and input k the node's input
 * `anchorInputs + k - 1`.
 */
const ANCHORS: { anchor: string; fused: string; anchorInputs: number }[] = [
  { anchor: 'matmul', fused: 'fusedMatmul', anchorInputs: 2 },
  { anchor: 'conv2d', fused: 'fusedConv2d', anchorInputs: 2 },
  { anchor: 'depthwiseConv2d', fused: 'fusedDepthwiseConv2d', anchorInputs: 2 },
];

for (const { anchor, fused, anchorInputs } of ANCHORS) {
  registerOp({
    name: fused,
    family: 'fused',
    numInputs: 'variadic',
    infer: (ctx) => inferWithEpilogue(anchor, anchorInputs, ctx),
  });
  registerEpilogueFusion(anchor, fused);
}

/** How many leading inputs of a fused anchor op belong to the anchor itself. */
export function anchorInputCount(fusedOp: string): number | undefined {
  return ANCHORS.find((a) => a.fused === fusedOp)?.anchorInputs;
}

/** The anchor op a fused op wraps (fusedConv2d -> conv2d). */
export function anchorOf(fusedOp: string): string | undefined {
  return ANCHORS.find((a) => a.fused === fusedOp)?.anchor;
}
