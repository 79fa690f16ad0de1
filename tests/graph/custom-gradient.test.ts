import { Graph, evaluateNode, optimizeGraph, GradientError, GraphError, Session, checkGradients, exportOnnx, gradients, importOnnx, modelFromBytes, ops, registerCustomGradient, serializeGraph, tensor } from 'graphc';

/** ops.customGradient (tf.custom_gradient): the value as computed, the gradient as given. */

describe('customGradient', () => {
  test('the value is the forward ops\' value; the gradient is the function\'s, not the ops\'', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [4], 'x');
    // a straight-through round: round forward, identity backward
    const straightThrough = ops.customGradient((v) => ({ value: ops.round(v), gradient: (dy) => dy }));
    const y = straightThrough(x);
    const [dx] = gradients(ops.reduceSum(ops.mul(y, tensor([1, 2, 3, 4], [4], 'float64'))), [x]);
    const [value, grad] = await new Session(g).run([y, dx], { x: tensor([0.4, 1.6, -2.2, 3.5], [4], 'float64') });
    expect(Array.from(value.data)).toEqual([0, 2, -2, 4]);
    expect(Array.from(grad.data)).toEqual([1, 2, 3, 4]);
  });

  test('several inputs, a null gradient for one, tensors of the forward pass used by the gradient', async () => {
    const g = new Graph();
    const a = g.placeholder('float64', [3], 'a');
    const b = g.placeholder('float64', [3], 'b');
    const scaled = ops.customGradient((p, q) => {
      const e = ops.exp(p);
      return { value: ops.mul(e, q), gradient: (dy) => [ops.mul(ops.mul(dy, e), 10), null] };
    });
    const y = scaled(a, b);
    const [da, db] = gradients(ops.reduceSum(y), [a, b]);
    const [yv, dav, dbv] = await new Session(g).run([y, da, db], { a: tensor([0, 1, 2], [3], 'float64'), b: tensor([1, 2, 3], [3], 'float64') });
    [0, 1, 2].forEach((k) => {
      expect(yv.data[k]).toBeCloseTo(Math.exp(k) * (k + 1), 12);
      expect(dav.data[k]).toBeCloseTo(10 * Math.exp(k), 12);
    });
    expect(Array.from(dbv.data)).toEqual([0, 0, 0]);
  });

  test('a numerically stable gradient (log(1 + e^x) with sigmoid as its derivative) matches central differences', async () => {
    const softplus = ops.customGradient((x) => ({ value: ops.log(ops.add(1, ops.exp(x))), gradient: (dy) => ops.mul(dy, ops.sigmoid(x)) }));
    await checkGradients((x) => softplus(x), [tensor([-3, -0.5, 0, 0.7, 2.5], [5], 'float64')]);
  });

  test('the second derivative goes through the gradient function\'s own ops', async () => {
    const cube = ops.customGradient((x) => ({ value: ops.mul(ops.square(x), x), gradient: (dy) => ops.mul(dy, ops.mul(3, ops.square(x))) }));
    await checkGradients(
      (x) => {
        const [d] = gradients(ops.reduceSum(cube(x)), [x]);
        return d;
      },
      [tensor([-1.5, 0.5, 2], [3], 'float64')],
    );
  });

  test('errors: a gradient of the wrong shape or count, and a loaded graph whose function is not registered', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 3], 'x');
    const wrongShape = ops.customGradient((v) => ({ value: ops.relu(v), gradient: (dy) => ops.reduceSum(dy, [0]) }));
    expect(() => gradients(ops.reduceSum(wrongShape(x)), [x])).toThrow(/returned float32 \[3\] for input 0, which is float32 \[2, 3\]/);
    const wrongCount = ops.customGradient((v) => ({ value: ops.relu(v), gradient: (dy) => [dy, dy] }));
    expect(() => gradients(ops.reduceSum(wrongCount(x)), [x])).toThrow(GradientError);

    const h = new Graph();
    const p = h.placeholder('float32', [2], 'p');
    const y = ops.customGradient((v) => ({ value: ops.tanh(v), gradient: (dy) => ops.mul(dy, 2) }), { name: 'doubled' })(p);
    const { json, weights } = serializeGraph(h);
    const loaded = modelFromBytes(JSON.parse(JSON.stringify(json)), weights);
    const key = String(y.node.attrs.gradient);
    expect(key).toMatch(/^doubled\/\d+$/);
    const copy = loaded.graph.tensor(y.name);
    const lp = loaded.graph.tensor('p');
    // the function is registered in this process under its name: the loaded graph differentiates
    const [dp] = gradients(ops.reduceSum(copy), [lp]);
    const [grad] = await new Session(loaded.graph).run([dp], { p: tensor([0.3, -1], [2]) });
    expect(Array.from(grad.data)).toEqual([2, 2]);
    // a name no function is registered under, as in a process that did not build the graph
    const other = modelFromBytes(JSON.parse(JSON.stringify(json).split(key).join('elsewhere/1')), weights);
    expect(() => gradients(ops.reduceSum(other.graph.tensor(y.name)), [other.graph.tensor('p')])).toThrow(/custom gradient 'elsewhere\/1' is not registered in this process; call registerCustomGradient\('elsewhere\/1', fn\)/);
    registerCustomGradient('elsewhere/1', (dy, { xs }) => ops.mul(dy, ops.square(xs[0])));
    const [dOther] = gradients(ops.reduceSum(other.graph.tensor(y.name)), [other.graph.tensor('p')]);
    const [again] = await new Session(other.graph).run([dOther], { p: tensor([0.5, -2], [2]) });
    expect(Array.from(again.data)).toEqual([0.25, 4]);
    expect(() => registerCustomGradient('elsewhere/1', (dy) => dy)).toThrow(GraphError);
  });
});

describe('customGradient in plans and files', () => {
  test('the node is an alias: at O2 it costs no kernel, and ONNX export writes the value', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [3], 'x');
    const y = ops.customGradient((v) => ({ value: ops.mul(ops.sigmoid(v), v), gradient: (dy) => dy }))(x);
    const feeds = { x: tensor([-1, 0.5, 2], [3]) };
    const s0 = new Session(g, { optimize: 0 });
    const s2 = new Session(g, { optimize: 2 });
    const [a] = await s0.run([y], feeds);
    const [b] = await s2.run([y], feeds);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    const optimized = optimizeGraph(g, { level: 2, keep: new Set(['x', y.name]), evaluate: evaluateNode, verify: true });
    expect(optimized.graph.nodes.map((n) => n.op)).not.toContain('customGradient');
    const back = importOnnx(exportOnnx(g, { outputs: [y.name] }));
    const [c] = await new Session(back.graph).run(back.signature.outputs, feeds);
    expect(Array.from(c.data)).toEqual(Array.from(a.data));
  });
});
