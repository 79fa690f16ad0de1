#!/usr/bin/env node
/**
 * Single-op timings behind kernel changes, one full Session.run each (feeds in, outputs out), median
 * of --runs after 5 warm-up runs:
 *
 *   npx tsc -b packages/cli && node bench/kernels.js [--runs 30] [--webgpu] [--only lstm,matmul]
 *
 * - topk: topK k=5 over [8, 50000] float32 (long rows, small k)
 * - maxpool: maxPool 2x2 stride 2 VALID over [64, 28, 28, 16] float32 (the fashion-cnn's first pool)
 * - lstm: ONNX LSTM, 32 steps, batch 16, input 64, hidden 128, forward; and a training step of it
 *   (W, R and B variables, loss mean(Y^2), Adam): forward, gradients and update
 * - matmul: a batch of 16 rows by a 128 x 512 matrix, plain and transposed (an LSTM step's h·R^T,
 *   a dense layer over a small batch); one row by a 512 x 1408 matrix, plain and transposed (a
 *   batch of one: an LLM's MLP in a decode step, one request to a server), and four rows by it,
 *   plain and transposed
 * - softmax: softmax and logSoftmax over attention scores, [8, 4, 128, 128] float32, last axis;
 *   and a language model's loss and its gradient, sparse softmax cross entropy over [256, 10000]
 * - filter: conv2dBackpropFilter of the fashion-cnn's two 3x3 SAME convolutions, batch 64
 *   (x and dy fed)
 * - strided: conv2dBackpropInput of a ResNet's 3x3 stride-2 SAME convolutions (batch 16)
 * - depthwise: depthwiseConv2dBackpropInput and -Filter of a MobileNet block's 3x3 SAME
 *   depthwise layer, [8, 56, 56, 64] (dy and x fed)
 * --webgpu adds the topk and lstm rows on the webgpu backend.
 */
'use strict';
const { loadGraphc, median, parseFlags } = require('./common');
const graphc = loadGraphc();
const { Graph, Session, ops, tensor } = graphc;

const { runs: RUNS, webgpu: WEBGPU, only: ONLY } = parseFlags({ runs: 30, webgpu: false, only: '' });
const wanted = (group) => !ONLY || ONLY.split(',').includes(group);

async function time(name, backend, build) {
  const g = new Graph();
  const { fetch, feeds } = build(g);
  const s = new Session(g, { backend });
  await s.run(g.globalVariablesInitializer());
  for (let i = 0; i < 5; i++) await s.run(fetch, feeds);
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await s.run(fetch, feeds);
    times.push(performance.now() - t);
  }
  s.close();
  console.log(`${name} (${backend}): median ${median(times).toFixed(2)} ms over ${RUNS} runs`);
}

const topk = (g) => {
  const x = g.placeholder('float32', [8, 50000], 'x');
  const data = Float32Array.from({ length: 400000 }, (_, j) => Math.sin(j * 1.7) * 100);
  return { fetch: ops.topK(x, 5), feeds: { x: tensor(data, [8, 50000]) } };
};
const maxpool = (g) => {
  const x = g.placeholder('float32', [64, 28, 28, 16], 'x');
  const data = Float32Array.from({ length: 64 * 28 * 28 * 16 }, (_, j) => Math.sin(j * 1.7));
  return { fetch: ops.maxPool(x, 2, 2, 'VALID'), feeds: { x: tensor(data, [64, 28, 28, 16]) } };
};

const lstm = (g) => {
  const [T, B, I, H] = [32, 16, 64, 128];
  const values = (n, seed) => Float32Array.from({ length: n }, (_, j) => Math.sin(j * 1.3 + seed) * 0.1);
  const x = g.placeholder('float32', [T, B, I], 'x');
  const w = g.constant(tensor(values(4 * H * I, 1), [1, 4 * H, I]));
  const r = g.constant(tensor(values(4 * H * H, 2), [1, 4 * H, H]));
  const y = g.addNode('lstm', [x, w, r], { inputs: ['x', 'w', 'r'], hiddenSize: H }).output(0);
  return { fetch: y, feeds: { x: tensor(values(T * B * I, 3), [T, B, I]) } };
};

