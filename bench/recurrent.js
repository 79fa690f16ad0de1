#!/usr/bin/env node
/**
 * ONNX LSTM, GRU and RNN forward (32 steps, batch 16, input 64, hidden 128, float32) on the graphc
 * cpu backend against onnxruntime-node's CPU provider, in one process on the same model and inputs,
 * median of --runs after 5 warm-up runs:
 *
 *   npx tsc -b packages/cli && node bench/recurrent.js [--runs 30]
 *
 * onnxruntime runs graphc's export of the graph, twice: with one intra-op thread (graphc's kernels
 * run on one) and with its default thread pool. Every output is checked against graphc's first.
 */
'use strict';
const { loadGraphc, medianMs, onnxruntimeTimes, parseFlags, seededArray } = require('./common');
const graphc = loadGraphc();

const { Graph, Session, exportOnnx, tensor } = graphc;
const { runs: RUNS } = parseFlags({ runs: 30 });
const [T, B, I, H] = [32, 16, 64, 128];

const time = (run) => medianMs(run, RUNS, 5);

/** op over x [T, B, I] with seeded W, R and B as constants; fetches Y. */
function build(op, gates, attrs) {
  const g = new Graph();
  const x = g.placeholder('float32', [T, B, I], 'x');
  const w = g.constant(tensor(seededArray(gates * H * I, 1, 0.1), [1, gates * H, I]), 'W');
  const r = g.constant(tensor(seededArray(gates * H * H, 2, 0.1), [1, gates * H, H]), 'R');
  const b = g.constant(tensor(seededArray(2 * gates * H, 3, 0.1), [1, 2 * gates * H]), 'B');
  const y = g.addNode(op, [x, w, r, b], { inputs: ['x', 'w', 'r', 'b'], hiddenSize: H, ...attrs }).output(0);
  return { g, y };
}

(async () => {
  const xData = seededArray(T * B * I, 4, 1);
  console.log(`${T} steps, batch ${B}, input ${I}, hidden ${H}, float32; median of ${RUNS} runs`);
  console.log('| op | graphc cpu | onnxruntime, 1 thread | onnxruntime, default threads | ratio (1 thread) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [label, op, gates, attrs] of [
    ['lstm', 'lstm', 4, {}],
    ['gru', 'gru', 3, {}],
    ['gru linearBeforeReset', 'gru', 3, { linearBeforeReset: true }],
    ['rnn', 'rnn', 1, {}],
  ]) {
    const { g, y } = build(op, gates, attrs);
    const session = new Session(g);
    const feeds = { x: tensor(xData, [T, B, I]) };
    const [ours] = await session.run([y], feeds);
    const bytes = exportOnnx(g, { outputs: [y.name] });
    const ortTimes = await onnxruntimeTimes(bytes, xData, [T, B, I], ours.data, { runs: RUNS, label });
    const ms = await time(() => session.run([y], feeds));
    session.close();
    console.log(`| ${label} | ${ms.toFixed(2)} ms | ${ortTimes[0].toFixed(2)} ms | ${ortTimes[1].toFixed(2)} ms | ${(ortTimes[0] / ms).toFixed(2)}x |`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
