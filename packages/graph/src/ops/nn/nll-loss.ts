import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { applyOp } from '../builder';
import { requireDType, requireFloat } from '../infer-helpers';

/**
 * nllLoss(input, target, weight?): negative log-likelihood of class `target` in log-probabilities
 * `input` [N, C, d1, ...] (ONNX NegativeLogLikelihoodLoss, torch.nn.NLLLoss): per element
 * `-input[n, target, d] * weight[target]`; targets equal to `ignoreIndex` count 0 with weight 0.
 * `reduction` 'none' keeps [N, d1, ...]; 'sum'; 'mean' divides by the total weight.
 */
registerOp({
  name: 'nllLoss',
  family: 'nn',
  numInputs: 'variadic',
  nonDifferentiableInputs: [1],
  infer: (ctx) => {
    if (ctx.inputs.length < 2 || ctx.inputs.length > 3) throw new ShapeError(`${ctx.where}takes input, target and an optional weight`);
    const dtype = requireFloat(ctx, 0);
    requireDType(ctx, 1, ['int32', 'int64']);
    const x = ctx.inputs[0].shape;
    const t = ctx.inputs[1].shape;
    const expect = [x[0], ...x.slice(2)];
    if (x.length < 2 || t.length !== expect.length || !t.every((d, i) => d === null || expect[i] === null || d === expect[i])) {
      throw new ShapeError(`${ctx.where}target ${shapeToString(t)} must be input ${shapeToString(x)} without its class dimension`);
    }
    if (ctx.inputs[2] && (ctx.inputs[2].shape.length !== 1 || ctx.inputs[2].dtype !== dtype)) throw new ShapeError(`${ctx.where}weight must be a ${dtype} vector [C]`);
    const reduction = String(ctx.attrs.reduction ?? 'mean');
    if (!['none', 'sum', 'mean'].includes(reduction)) throw new ShapeError(`${ctx.where}reduction '${reduction}' is not none, sum or mean`);
    return [{ dtype, shape: reduction === 'none' ? expect.map((d, i) => d ?? t[i]) : [] }];
  },
});

export function nllLoss(
  input: TensorLike,
  target: TensorLike,
  weight?: TensorLike | null,
  options: { reduction?: 'none' | 'sum' | 'mean'; ignoreIndex?: number } = {},
  name?: string,
): SymbolicTensor {
  const g = graphOf([input, target]);
  const inputs = [toSymbolic(g, input), toSymbolic(g, target, 'int64')];
  if (weight !== undefined && weight !== null) inputs.push(toSymbolic(g, weight, inputs[0].dtype));
  const attrs: Record<string, string | number | null> = { reduction: options.reduction ?? 'mean', ignoreIndex: options.ignoreIndex ?? null };
  return applyOp('nllLoss', inputs, attrs, name, g).output(0);
}
