import type { Node, TensorValue, TypedArray } from '@graphc/graph';
import type { ConstantEvaluator } from '@graphc/passes';

/**
 * Constant folding remembered across a session's plans. Each plan (one per feed shape) optimizes
 * the graph afresh, and folds the same weights the same way: an ONNX model's batch norms into its
 * convolutions, its filters into graphc's layout. Folded again, every plan would hold its own copy
 * of the model's weights (a 100 MB model fed 16 shapes: 1.6 GB) and pay the folding each time.
 * Remembered, a fold of the same op, attributes and input arrays returns the same arrays, which the
 * plans then share.
 *
 * A result is held weakly: once no plan holds it (they were evicted), it can be collected, and a
 * plan that folds it again computes it again. Nodes whose attributes are not plain data (tensors,
 * functions) are folded without remembering.
 */
export function rememberingEvaluator(evaluate: ConstantEvaluator): ConstantEvaluator {
  const ids = new WeakMap<TypedArray, number>();
  let nextId = 0;
  const idOf = (data: TypedArray): number => {
    let id = ids.get(data);
    if (id === undefined) ids.set(data, (id = nextId++));
    return id;
  };
  // each output held weakly by itself: a plan's const node holds the value, not the array of them
  const results = new Map<string, WeakRef<TensorValue>[]>();
  const forget = new FinalizationRegistry<string>((key) => {
    if (results.get(key)?.some((r) => !r.deref())) results.delete(key);
  });
  return (node: Node, inputs: TensorValue[]): TensorValue[] => {
    const attrs = plainAttrs(node);
    if (attrs === undefined) return evaluate(node, inputs);
    const key = [
      node.op,
      attrs,
      inputs.map((v) => `${v.dtype}[${v.shape}]#${idOf(v.data)}`).join(','),
      node.outputs.map((o) => `${o.dtype}[${o.shape}]`).join(','),
    ].join('|');
    const known = results.get(key)?.map((r) => r.deref());
    if (known?.every((v) => v !== undefined)) return known as TensorValue[];
    // a result that is a view of an input (a reshape) is copied, as constant folding would
    const fresh = evaluate(node, inputs).map((v) =>
      inputs.some((i) => i.data.buffer === v.data.buffer) ? { dtype: v.dtype, shape: [...v.shape], data: v.data.slice() } : v,
    );
    results.set(key, fresh.map((v) => new WeakRef(v)));
    for (const v of fresh) forget.register(v, key);
    return fresh;
  };
}

/** The node's attributes as JSON, or undefined where one is not plain data (a tensor, a function, a typed array). */
function plainAttrs(node: Node): string | undefined {
  let plain = true;
  const json = JSON.stringify(node.attrs, (_key, value: unknown) => {
    if (typeof value !== 'function' && !ArrayBuffer.isView(value) && typeof value !== 'bigint') return value;
    plain = false;
    return null; // not serialized: the node is folded without remembering
  });
  return plain ? json : undefined;
}