const lstmTraining = (g) => {
  const [T, B, I, H] = [32, 16, 64, 128];
  const values = (n, seed) => Float32Array.from({ length: n }, (_, j) => Math.sin(j * 1.3 + seed) * 0.1);
  const x = g.placeholder('float32', [T, B, I], 'x');
  const w = g.variable(tensor(values(4 * H * I, 1), [1, 4 * H, I]), 'W');
  const r = g.variable(tensor(values(4 * H * H, 2), [1, 4 * H, H]), 'R');
  const b = g.variable(tensor(values(8 * H, 4), [1, 8 * H]), 'B');
  const y = g.addNode('lstm', [x, w, r, b], { inputs: ['x', 'w', 'r', 'b'], hiddenSize: H }).output(0);
  const step = new graphc.train.Adam(1e-3).minimize(ops.mean(ops.square(y)));
  return { fetch: step, feeds: { x: tensor(values(T * B * I, 3), [T, B, I]) } };
};

/** [16, 128] times a [128, 512] matrix (transposed: held as [512, 128]). */
const smallMatmul = (transposeB) => (g) => {
  const values = (n, seed) => Float32Array.from({ length: n }, (_, j) => Math.sin(j * 1.3 + seed));
  const a = g.placeholder('float32', [16, 128], 'a');
  const b = g.constant(tensor(values(128 * 512, 2), transposeB ? [512, 128] : [128, 512]));
  return { fetch: ops.matmul(a, b, { transposeB }), feeds: { a: tensor(values(16 * 128, 1), [16, 128]) } };
};

/** [rows, 512] times a constant [512, 1408] matrix (transposed: held as [1408, 512]). */
const rowMatmul = (transposeB, rows = 1) => (g) => {
  const values = (n, seed) => Float32Array.from({ length: n }, (_, j) => Math.sin(j * 1.3 + seed));
  const a = g.placeholder('float32', [rows, 512], 'a');
  const b = g.constant(tensor(values(512 * 1408, 2), transposeB ? [1408, 512] : [512, 1408]));
  return { fetch: ops.matmul(a, b, { transposeB }), feeds: { a: tensor(values(rows * 512, 1), [rows, 512]) } };
};

/** softmax (or logSoftmax) of [8, 4, 128, 128] along the last axis. */
const attentionSoftmax = (log) => (g) => {
  const shape = [8, 4, 128, 128];
  const x = g.placeholder('float32', shape, 'x');
  const data = Float32Array.from({ length: 8 * 4 * 128 * 128 }, (_, j) => Math.sin(j * 1.3) * 6);
  return { fetch: log ? ops.logSoftmax(x) : ops.softmax(x), feeds: { x: tensor(data, shape) } };
};

/** mean sparse softmax cross entropy of [256, 10000] logits and its gradient (fetched together). */
const crossEntropy = (g) => {
  const [B, V] = [256, 10000];
  const x = g.placeholder('float32', [B, V], 'x');
  const y = g.placeholder('int32', [B], 'y');
  const loss = ops.mean(ops.sparseSoftmaxCrossEntropyWithLogits(y, x));
  const [dx] = graphc.gradients(loss, [x]);
  const feeds = { x: tensor(Float32Array.from({ length: B * V }, (_, i) => Math.sin(i * 1.3) * 4), [B, V]), y: tensor(Int32Array.from({ length: B }, (_, i) => (i * 37) % V), [B], 'int32') };
  return { fetch: [loss, dx], feeds };
};

/** conv2dBackpropFilter of a 3x3 stride-1 SAME convolution of [N, H, W, Cin] to Cout channels. */
const filterGradient = ([n, h, w, cin], cout) => (g) => {
  const values = (count, seed) => Float32Array.from({ length: count }, (_, j) => Math.sin(j * 1.3 + seed));
  const x = g.placeholder('float32', [n, h, w, cin], 'x');
  const dy = g.placeholder('float32', [n, h, w, cout], 'dy');
  const filter = g.constant(tensor(new Float32Array(9 * cin * cout), [3, 3, cin, cout]));
  const df = g.addNode('conv2dBackpropFilter', [x, dy, filter], { strides: [1, 1], padding: 'SAME', dilations: [1, 1] }).output(0);
  return { fetch: df, feeds: { x: tensor(values(n * h * w * cin, 1), [n, h, w, cin]), dy: tensor(values(n * h * w * cout, 2), [n, h, w, cout]) } };
};

/** conv2dBackpropInput of a 3x3 stride-2 SAME convolution of [N, H, W, Cin] to Cout channels. */
const stridedInputGradient = ([n, h, w, cin], cout) => (g) => {
  const values = (count, seed) => Float32Array.from({ length: count }, (_, j) => Math.sin(j * 1.3 + seed));
  const [oh, ow] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  const x = g.placeholder('float32', [n, h, w, cin], 'x');
  const dy = g.placeholder('float32', [n, oh, ow, cout], 'dy');
  const filter = g.constant(tensor(values(9 * cin * cout, 3), [3, 3, cin, cout]));
  const dx = g.addNode('conv2dBackpropInput', [dy, filter, x], { strides: [2, 2], padding: 'SAME', dilations: [1, 1] }).output(0);
  return { fetch: dx, feeds: { x: tensor(values(n * h * w * cin, 1), [n, h, w, cin]), dy: tensor(values(n * oh * ow * cout, 2), [n, oh, ow, cout]) } };
};

