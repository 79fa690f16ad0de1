#!/usr/bin/env node
/**
 * 4-bit weights against float32 on the cpu: the products of bench/onnx-llm.js's decoder (per layer
 * q, k, v, o, gate, up, down, then the logits; each its own weight, in one graph) with int4 weights
 * (matmulNBits, blocks of 32) and with float32 weights, in one process, the two graphs timed in
 * alternation. ROWS=2..4 feeds that many rows of x (a small batch's step). GB/s counts the weights'
 * bytes each run reads: 4 a float32 weight; the packed words (half a byte a weight) and the float32
 * scales and zero points for int4.
 *
 *   npx tsc -b packages/cli && GRAPHC_CPU_THREADS=1 [ROWS=1] node bench/nbits.js
 */
'use strict';
const { loadGraphc, seededArray } = require('./common');
const { Session, Graph, ops, tensor, nbitsLayout } = loadGraphc();

const BLOCK = 32;
/** The decoder's products, [k, n], in order: per layer q, k, v, o, gate, up, down; then the logits. */
const LAYER = [[512, 512], [512, 128], [512, 128], [512, 512], [512, 1408], [512, 1408], [1408, 512]];

/** Random int4 weights for a k x n product: words over the whole int32 range, scales about 0.05 / 8, zero points 0 to 15. */
function int4Weights(g, k, n, seed) {
  const layout = nbitsLayout({ bits: 4, blockSize: BLOCK, k });
  const words = seededArray(n * layout.words, seed, 1);
  const packed = Int32Array.from(words, (v) => Math.floor(v * 2 ** 31));
  const scales = Float32Array.from(seededArray(n * layout.blocks, seed + 1, 1), (v) => 0.004 + Math.abs(v) * 0.004);
  const zeroPoints = Float32Array.from(seededArray(n * layout.blocks, seed + 2, 1), (v) => Math.floor((v + 1) * 8));
  const bytes = 4 * (packed.length + scales.length + zeroPoints.length);
  return { bytes, operands: [g.constant(tensor(packed, [n, layout.words], 'int32')), g.constant(tensor(scales, [n, layout.blocks])), g.constant(tensor(zeroPoints, [n, layout.blocks]))] };
}

/** The decoder chain with float32 or int4 weights: its graph, fetches and the weights' bytes. */
const ROWS = +(process.env.ROWS || 1);

function decoder(int4) {
  const g = new Graph();
  const x = g.placeholder('float32', [ROWS, 512], 'x');
  let seed = 1;
  let bytes = 0;
  const product = (h, [k, n]) => {
    seed += 3;
    if (!int4) {
      bytes += 4 * k * n;
      return ops.matmul(h, g.constant(tensor(seededArray(k * n, seed, 0.05), [k, n])));
    }
    const w = int4Weights(g, k, n, seed);
    bytes += w.bytes;
    return ops.matmulNBits(h, ...w.operands, { bits: 4, blockSize: BLOCK, k });
  };
  let h = x;
  const outs = [];
  for (let l = 0; l < 2; l++) {
    const [q, k, v] = [product(h, LAYER[0]), product(h, LAYER[1]), product(h, LAYER[2])];
    const o = product(ops.tanh(q), LAYER[3]);
    const [gate, up] = [product(o, LAYER[4]), product(o, LAYER[5])];
    const d = product(ops.mul(gate, up), LAYER[6]);
    outs.push(k, v);
    h = ops.tanh(d);
  }
  const logits = product(h, [512, 2000]);
  return { session: new Session(g), fetches: [logits, ...outs], bytes };
}

(async () => {
  const feeds = { x: tensor(seededArray(ROWS * 512, 99, 1), [ROWS, 512]) };
  const chains = { float32: decoder(false), int4: decoder(true) };
  for (const c of Object.values(chains)) for (let i = 0; i < 20; i++) await c.session.run(c.fetches, feeds);
  const runs = +(process.argv[2] || 200);
  const rounds = +(process.argv[3] || 3);
  const times = { float32: [], int4: [] };
  for (let round = 0; round < rounds; round++) {
    for (const [name, c] of Object.entries(chains)) {
      const t = performance.now();
      for (let i = 0; i < runs; i++) await c.session.run(c.fetches, feeds);
      times[name].push((performance.now() - t) / runs);
    }
  }
  for (const [name, c] of Object.entries(chains)) {
    const best = Math.min(...times[name]);
    const all = times[name].map((ms) => ms.toFixed(3)).join(' ');
    console.log(`${name.padEnd(7)} ${(c.bytes / 1e6).toFixed(1)} MB of weights: ${best.toFixed(3)} ms per run (best of ${all}), ${(c.bytes / best / 1e6).toFixed(1)} GB/s`);
  }
  console.log(`int4 / float32 time: ${(Math.min(...times.int4) / Math.min(...times.float32)).toFixed(2)}`);
})();
