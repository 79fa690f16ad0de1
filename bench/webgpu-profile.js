#!/usr/bin/env node
/**
 * Where the webgpu backend's time goes, per op (GPU timestamps; docs/backends.md): the MLP training
 * step of issue 6 (784-1024-1024-10, batch 512, Adam) and resnet20 inference (batch 16), after
 * warm-up runs (means over --runs). Run on a machine with a GPU by bench/gpu-device.sh; it also runs on lavapipe.
 *
 *   npx tsc -b packages/cli && node bench/webgpu-profile.js [--runs 5] [--json]
 */
'use strict';
const path = require('path');
const { loadGraphc, parseFlags, seededArray, timePerOp } = require('./common');
const graphc = loadGraphc();
const { Graph, Session, initializeFromModel, loadModel, ops, tensor, train } = graphc;

const flags = parseFlags({ runs: 5, json: false });

/** Kernel time per op, per run, slowest first, from a profiled session after `runs` runs of `run`. */
async function profileOf(session, run) {
  for (let i = 0; i < 2; i++) await run();
  session.clearProfile();
  const start = performance.now();
  for (let i = 0; i < flags.runs; i++) await run();
  const wallMs = (performance.now() - start) / flags.runs;
  const ops = timePerOp(session.profile(), flags.runs);
  // launches matter on a GPU, where each costs microseconds whatever its size
  const dispatchesPerRun = session.backend.compiled.at(-1).stats.dispatchesPerRun;
  return { wallMsPerRun: wallMs, kernelMsPerRun: ops.reduce((s, o) => s + o.msPerRun, 0), dispatchesPerRun, ops };
}

async function mlpStep() {
  const batch = 512;
  const sizes = [784, 1024, 1024, 10];
  const g = new Graph();
  const x = g.placeholder('float32', [batch, 784], 'x');
  const y = g.placeholder('int32', [batch], 'y');
  let h = x;
  for (let i = 0; i < 3; i++) {
    const w = g.variable(tensor(seededArray(sizes[i] * sizes[i + 1], 10 + i, Math.sqrt(2 / sizes[i])), [sizes[i], sizes[i + 1]]), `W${i}`);
    const b = g.variable(tensor(new Float32Array(sizes[i + 1]), [sizes[i + 1]]), `b${i}`);
    h = ops.add(ops.matmul(h, w), b);
    if (i < 2) h = ops.relu(h);
  }
  const loss = ops.mean(ops.sparseSoftmaxCrossEntropyWithLogits(y, h));
  const step = new train.Adam(1e-3).minimize(loss);
  const session = new Session(g, { backend: 'webgpu', profile: true });
  await session.run(g.globalVariablesInitializer());
  const feeds = { x: tensor(seededArray(batch * 784, 1, 1), [batch, 784]), y: tensor(Int32Array.from({ length: batch }, (_, i) => i % 10), [batch], 'int32') };
  const result = await profileOf(session, () => session.run([loss, step], feeds));
  session.close();
  return { name: 'MLP 784-1024-1024-10 Adam training step, batch 512', ...result };
}

async function resnet20() {
  const model = await loadModel(path.join(__dirname, '..', 'models', 'resnet20', 'model.json'));
  const session = new Session(model.graph, { backend: 'webgpu', profile: true });
  await initializeFromModel(session, model);
  const { inputs, outputs } = model.graph.metadata.signature;
  const feeds = { [inputs[0]]: tensor(seededArray(16 * 32 * 32 * 3, 4, 1), [16, 32, 32, 3]) };
  const result = await profileOf(session, () => session.run(outputs[0], feeds));
  session.close();
  return { name: 'resnet20 inference, batch 16', ...result };
}

(async () => {
  const results = [await mlpStep(), await resnet20()];
  if (flags.json) console.log(JSON.stringify(results, null, 2));
  else {
    for (const r of results) {
      console.log(`${r.name}: ${r.wallMsPerRun.toFixed(2)} ms per run (kernels ${r.kernelMsPerRun.toFixed(2)} ms, ${r.dispatchesPerRun} dispatches), the mean of ${flags.runs} runs`);
      for (const o of r.ops.slice(0, 10)) console.log(`  ${o.op.padEnd(24)} ${String(o.nodes).padStart(3)} nodes  ${o.msPerRun.toFixed(3).padStart(9)} ms`);
    }
  }
  graphc.releaseGpu();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
