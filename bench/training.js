#!/usr/bin/env node
/**
 * One CPU training step of the Fashion-MNIST models in models/ (the step `graphc train` runs: Adam
 * lr 0.001, batch 64), timed whole and per op: the median step over --runs after warm-up, then the
 * kernel time per op of a profiled session (docs/performance.md), slowest first. The first three
 * losses are printed so two commits can be checked to compute the same numbers.
 *
 * Peers: the same step in TensorFlow.js (bench/tfjs-peer.js: the graph's ops as tfjs ops, the same
 * initial weights, tf.train.adam with graphc's hyperparameters, `optimizer.minimize` returning the
 * loss, read back each step as graphc's is), on --peers (tfjs backends, comma-separated, or none).
 * Each peer's first three losses are checked against graphc's first. A peer that takes over a second
 * a step is timed over 3 steps.
 *
 *   npx tsc -b packages/cli && node bench/training.js [--runs 20] [--top 8] [--json] [--peers wasm,cpu]
 */
'use strict';
const path = require('path');
const { loadGraphc, medianMs, parseFlags, timePerOp } = require('./common');
const graphc = loadGraphc();
const { Session, loadModel, tensor, train } = graphc;
const { tf, useBackend, toTf, tfjsNetwork, readBack, variableValues } = require('./tfjs-peer');

const flags = parseFlags({ runs: 20, top: 8, json: false, peers: 'wasm,cpu' });
const peers = flags.peers === 'none' ? [] : flags.peers.split(',');
const batch = 64;
const learningRate = 0.001;

/** A fixed batch of 28x28 images (values in [0, 1]) and labels, shaped as the model's input. */
function feedsFor(shape) {
  const x = Float32Array.from({ length: batch * 784 }, (_, i) => ((i * 37) % 256) / 255);
  const y = Int32Array.from({ length: batch }, (_, i) => (i * 7) % 10);
  return { x: tensor(x, [batch, ...shape.slice(1)]), y: tensor(y, [batch], 'int32') };
}

async function stepOf(name) {
  const { graph } = await loadModel(path.join(__dirname, '..', 'models', name, 'model.json'));
  const loss = graph.tensor('loss');
  const adam = new train.Adam(learningRate);
  const step = adam.minimize(loss);
  const feeds = feedsFor(graph.node('x').attrs.shape);
  const result = { name: `${name} Adam training step, batch ${batch}` };
  const initial = new Session(graph);
  await initial.run(graph.globalVariablesInitializer());
  const weights = await variableValues(graph, initial);
  initial.close();
  for (const profile of [false, true]) {
    const session = new Session(graph, { profile });
    await session.run(graph.globalVariablesInitializer());
    const run = () => session.run({ loss, step }, feeds);
    if (!profile) {
      result.losses = [];
      for (let i = 0; i < 3; i++) result.losses.push((await run()).loss.data[0]);
      result.medianMs = await medianMs(run, flags.runs, 2);
      continue;
    }
    for (let i = 0; i < 3; i++) await run();
    session.clearProfile();
    for (let i = 0; i < flags.runs; i++) await run();
    result.ops = timePerOp(session.profile(), flags.runs);
    session.close();
  }
  result.peers = [];
  for (const backend of peers) result.peers.push(await peerStep(graph, weights, feeds, adam, backend, result.losses));
  return result;
}

/**
 * The same step in tfjs on `backend`: { backend, medianMs, losses }, or { backend, unsupported } where
 * the backend lacks a kernel the step needs. Throws where its first losses differ from graphc's.
 */
async function peerStep(graph, weights, feeds, adam, backend, graphcLosses) {
  await useBackend(backend);
  const net = tfjsNetwork(graph, weights);
  const inputs = { x: toTf(feeds.x), y: toTf(feeds.y) };
  const optimizer = tf.train.adam(learningRate, adam.beta1, adam.beta2, adam.epsilon);
  const run = () => readBack(optimizer.minimize(() => net.run(inputs, ['loss'])[0], true, [...net.variables.values()]));
  try {
    const losses = [];
    const start = performance.now();
    for (let i = 0; i < 3; i++) losses.push((await run())[0]);
    // a peer that takes seconds a step (tfjs-cpu's convolution gradients) is timed over 3 steps
    const slow = (performance.now() - start) / 3 > 1000;
    losses.forEach((l, i) => {
      if (!(Math.abs(l - graphcLosses[i]) <= 1e-4 * Math.max(1, Math.abs(l)))) {
        throw new Error(`tfjs-${backend}: loss ${i + 1} is ${l}, graphc's ${graphcLosses[i]}`);
      }
    });
    return { backend, medianMs: await medianMs(run, slow ? 3 : flags.runs, slow ? 0 : 2), runs: slow ? 3 : flags.runs, losses };
  } catch (e) {
    if (!/not registered for backend/.test(e.message)) throw e;
    return { backend, unsupported: e.message };
  } finally {
    optimizer.dispose();
    net.dispose();
    for (const t of Object.values(inputs)) t.dispose();
  }
}

(async () => {
  const results = [await stepOf('fashion-mlp'), await stepOf('fashion-cnn')];
  if (flags.json) return console.log(JSON.stringify(results, null, 2));
  for (const r of results) {
    console.log(`${r.name}: median ${r.medianMs.toFixed(2)} ms over ${flags.runs} steps; first losses ${r.losses.map((l) => l.toFixed(6)).join(', ')}`);
    for (const o of r.ops.slice(0, flags.top)) console.log(`  ${o.op.padEnd(28)} ${String(o.nodes).padStart(3)} nodes  ${o.msPerRun.toFixed(3).padStart(8)} ms`);
    for (const p of r.peers) {
      const what = p.unsupported
        ? `cannot run it (${p.unsupported})`
        : `median ${p.medianMs.toFixed(2)} ms over ${p.runs} steps (${(p.medianMs / r.medianMs).toFixed(1)}x graphc's); first losses ${p.losses.map((l) => l.toFixed(6)).join(', ')}`;
      console.log(`  tfjs-${p.backend}: ${what}`);
    }
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
