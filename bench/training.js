#!/usr/bin/env node
/**
 * One CPU training step of the Fashion-MNIST models in models/ (the step `graphc train` runs: Adam
 * lr 0.001, batch 64), timed whole and per op: the median step over --runs after warm-up, then the
 * kernel time per op of a profiled session (docs/performance.md), slowest first. The first three
 * losses are printed so two commits can be checked to compute the same numbers.
 *
 *   npx tsc -b packages/cli && node bench/training.js [--runs 20] [--top 8] [--json]
 */
'use strict';
const path = require('path');
const { loadGraphc, medianMs, parseFlags, timePerOp } = require('./common');
const graphc = loadGraphc();
const { Session, loadModel, tensor, train } = graphc;

const flags = parseFlags({ runs: 20, top: 8, json: false });
const batch = 64;

/** A fixed batch of 28x28 images (values in [0, 1]) and labels, shaped as the model's input. */
function feedsFor(shape) {
  const x = Float32Array.from({ length: batch * 784 }, (_, i) => ((i * 37) % 256) / 255);
  const y = Int32Array.from({ length: batch }, (_, i) => (i * 7) % 10);
  return { x: tensor(x, [batch, ...shape.slice(1)]), y: tensor(y, [batch], 'int32') };
}

async function stepOf(name) {
  const { graph } = await loadModel(path.join(__dirname, '..', 'models', name, 'model.json'));
  const loss = graph.tensor('loss');
  const step = new train.Adam(0.001).minimize(loss);
  const feeds = feedsFor(graph.node('x').attrs.shape);
  const result = { name: `${name} Adam training step, batch ${batch}` };
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
  }
  return result;
}

(async () => {
  const results = [await stepOf('fashion-mlp'), await stepOf('fashion-cnn')];
  if (flags.json) return console.log(JSON.stringify(results, null, 2));
  for (const r of results) {
    console.log(`${r.name}: median ${r.medianMs.toFixed(2)} ms over ${flags.runs} steps; first losses ${r.losses.map((l) => l.toFixed(6)).join(', ')}`);
    for (const o of r.ops.slice(0, flags.top)) console.log(`  ${o.op.padEnd(28)} ${String(o.nodes).padStart(3)} nodes  ${o.msPerRun.toFixed(3).padStart(8)} ms`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
