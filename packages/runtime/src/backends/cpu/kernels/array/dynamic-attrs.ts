import { GraphcError, OutputInfo, ops } from '@graphc/graph';
import { getCpuKernel, registerCpuKernel } from '../../kernel';

const { dynamicAttrsSplit, getDynamicAttrsRule, resolveDynamicAttrs } = ops;

/**
 * Runs a dynamicAttrs node: computes its target's attrs from the parameter values, infers the
 * target's output types on the concrete inputs (so the target kernel sees what it would in a
 * static graph), refuses outputs beyond MAX_TENSOR_ELEMENTS (resolveDynamicAttrs), and runs the
 * target's kernel.
 */
registerCpuKernel('dynamicAttrs', (inputs, attrs, ctx) => {
  const where = `op '${getDynamicAttrsRule(attrs.rule).target}' (node '${ctx.node.name}'): `;
  const { data, params } = dynamicAttrsSplit(inputs, attrs);
  const infos: OutputInfo[] = data.map((d) => ({ dtype: d.dtype, shape: d.shape }));
  const { target, attrs: targetAttrs, outputs } = resolveDynamicAttrs(attrs, params, infos, where);
  if (outputs.length !== ctx.node.outputs.length) {
    throw new GraphcError(`${where}its parameters ask for ${outputs.length} outputs; the node has ${ctx.node.outputs.length}`);
  }
  const kernel = getCpuKernel(target);
  if (!kernel) throw new GraphcError(`${where}has no cpu kernel`);
  return kernel(data, targetAttrs, { ...ctx, outputs });
});
