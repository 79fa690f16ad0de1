import { GraphError, GraphcError } from '../../errors';
import type { Attrs, InferContext, OutputInfo } from '../../opdef';
import { getOpDef, registerOp } from '../../registry';
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
  /**
   * Attrs to keep on a node whose parameters are known but whose data shapes are not yet enough to
   * decide (a Reshape by [0, 0, 8, 64] of an input of unknown batch and length): `infer` reads them
   * to keep the dims the parameters do fix.
   */
  hint?(params: TensorValue[]): Attrs;
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
 * What a dynamicAttrs node (attrs `attrs`) runs once its parameter values are known: the target op,
 * its attrs, and its output types on data inputs of types `data` (inferred as in a static graph).
 * Throws, naming `where`, when the rule cannot decide, the parameters are bad, or an output would
 * pass MAX_TENSOR_ELEMENTS. The cpu kernel runs it per run; the simplify pass once, where the
 * parameters have become constants.
 */
export function resolveDynamicAttrs(attrs: Attrs, params: TensorValue[], data: OutputInfo[], where: string): { target: string; attrs: Attrs; outputs: OutputInfo[] } {
  const rule = getDynamicAttrsRule(attrs.rule);
  const targetAttrs = rule.attrs(params, data, attrs);
  if (!targetAttrs) throw new GraphcError(`${where}cannot resolve attrs from its parameter inputs`);
  const outputs = getOpDef(rule.target).infer({ inputs: data, attrs: targetAttrs, where });
  for (const o of outputs) {
    const size = o.shape.reduce<number>((p, d) => p * (d ?? 1), 1);
    if (size > MAX_TENSOR_ELEMENTS) {
      throw new GraphcError(`${where}would make a tensor of ${size} elements, more than graphc allows in one tensor (${MAX_TENSOR_ELEMENTS})`);
    }
  }
  return { target: rule.target, attrs: targetAttrs, outputs };
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
