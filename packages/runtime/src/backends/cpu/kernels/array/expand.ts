import { broadcastShapes } from '@graphc/graph';
import { runElementwise } from '../../elementwise';
import { registerCpuKernel } from '../../kernel';

/** expand: a broadcast copy (the elementwise loop with the identity expression). */
registerCpuKernel('expand', ([x], attrs, ctx) => {
  const shape = broadcastShapes(x.shape, attrs.shape as number[], `op 'expand' (node '${ctx.node.name}'): `) as number[];
  const out = ctx.alloc(x.dtype, shape);
  runElementwise({ inputDTypes: [x.dtype], statements: [{ js: 'a', args: [{ input: 0 }], dtype: x.dtype }] }, [x], shape, out.data);
  return [out];
});
