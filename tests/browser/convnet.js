// The graphs the browser test runs (tests/browser/browser.test.ts), shared by the page and by Node:
// a small convnet trained three Adam steps, and a whileLoop over its softmax, on one backend.
/* eslint-disable no-undef */
(function (root) {
  function build(graphc) {
    const { Graph, ops, tensor, train } = graphc;
    const g = new Graph();
    const x = g.placeholder('float32', [4, 6, 6, 2], 'x');
    const labels = g.placeholder('int32', [4], 'labels');
    const seeded = (n, seed) => Array.from({ length: n }, (_, i) => Math.sin(seed * 97 + i * 1.7) * 0.5);
    const f = g.variable(tensor(seeded(3 * 3 * 2 * 4, 1), [3, 3, 2, 4]), 'f');
    const w = g.variable(tensor(seeded(36 * 3, 2), [36, 3]), 'w');
    const h = ops.maxPool(ops.relu(ops.conv2d(x, f, 1, 'SAME')), 2, 2, 'VALID');
    const logits = ops.matmul(ops.reshape(h, [4, 36]), w, {}, 'logits');
    const loss = ops.reduceMean(ops.sparseSoftmaxCrossEntropyWithLogits(labels, logits), undefined, false, 'loss');
    const step = new train.Adam(0.01).minimize(loss);
    // run-time control flow: how often the body runs is a value
    const [, acc] = ops.whileLoop((i) => ops.less(i, 3), (i, a) => [ops.add(i, 1), ops.add(a, ops.reduceSum(ops.softmax(logits, -1)))], [g.constant(0, 'i0', 'int32'), g.constant([0], 'a0')]);
    return { g, loss, step, acc, logits };
  }

  /** Three training steps' losses, then the logits and the loop's value; `device`: the webgpu adapter or the gpu.js mode. */
  async function runConvnet(graphc, backend) {
    const { Session, tensor } = graphc;
    const { g, loss, step, acc, logits } = build(graphc);
    const s = new Session(g, { backend });
    await s.run(g.globalVariablesInitializer());
    const feeds = {
      x: tensor(Array.from({ length: 4 * 6 * 6 * 2 }, (_, i) => Math.cos(i * 0.37)), [4, 6, 6, 2]),
      labels: tensor([0, 2, 1, 2], [4], 'int32'),
    };
    const losses = [];
    for (let i = 0; i < 3; i++) losses.push((await s.run({ loss, step }, feeds)).loss.data[0]);
    const [l, a] = await s.run([logits, acc], feeds);
    const device = backend === 'webgpu' ? s.backend.adapter : backend === 'gpujs' ? s.backend.mode : undefined;
    s.close();
    return { losses, logits: Array.from(l.data), acc: Array.from(a.data), device };
  }

  if (typeof module === 'object' && module.exports) module.exports = { runConvnet };
  else root.runConvnet = runConvnet;
})(typeof globalThis === 'object' ? globalThis : this);
