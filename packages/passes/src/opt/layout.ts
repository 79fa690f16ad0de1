import { Rebuild } from '../rebuild';
import type { GraphPass } from './pass';

/**
 * Layout choices (O3): a matmul that reads a constant operand transposed gets the operand stored
 * transposed instead (`matmul(x, W, transposeB)` -> `matmul(x, transpose(W))`, which constant
 * folding turns into a new constant), so the GEMM packs contiguous rows rather than strided columns
 * on every run.
 */
export const layoutPass: GraphPass = {
  name: 'layout',
  run(graph) {
    const rb = new Rebuild(graph);
    let transposed = 0;
    for (const n of graph.nodes) {
      if (n.op !== 'matmul' || n.controlInputs.length > 0) {
        rb.copy(n);
        continue;
      }
      const inputs = n.inputs.map((t) => rb.tensor(t));
      const attrs = { ...n.attrs };
      (['transposeA', 'transposeB'] as const).forEach((flag, k) => {
        if (attrs[flag] !== true || inputs[k].node.op !== 'const') return;
        const r = inputs[k].rank;
        const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
        inputs[k] = rb.add('transpose', [inputs[k]], { perm }, `${n.name}/${k === 0 ? 'a' : 'b'}_transposed`).output(0);
        attrs[flag] = false;
        transposed++;
      });
      rb.copy(n, { inputs, attrs });
    }
    return { graph: transposed ? rb.finish() : graph, stats: { transposed } };
  },
};
