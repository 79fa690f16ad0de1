import { GraphcError, TensorValue } from '@graphc/graph';
import { constValue, def, variableBehind } from '../analysis';
import { Rebuild } from '../rebuild';
import type { Graph } from '@graphc/graph';

/**
 * Freezes variables into constants (TensorFlow's freeze_graph): each variable with a value in
 * `values` (else a constant initial value) becomes a `const` of it, under the same name, and its
 * initializer goes. A frozen
 * inference graph lets constant folding reach the weights (conv+batchnorm folding then folds into
 * the conv's weights). A variable that some op other than its initializer writes cannot be frozen.
 */
export function freezeVariables(graph: Graph, values: Map<string, TensorValue>): { graph: Graph; frozen: string[] } {
  const initializers = new Set(graph.variableInitializers.values());
  const valueOf = (name: string): TensorValue | undefined => {
    const saved = values.get(name);
    if (saved) return saved;
    // never saved: the value its initializer assigns, when that is a constant
    const init = graph.variableInitializers.get(name);
    return init && init.inputs[1] ? constValue(init.inputs[1]) : undefined;
  };
  const frozen = graph.nodes.filter((n) => n.op === 'variable' && valueOf(n.name)).map((n) => n.name);
  const frozenSet = new Set(frozen);
  for (const n of graph.nodes) {
    if (initializers.has(n) || !def(n).stateful) continue;
    const writes = n.inputs.some((t) => frozenSet.has(variableBehind(t)?.name ?? ''));
    if (writes) throw new GraphcError(`cannot freeze: '${n.name}' (${n.op}) writes a variable; freeze inference graphs only`);
  }
  const rb = new Rebuild(graph);
  for (const n of graph.nodes) {
    if (initializers.has(n) && frozenSet.has(n.inputs[0]?.node.name)) {
      rb.replace(n, n.outputs.map(() => rb.tensor(n.inputs[0])), []);
      continue;
    }
    if (n.op === 'variable' && frozenSet.has(n.name)) {
      const value = valueOf(n.name)!;
      rb.replace(n, [rb.add('const', [], { value }, n.name).output(0)]);
      continue;
    }
    rb.copy(n);
  }
  const out = rb.finish();
  for (const v of frozen) out.variableInitializers.delete(v);
  return { graph: out, frozen };
}
