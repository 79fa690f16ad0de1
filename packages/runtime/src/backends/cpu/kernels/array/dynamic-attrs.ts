import { GraphcError, OutputInfo, getOpDef, ops } from '@graphc/graph';
import { getCpuKernel, registerCpuKernel } from '../../kernel';

const { MAX_TENSOR_ELEMENTS, dynamicAttrsSplit, getDynamicAttrsRule } = ops;

/**
 * Runs a dynamicAttrs node: computes its target's attrs from the parameter values, infers the
 * target's output types on the concrete inputs (so the target kernel sees what it would in a
 * static graph), refuses outputs beyond MAX_TENSOR_ELEMENTS, and runs the target's kernel.
 */
registerCpuKernel('dynamicAttrs', (inputs, attrs, ctx) => {
  const rule = getDynamicAttrsRule(attrs.rule);
  const { data, params } = dynamicAttrsSplit(inputs, attrs);
  const where = `op '${rule.target}' (node '${ctx.node.name}'): `;
  const infos: OutputInfo[] = data.map((d) => ({ dtype: d.dtype, shape: d.shape }));
  const targetAttrs = rule.attrs(params, infos, attrs);
  if (!targetAttrs) throw new GraphcError(`${where}cannot resolve attrs from its parameter inputs`);
  const outputs = getOpDef(rule.target).infer({ inputs: infos, attrs: targetAttrs, where });
  if (outputs.length !== ctx.node.outputs.length) {
    throw new GraphcError(`${where}its parameters ask for ${outputs.length} outputs; the node has ${ctx.node.outputs.length}`);
  }
  for (const o of outputs) {
    const size = o.shape.reduce<number>((p, d) => p * (d ?? 1), 1);
    if (size > MAX_TENSOR_ELEMENTS) {
      throw new GraphcError(`${where}would make a tensor of ${size} elements, more than graphc allows in one tensor (${MAX_TENSOR_ELEMENTS})`);
    }
  }
  const kernel = getCpuKernel(rule.target);
  if (!kernel) throw new GraphcError(`${where}has no cpu kernel`);
  return kernel(data, targetAttrs, { ...ctx, outputs });
});
