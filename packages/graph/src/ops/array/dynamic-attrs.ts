import { GraphError } from '../../errors';
import type { Attrs, InferContext, OutputInfo } from '../../opdef';
import { registerOp } from '../../registry';
import type { TensorValue } from '../../tensor';

/**
 * The most elements one tensor may have when its size comes from a model's data (an ONNX shape
 * input, a declared dimension): 2^28, a 1 GiB float32 tensor. Bigger is taken for a hostile or broken
 * file and refused with a typed error before anything is allocated.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/**
 * How a `dynamicAttrs` node runs: the op it becomes, and that op's attrs computed from the values of
 * the node's parameter inputs (ONNX passes shapes, axes, pads, sizes as tensors; graphc ops take
 * them as attrs).
 */
export interface DynamicAttrsRule {
  /** The op run once the attrs are known. */
  target: string;
  /**
   * Attrs of `target` from the parameter values, the data inputs' types (concrete at run time,
   * possibly partial at build time) and the node's fixed attrs. Returns undefined when partial
   * shapes are not enough to decide (the node then stays dynamic).
   */
  attrs(params: TensorValue[], data: OutputInfo[], fixed: Attrs): Attrs | undefined;
  /** Output types while the parameters are unknown: dims that depend on them are null. */
  infer(data: OutputInfo[], params: OutputInfo[], fixed: Attrs, where: string): OutputInfo[];
}

const rules = new Map<string, DynamicAttrsRule>();

export function registerDynamicAttrsRule(name: string, rule: DynamicAttrsRule): void {
  if (rules.has(name)) throw new GraphError(`dynamicAttrs rule '${name}' is registered twice`);
  rules.set(name, rule);
}

export function getDynamicAttrsRule(name: unknown): DynamicAttrsRule {
  const rule = typeof name === 'string' ? rules.get(name) : undefined;
  if (!rule) throw new GraphError(`dynamicAttrs: unknown rule '${String(name)}'`);
  return rule;
}

/** Splits a dynamicAttrs node's inputs into data inputs and parameter inputs. */
export function dynamicAttrsSplit<T>(inputs: T[], attrs: Attrs): { data: T[]; params: T[] } {
  const n = Number(attrs.numData);
  return { data: inputs.slice(0, n), params: inputs.slice(n) };
}

/**
 * An op whose attrs are known only at run time: inputs are `numData` data inputs then parameter
 * inputs; `rule` (a registered DynamicAttrsRule) turns the parameter values into the attrs of its
 * target op, which then runs on the data inputs. Output shapes are unknown where they depend on the
 * parameters. Constant folding removes it whenever the parameters are constants.
 */
registerOp({
  name: 'dynamicAttrs',
  family: 'array',
  numInputs: 'variadic',
  infer: (ctx: InferContext) => {
    const rule = getDynamicAttrsRule(ctx.attrs.rule);
    const n = Number(ctx.attrs.numData);
    if (!Number.isInteger(n) || n < 0 || n > ctx.inputs.length) throw new GraphError(`${ctx.where}attr 'numData' must be between 0 and the input count`);
    const { data, params } = dynamicAttrsSplit(ctx.inputs, ctx.attrs);
    return rule.infer(data, params, ctx.attrs, ctx.where);
  },
  nonDifferentiableInputs: [],
});
