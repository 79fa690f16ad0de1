'use strict';
/**
 * The linear-algebra ops on the cpu backend: matrixInverse (a matrixSolve against I) against
 * onnxruntime's com.microsoft Inverse (Eigen) on the same matrices, in the same process, its output
 * checked against graphc's first; cholesky and matrixSolve for graphc alone (onnxruntime has neither).
 * Batches of well-conditioned float32 matrices (entries in [-1, 1], n + 2 added on the diagonal).
 *
 *   npx tsc -b packages/cli && GRAPHC_CPU_THREADS=1 node bench/linalg.js --runs 20
 */
const { loadGraphc, seededArray, medianMs, onnxruntimeTimes, parseFlags } = require('./common');

const graphc = loadGraphc();
const { Graph, Session, exportOnnx, ops, tensor } = graphc;
const flags = parseFlags({ runs: 20 });

const CASES = [
  [4, 4096],
  [16, 512],
  [64, 16],
  [256, 1],
];

function wellConditioned(count, n, seed) {
  return Float32Array.from(seededArray(count * n * n, seed), (v, e) => (Math.floor(e / n) % n === e % n ? v + n + 2 : v));
}

async function main() {
  console.log('| matrices | graphc matrixInverse | onnxruntime Inverse, 1 thread | graphc / onnxruntime | graphc cholesky | graphc matrixSolve, 8 right-hand sides |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [n, count] of CASES) {
    const shape = [count, n, n];
    const a = wellConditioned(count, n, 7);
    const g = new Graph();
    const x = g.placeholder('float32', shape, 'a');
    const inverse = ops.matrixInverse(x, {}, 'inverse');
    const spd = ops.add(ops.matmul(x, x, { transposeB: true }), g.constant(tensor(Float32Array.from({ length: n * n }, (_, e) => (e % (n + 1) === 0 ? n : 0)), [n, n])));
    const factor = ops.cholesky(spd);
    const solved = ops.matrixSolve(x, g.constant(tensor(seededArray(count * n * 8, 9), [count, n, 8])));
    const session = new Session(g, { backend: 'cpu' });
    const feeds = { a: tensor(a, shape) };
    const [reference] = await session.run([inverse], feeds);
    const ours = await medianMs(() => session.run([inverse], feeds), flags.runs, 3);
    const chol = await medianMs(() => session.run([factor], feeds), flags.runs, 3);
    const solve = await medianMs(() => session.run([solved], feeds), flags.runs, 3);
    session.close();
    const onnx = exportOnnx(g, { outputs: ['inverse'], contribOps: true });
    const [theirs] = await onnxruntimeTimes(onnx, a, shape, reference.data, { runs: flags.runs, label: `${count} x ${n}x${n}`, tolerance: 1e-3 });
    const ms = (v) => `${v.toFixed(3)} ms`;
    console.log(`| ${count} x ${n}x${n} | ${ms(ours)} | ${ms(theirs)} | ${(ours / theirs).toFixed(2)}x | ${ms(chol)} | ${ms(solve)} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
