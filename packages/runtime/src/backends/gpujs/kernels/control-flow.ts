import { registerGpujsUnsupported } from '../program';

// A whileLoop or cond runs a graph function, as many times as values decide: no fixed-size gpu.js
// kernel can. The session stages at them and the cpu runs the function (runtime/src/staged.ts).
for (const op of ['whileLoop', 'cond']) {
  registerGpujsUnsupported(op, 'it runs a graph function (loop body or branch) a number of times values decide: the session evaluates it on the cpu between two gpujs stages (runtime/src/staged.ts)');
}
