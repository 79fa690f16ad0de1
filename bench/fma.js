'use strict';
/**
 * The cpu backend's float32 kernels with fused multiply-adds (relaxed SIMD's f32x4.relaxed_madd)
 * against mul+add, in one process: each round runs every case both ways back to back, so the
 * machine's drift between processes (large on shared machines) falls on both alike.
 *
 *   npx tsc -b packages/cli && GRAPHC_CPU_THREADS=1 node bench/fma.js --rounds 12
 */
const path = require('path');
const { loadGraphc, median, parseFlags, seededArray } = require('./common');

const graphc = loadGraphc();
const { Graph, Session, initializeFromModel, loadModel, ops, relaxedSimdAvailable, setCpuFusedMultiplyAdd, tensor } = graphc;
const { rounds: ROUNDS } = parseFlags({ rounds: 12 });
const RUNS_PER_ROUND = 3;

/** A model of models/ at a batch size: its session, one fetch and a seeded feed. */
async function modelCase(dir, batch) {
  const model = await loadModel(path.join(__dirname, '..', 'models', dir, 'model.json'));
  const session = new Session(model.graph);
  await initializeFromModel(session, model);
  const { inputs, outputs } = model.graph.metadata.signature;
  const input = model.graph.tensor(inputs[0]);
  const shape = input.shape.map((d) => (d === null ? batch : d));
  const feeds = { [inputs[0]]: tensor(seededArray(shape.reduce((p, d) => p * d, 1), 4, 1), shape) };
  return { name: `${dir} (batch ${batch})`, run: () => session.run([outputs[0]], feeds) };
}

/** An n x n by n x n float32 matmul, both operands fed. */
function matmulCase(n) {
  const g = new Graph();
  const y = ops.matmul(g.placeholder('float32', [n, n], 'a'), g.placeholder('float32', [n, n], 'b'));
  const session = new Session(g);
  const feeds = { a: tensor(seededArray(n * n, 1), [n, n]), b: tensor(seededArray(n * n, 2), [n, n]) };
  return { name: `matmul ${n}x${n} @ ${n}x${n}`, run: () => session.run(y, feeds) };
}

(async () => {
  if (!relaxedSimdAvailable()) {
    console.error('bench: this engine has no relaxed SIMD: nothing to compare');
    process.exit(2);
  }
  const cases = [matmulCase(512), await modelCase('fashion-mlp', 256), await modelCase('fashion-cnn', 64), await modelCase('resnet20', 16)];
  console.log(`median of ${ROUNDS * RUNS_PER_ROUND} runs each way (${ROUNDS} rounds of ${RUNS_PER_ROUND}, 2 warm-up runs per round and way)`);
  console.log('| case | fused multiply-add | mul+add | mul+add / fused |');
  console.log('|---|---:|---:|---:|');
  for (const { name, run } of cases) {
    const times = { fused: [], plain: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const way of ['fused', 'plain']) {
        setCpuFusedMultiplyAdd(way === 'fused');
        for (let i = 0; i < 2; i++) await run();
        for (let i = 0; i < RUNS_PER_ROUND; i++) {
          const t = performance.now();
          await run();
          times[way].push(performance.now() - t);
        }
      }
    }
    const [fused, plain] = [median(times.fused), median(times.plain)];
    console.log(`| ${name} | ${fused.toFixed(2)} ms | ${plain.toFixed(2)} ms | ${(plain / fused).toFixed(2)}x |`);
  }
  setCpuFusedMultiplyAdd(true);
})();
