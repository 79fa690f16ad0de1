import { Fetchable, Graph, Node, SymbolicTensor, TensorLike, getDefaultGraph } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';

/** Does nothing; with control inputs it stands for "all of these have run". */
registerOp({ name: 'noOp', family: 'control', numInputs: 0, stateful: true, infer: () => [] });

/** Passes its input through; a place to hang control dependencies or a name. */
registerOp({
  name: 'identity',
  family: 'control',
  numInputs: 1,
  aliasesInput: true,
  infer: (ctx) => [{ ...ctx.inputs[0] }],
});

/** Identity forward, zero gradient backward (tf.stop_gradient). */
registerOp({
  name: 'stopGradient',
  family: 'control',
  numInputs: 1,
  aliasesInput: true,
  infer: (ctx) => [{ ...ctx.inputs[0] }],
});

export function identity(x: TensorLike, name?: string): SymbolicTensor {
  return apply1('identity', [x], {}, name);
}

export function stopGradient(x: TensorLike, name?: string): SymbolicTensor {
  return apply1('stopGradient', [x], {}, name);
}

export function noOp(name?: string, graph?: Graph): Node {
  return (graph ?? getDefaultGraph()).addNode('noOp', [], {}, { name });
}

/** One op that runs all of `deps` (tf.group). */
export function group(deps: Fetchable[], name?: string): Node {
  const nodes = deps.map((d) => (d instanceof Node ? d : d.node));
  const graph = nodes[0]?.graph ?? getDefaultGraph();
  return graph.addNode('noOp', [], {}, { name: name ?? 'group', controlInputs: nodes });
}

/** Runs `fn` so that every node it creates waits for `deps` (tf.control_dependencies). */
export function controlDependencies<T>(deps: Fetchable[], fn: () => T): T {
  const first = deps[0];
  const graph = first ? (first instanceof Node ? first.graph : first.graph) : getDefaultGraph();
  return graph.controlDependencies(deps, fn);
}
