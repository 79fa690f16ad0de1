#!/usr/bin/env node
/**
 * Run-time loops: the recurrence h <- tanh(h W + b) (batch 16, 128 units) for T steps, four ways,
 * in one process on the same inputs, median of --runs after 3 warm-up runs:
 *
 *   npx tsc -b packages/cli && node bench/control-flow.js [--runs 20] [--steps 10,100]
 *
 * - whileLoop: one graphc Session.run of ops.whileLoop, T a feed (the body runs as a plan on the cpu)
 * - host loop: T graphc Session.runs of one step, h fed back from the host (what a user writes
 *   without a loop op)
 * - unrolled: one graphc Session.run of T steps built into the graph (T fixed when it is built)
 * - tfjs: @tensorflow/tfjs-backend-cpu, T eager steps in tf.tidy, the result read back
 * Every way's result is checked against the whileLoop's before timing.
 */
'use strict';
const { loadGraphc, maxAbsDiff, medianMs, parseFlags, seededArray } = require('./common');
const graphc = loadGraphc();
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');

const { Graph, Session, ops, tensor } = graphc;
const flags = parseFlags({ runs: 20, steps: '10,100' });
const RUNS = flags.runs;
const STEPS = flags.steps.split(',').map(Number);
const BATCH = 16;
const UNITS = 128;

const W = seededArray(UNITS * UNITS, 1, 0.15);
const B = seededArray(UNITS, 2, 0.1);
const H0 = seededArray(BATCH * UNITS, 3, 1);

const time = (run) => medianMs(run, RUNS, 3);

/** graphc sessions for T steps: the loop, one step (for the host loop) and the unrolled graph. */
function graphcWays(T) {
  const step = (g, h) => ops.tanh(ops.add(ops.matmul(h, g.constant(tensor(W, [UNITS, UNITS]), 'W')), g.constant(tensor(B, [UNITS]), 'b')));
  const feeds = { h0: tensor(H0, [BATCH, UNITS]), steps: tensor([T], [], 'int32') };

  const loop = new Graph();
  const h0 = loop.placeholder('float32', [BATCH, UNITS], 'h0');
  const n = loop.placeholder('int32', [], 'steps');
  const Wl = loop.constant(tensor(W, [UNITS, UNITS]), 'W');
  const bl = loop.constant(tensor(B, [UNITS]), 'b');
  const [, hT] = ops.whileLoop((i) => ops.less(i, n), (i, h) => [ops.add(i, 1), ops.tanh(ops.add(ops.matmul(h, Wl), bl))], [loop.constant(0, 'i0', 'int32'), h0]);
  const loopSession = new Session(loop);

  const one = new Graph();
  const h = one.placeholder('float32', [BATCH, UNITS], 'h');
  const next = step(one, h);
  const oneSession = new Session(one);

  const unrolled = new Graph();
  let u = unrolled.placeholder('float32', [BATCH, UNITS], 'h0');
  for (let t = 0; t < T; t++) u = step(unrolled, u);
  const unrolledSession = new Session(unrolled);

  return {
    whileLoop: async () => (await loopSession.run(hT, feeds)).data,
    hostLoop: async () => {
      let v = feeds.h0;
      for (let t = 0; t < T; t++) v = await oneSession.run(next, { h: v });
      return v.data;
    },
    unrolled: async () => (await unrolledSession.run(u, { h0: feeds.h0 })).data,
  };
}

function tfjsWay(T) {
  const w = tf.tensor2d(W, [UNITS, UNITS]);
  const b = tf.tensor1d(B);
  return async () => {
    const out = tf.tidy(() => {
      let h = tf.tensor2d(H0, [BATCH, UNITS]);
      for (let t = 0; t < T; t++) h = tf.tanh(tf.add(tf.matMul(h, w), b));
      return h;
    });
    const data = out.dataSync();
    out.dispose();
    return data;
  };
}

(async () => {
  await tf.setBackend('cpu');
  console.log(`recurrence h <- tanh(h W + b), h [${BATCH}, ${UNITS}], median of ${RUNS} runs (ms)`);
  console.log('steps | whileLoop | host loop | unrolled | tfjs-cpu | host loop / whileLoop | tfjs / whileLoop');
  for (const T of STEPS) {
    const ways = { ...graphcWays(T), tfjs: tfjsWay(T) };
    const reference = await ways.whileLoop();
    for (const [name, run] of Object.entries(ways)) {
      const d = maxAbsDiff(await run(), reference);
      if (!(d <= 1e-4)) throw new Error(`${name} at T=${T} differs from the whileLoop by ${d}`);
    }
    const ms = {};
    for (const [name, run] of Object.entries(ways)) ms[name] = await time(run);
    const f = (x) => x.toFixed(2);
    console.log(`${T} | ${f(ms.whileLoop)} | ${f(ms.hostLoop)} | ${f(ms.unrolled)} | ${f(ms.tfjs)} | ${f(ms.hostLoop / ms.whileLoop)}x | ${f(ms.tfjs / ms.whileLoop)}x`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
