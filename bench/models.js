#!/usr/bin/env node
/**
 * Whole-model inference on the graphc cpu backend against onnxruntime-node's CPU provider running
 * graphc's ONNX export of the same model, in one process on the same inputs, median of --runs after
 * 5 warm-up runs:
 *
 *   npx tsc -b packages/cli && node bench/models.js [--runs 20]
 *
 * Models: models/fashion-mlp (batch 256), models/fashion-cnn (batch 64), models/resnet20 (batch 16),
 * each loaded from its model.json. onnxruntime runs with one intra-op thread (graphc's kernels run on
 * one) and with its default pool. Its output is checked against graphc's first. graphc also runs
 * the ONNX file itself, imported back (NCHW, as an ONNX model from elsewhere would come). The
 * JavaScript peer: TensorFlow.js's wasm backend (XNNPACK on WebAssembly SIMD, one thread in Node)
 * running the same graph with the same weights (bench/tfjs-peer.js), its output checked likewise.
 */
'use strict';
const path = require('path');
const { loadGraphc, maxAbsDiff, medianMs, onnxruntimeTimes, parseFlags, seededArray } = require('./common');
const graphc = loadGraphc();
const { tf, useBackend, toTf, tfjsNetwork, readBack, variableValues } = require('./tfjs-peer');

const { Session, exportOnnx, importOnnx, initializeFromModel, loadModel, tensor } = graphc;
const { runs: RUNS } = parseFlags({ runs: 20 });
const MODELS = [
  ['fashion-mlp', 256],
  ['fashion-cnn', 64],
  ['resnet20', 16],
];

const time = (run) => medianMs(run, RUNS, 5);

/** tfjs-wasm's median time (ms) on the graph, its output checked against graphc's (`reference`) first. */
async function tfjsTime(graph, weights, feeds, output, reference, label) {
  const net = tfjsNetwork(graph, weights);
  const inputs = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toTf(t)]));
  const run = () => readBack(tf.tidy(() => net.run(inputs, [output])[0]));
  const diff = maxAbsDiff(await run(), reference);
  if (!(diff < 1e-3)) throw new Error(`${label}: tfjs-wasm's output differs from graphc's by ${diff}`);
  const ms = await time(run);
  net.dispose();
  for (const t of Object.values(inputs)) t.dispose();
  return ms;
}

(async () => {
  console.log(`median of ${RUNS} runs after 5 warm-up runs`);
  await useBackend('wasm');
  console.log('| model | graphc cpu | graphc cpu, the ONNX file | onnxruntime, 1 thread | onnxruntime, default threads | tfjs-wasm | graphc / onnxruntime (1 thread) | graphc / tfjs-wasm |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [dir, batch] of MODELS) {
    const model = await loadModel(path.join(__dirname, '..', 'models', dir, 'model.json'));
    const g = model.graph;
    const session = new Session(g);
    await initializeFromModel(session, model);
    const { inputs, outputs } = g.metadata.signature;
    const input = g.tensor(inputs[0]);
    const shape = input.shape.map((d) => (d === null ? batch : d));
    const data = seededArray(shape.reduce((p, d) => p * d, 1), 4, 1);
    const feeds = { [input.name]: tensor(data, shape) };
    const [ours] = await session.run([outputs[0]], feeds);
    const bytes = exportOnnx(g, { outputs: [outputs[0]], variables: model.variables });
    const ortTimes = await onnxruntimeTimes(bytes, data, shape, ours.data, { runs: RUNS, label: dir, tolerance: 1e-3 });
    const ms = await time(() => session.run([outputs[0]], feeds));
    const tfjsMs = await tfjsTime(g, await variableValues(g, session), feeds, outputs[0], ours.data, dir);
    session.close();
    const imported = importOnnx(bytes, { file: `${dir}.onnx` });
    const onnxSession = new Session(imported.graph);
    const onnxFeeds = { [imported.signature.inputs[0]]: tensor(data, shape) };
    const [viaOnnx] = await onnxSession.run([imported.signature.outputs[0]], onnxFeeds);
    const diff = maxAbsDiff(viaOnnx.data, ours.data);
    if (!(diff < 1e-3)) throw new Error(`${dir}: graphc on the ONNX file differs from graphc on model.json by ${diff}`);
    const onnxMs = await time(() => onnxSession.run([imported.signature.outputs[0]], onnxFeeds));
    onnxSession.close();
    const cells = [ms, onnxMs, ...ortTimes, tfjsMs].map((t) => `${t.toFixed(2)} ms`);
    console.log(`| ${dir} (batch ${batch}) | ${cells.join(' | ')} | ${(ms / ortTimes[0]).toFixed(2)}x | ${(ms / tfjsMs).toFixed(2)}x |`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