/** depthwiseConv2dBackpropInput or -Filter of a 3x3 stride-1 SAME depthwise convolution of [N, H, W, C]. */
const depthwiseGradient = (op, [n, h, w, c]) => (g) => {
  const values = (count, seed) => Float32Array.from({ length: count }, (_, j) => Math.sin(j * 1.3 + seed));
  const x = g.placeholder('float32', [n, h, w, c], 'x');
  const dy = g.placeholder('float32', [n, h, w, c], 'dy');
  const filter = g.constant(tensor(values(9 * c, 3), [3, 3, c, 1]));
  const inputs = op === 'depthwiseConv2dBackpropInput' ? [dy, filter, x] : [x, dy, filter];
  const out = g.addNode(op, inputs, { strides: [1, 1], padding: 'SAME', dilations: [1, 1] }).output(0);
  return { fetch: out, feeds: { x: tensor(values(n * h * w * c, 1), [n, h, w, c]), dy: tensor(values(n * h * w * c, 2), [n, h, w, c]) } };
};

(async () => {
  if (wanted('topk')) await time('topK k=5 of [8, 50000]', 'cpu', topk);
  if (wanted('maxpool')) await time('maxPool 2x2/2 of [64, 28, 28, 16]', 'cpu', maxpool);
  if (wanted('lstm')) {
    await time('lstm 32 steps, batch 16, 64 -> 128', 'cpu', lstm);
    await time('lstm training step (Adam), 32 steps, batch 16, 64 -> 128', 'cpu', lstmTraining);
  }
  if (wanted('matmul')) {
    await time('matmul [16, 128] by [128, 512]', 'cpu', smallMatmul(false));
    await time('matmul [16, 128] by [512, 128]^T', 'cpu', smallMatmul(true));
    await time('matmul [1, 512] by [512, 1408]', 'cpu', rowMatmul(false));
    await time('matmul [1, 512] by [1408, 512]^T', 'cpu', rowMatmul(true));
    await time('matmul [4, 512] by [512, 1408]', 'cpu', rowMatmul(false, 4));
    await time('matmul [4, 512] by [1408, 512]^T', 'cpu', rowMatmul(true, 4));
  }
  if (wanted('softmax')) {
    await time('softmax [8, 4, 128, 128], last axis', 'cpu', attentionSoftmax(false));
    await time('logSoftmax [8, 4, 128, 128], last axis', 'cpu', attentionSoftmax(true));
    await time('sparse softmax cross entropy and its gradient, [256, 10000]', 'cpu', crossEntropy);
  }
  if (wanted('filter')) {
    await time('conv2dBackpropFilter 3x3 SAME, [64, 28, 28, 1] -> 16', 'cpu', filterGradient([64, 28, 28, 1], 16));
    await time('conv2dBackpropFilter 3x3 SAME, [64, 14, 14, 16] -> 32', 'cpu', filterGradient([64, 14, 14, 16], 32));
  }
  if (wanted('strided')) {
    await time('conv2dBackpropInput 3x3 stride 2 SAME, [16, 32, 32, 16] -> 32', 'cpu', stridedInputGradient([16, 32, 32, 16], 32));
    await time('conv2dBackpropInput 3x3 stride 2 SAME, [16, 16, 16, 32] -> 64', 'cpu', stridedInputGradient([16, 16, 16, 32], 64));
  }
  if (wanted('depthwise')) {
    await time('depthwiseConv2dBackpropInput 3x3 SAME, [8, 56, 56, 64]', 'cpu', depthwiseGradient('depthwiseConv2dBackpropInput', [8, 56, 56, 64]));
    await time('depthwiseConv2dBackpropFilter 3x3 SAME, [8, 56, 56, 64]', 'cpu', depthwiseGradient('depthwiseConv2dBackpropFilter', [8, 56, 56, 64]));
  }
  if (WEBGPU) {
    if (wanted('topk')) await time('topK k=5 of [8, 50000]', 'webgpu', topk);
    if (wanted('lstm')) await time('lstm 32 steps, batch 16, 64 -> 128', 'webgpu', lstm);
    graphc.releaseGpu();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
