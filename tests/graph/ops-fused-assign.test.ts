import { FusedRef, FusedStatement, Graph, GraphError, Session, ShapeError, TensorValue, evaluateNode, initializeFromModel, modelFromBytes, ops, optimizeGraph, serializeGraph, tensor, train } from 'graphc';

const step = (op: string, args: FusedRef[]): FusedStatement => ({ op, attrs: {}, args });

describe('fusedAssign', () => {
  test('checks its program and updates, naming the node', () => {
    const g = new Graph();
    const w = g.variable(tensor([1, 2, 3], [3]), 'w');
    const m = g.variable(tensor([0, 0, 0], [3]), 'm');
    const short = g.variable(tensor([0, 0], [2]), 'short');
    const x = g.placeholder('float32', [3], 'x');
    const program = [step('add', [{ input: 1 }, { input: 2 }]), step('sub', [{ input: 0 }, { step: 0 }])];
    expect(ops.fusedAssign(w, [m, x], program, [{ input: 1, step: 0 }]).map((t) => t.shape)).toEqual([[3], [3]]);
    // the program must read the old value (input 0)
    expect(() => ops.fusedAssign(w, [x], [step('neg', [{ input: 1 }])], [], 'noRead')).toThrow(/noRead.*reads 1 of its 2 inputs/);
    expect(() => ops.fusedAssign(w, [m, x], program, [{ input: 0, step: 0 }], 'zero')).toThrow(GraphError);
    expect(() => ops.fusedAssign(w, [m, x], program, [{ input: 1, step: 7 }], 'far')).toThrow(/'far'.*updates/);
    expect(() => ops.fusedAssign(w, [short, x], [step('sub', [{ input: 0 }, { input: 2 }]), step('add', [{ input: 1 }, { step: 0 }])], [{ input: 1, step: 1 }], 'shapes')).toThrow(ShapeError);
    expect(() => ops.fusedAssign(w, [x, m], program, [{ input: 1, step: 0 }])).toThrow(/first argument must be a variable/);
  });

  test("an optimized training graph with chained updates saves to model.json, loads and trains as the original", async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 3], 'x');
    const W = g.variable(tensor([0.5, -1, 0.25, 2, 1, -0.5], [3, 2]), 'W');
    const loss = ops.mean(ops.square(ops.matmul(x, W)), undefined, false, 'loss');
    const trainOp = new train.Adam(0.05).minimize(loss, { name: 'train' });
    // the initializer is kept, so the optimized graph still declares its variables' initial values
    const init = g.globalVariablesInitializer();
    const { graph } = optimizeGraph(g, { level: 2, keep: new Set(['x', 'loss', trainOp.name, init.name]), evaluate: evaluateNode });
    expect(graph.nodes.filter((n) => n.op === 'fusedAssign' && n.attrs.updates).length).toBe(1);
    const original = new Session(g, { optimize: 0 });
    await original.run(init);
    const initial = new Map<string, TensorValue>();
    for (const name of original.variables.names()) initial.set(name, await original.variables.read(name));
    const { json, weights } = serializeGraph(graph, initial);
    const loaded = modelFromBytes(JSON.parse(JSON.stringify(json)), weights);
    const reloaded = new Session(loaded.graph, { optimize: 0 });
    await initializeFromModel(reloaded, loaded);
    const feeds = { x: tensor([1, 2, 3, -1, 0.5, 2, 0, 1, -2, 3, 0.25, -1], [4, 3]) };
    for (let i = 0; i < 4; i++) {
      const [want] = await original.run(['loss', trainOp.name], feeds);
      const [got] = await reloaded.run(['loss', trainOp.name], feeds);
      expect(got.data[0]).toBe(want.data[0]);
    }
    expect(await reloaded.variables.read('W/Adam/m')).toEqual(await original.variables.read('W/Adam/m'));
  });
});
