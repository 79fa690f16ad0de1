import { GraphError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import { registerOp } from '../../registry';

/**
 * Custom gradients (tf.custom_gradient, tf.customGrad): a value computed by ordinary ops whose
 * gradient with respect to chosen inputs is what a function gives, not what flows back through
 * those ops. The graph holds a 'customGradient' node: input 0 the value, passed through (an alias,
 * no copy), inputs 1.. the xs, attr `gradient` the name its function is registered under. Autodiff
 * calls that function with the gradient of the node's output; nothing flows into the value's own ops
 * from here. The function lives in this process: a graph saved and loaded elsewhere names it, and
 * that process registers it again (registerCustomGradient) before differentiating through the node.
 */

/** The gradients of a custom-gradient node's xs (null: none), from the gradient `dy` of its output. */
export type CustomGradientFunction = (dy: SymbolicTensor, context: { xs: SymbolicTensor[]; y: SymbolicTensor }) => SymbolicTensor | (SymbolicTensor | null)[];

const functions = new Map<string, CustomGradientFunction>();
let calls = 0;

/** Registers `fn` as the gradient of the customGradient nodes whose attr `gradient` is `name`. */
export function registerCustomGradient(name: string, fn: CustomGradientFunction): void {
  if (!name) throw new GraphError('registerCustomGradient: the name is empty');
  const known = functions.get(name);
  if (known && known !== fn) throw new GraphError(`registerCustomGradient: '${name}' is registered already, with another function`);
  functions.set(name, fn);
}

/** The function registered as `name`, if any. */
export function customGradientFunction(name: string): CustomGradientFunction | undefined {
  return functions.get(name);
}

registerOp({
  name: 'customGradient',
  family: 'control',
  numInputs: 'variadic',
  aliasesInput: true,
  nonDifferentiableInputs: [0],
  infer: (ctx) => {
    if (ctx.inputs.length < 1) throw new GraphError(`${ctx.where}needs its value as input 0`);
    if (typeof ctx.attrs.gradient !== 'string' || ctx.attrs.gradient === '') throw new GraphError(`${ctx.where}attr 'gradient' must name a registered gradient function`);
    return [{ ...ctx.inputs[0] }];
  },
});

/**
 * customGradient(f): a function of xs whose value is f(...xs).value and whose gradient with respect
 * to each x is f(...xs).gradient(dy)'s entry for it (null: no gradient), as tf.customGrad. The
 * gradient function may use any tensor f built (it closes over them). `name` prefixes the names its
 * calls register (`name/1`, `name/2`, ...); give one to register the same functions again in a
 * process that loads the saved graph.
 */
export function customGradient(
  f: (...xs: SymbolicTensor[]) => { value: SymbolicTensor; gradient: (dy: SymbolicTensor) => SymbolicTensor | (SymbolicTensor | null)[] },
  options: { name?: string } = {},
): (...xs: TensorLike[]) => SymbolicTensor {
  return (...args) => {
    const graph = graphOf(args);
    const xs = args.map((a) => toSymbolic(graph, a));
    const { value, gradient } = f(...xs);
    const name = `${options.name ?? 'customGradient'}/${++calls}`;
    registerCustomGradient(name, (dy) => gradient(dy));
    return graph.addNode('customGradient', [value, ...xs], { gradient: name }, { name: options.name }).output(0);
  };
}
