#!/usr/bin/env node
/**
 * A transformer encoder block (post-norm, as BERT's) on the graphc cpu backend against
 * onnxruntime-node's CPU provider running graphc's ONNX export of the same graph, in one process on
 * the same input, median of --runs after 5 warm-up runs, and graphc's time per op (a profiled
 * session):
 *
 *   npx tsc -b packages/cli && node bench/transformer.js [--runs 20]
 *
 * Block: x [batch 8, 128 tokens, 256 features]; 4 heads of 64: q, k, v = x W + b, softmax(q k^T /
 * 8) v, W_o, residual, layerNorm; then 1024 hidden units with gelu, back to 256, residual,
 * layerNorm. Weights are seeded constants. onnxruntime runs with one intra-op thread (graphc's
 * kernels run on one) and with its default pool; its output is checked against graphc's first.
 */
'use strict';
const { loadGraphc, medianMs, onnxruntimeTimes, parseFlags, seededArray, timePerOp } = require('./common');
const graphc = loadGraphc();

const { Graph, Session, exportOnnx, ops, tensor } = graphc;
const { runs: RUNS } = parseFlags({ runs: 20 });
const [B, T, D, HEADS, FF] = [8, 128, 256, 4, 1024];
const DH = D / HEADS;

function block() {
  const g = new Graph();
  const x = g.placeholder('float32', [B, T, D], 'x');
  let seed = 10;
  const weight = (rows, cols) => g.constant(tensor(seededArray(rows * cols, seed++, Math.sqrt(1 / rows)), [rows, cols]));
  const bias = (n) => g.constant(tensor(seededArray(n, seed++, 0.02), [n]));
  const dense = (h, rows, cols) => ops.add(ops.matmul(h, weight(rows, cols)), bias(cols));
  // [B, T, D] -> [B, heads, T, DH]
  const heads = (h) => ops.transpose(ops.reshape(h, [B, T, HEADS, DH]), [0, 2, 1, 3]);
  const [q, k, v] = [0, 1, 2].map(() => heads(dense(x, D, D)));
  const scores = ops.mul(ops.matmul(q, k, { transposeB: true }), 1 / Math.sqrt(DH));
  const attended = ops.matmul(ops.softmax(scores), v); // [B, heads, T, DH]
  const merged = ops.reshape(ops.transpose(attended, [0, 2, 1, 3]), [B, T, D]);
  const norm = (h) => ops.layerNorm(h, g.constant(tensor(new Float32Array(D).fill(1), [D])), bias(D), -1, 1e-5);
  const h1 = norm(ops.add(x, dense(merged, D, D)));
  const ff = dense(ops.gelu(dense(h1, D, FF)), FF, D);
  const out = norm(ops.add(h1, ff));
  return { g, out };
}

(async () => {
  const { g, out } = block();
  const data = seededArray(B * T * D, 4, 1);
  const feeds = { x: tensor(data, [B, T, D]) };
  const session = new Session(g);
  const [ours] = await session.run([out], feeds);
  const bytes = exportOnnx(g, { outputs: [out.name] });
  const ortTimes = await onnxruntimeTimes(bytes, data, [B, T, D], ours.data, { runs: RUNS, label: 'transformer block', tolerance: 1e-3 });
  const ms = await medianMs(() => session.run([out], feeds), RUNS, 5);
  session.close();
  console.log(`transformer encoder block, [${B}, ${T}, ${D}], ${HEADS} heads, ${FF} hidden; median of ${RUNS} runs`);
  console.log('| graphc cpu | onnxruntime, 1 thread | onnxruntime, default threads | graphc / onnxruntime (1 thread) |');
  console.log('|---:|---:|---:|---:|');
  console.log(`| ${ms.toFixed(2)} ms | ${ortTimes[0].toFixed(2)} ms | ${ortTimes[1].toFixed(2)} ms | ${(ms / ortTimes[0]).toFixed(1)}x slower |`);
  const profiled = new Session(g, { profile: true });
  for (let i = 0; i < 3; i++) await profiled.run([out], feeds);
  profiled.clearProfile();
  for (let i = 0; i < 5; i++) await profiled.run([out], feeds);
  console.log('graphc kernel time per op, per run (a profiled session, 5 runs):');
  for (const o of timePerOp(profiled.profile(), 5).slice(0, 10)) console.log(`  ${o.op.padEnd(24)} ${String(o.nodes).padStart(3)} nodes  ${o.msPerRun.toFixed(3).padStart(8)} ms`);
  profiled.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
