#!/usr/bin/env node
/**
 * graphc (cpu backend) against @tensorflow/tfjs-backend-cpu, in one process on the same inputs.
 *
 *   npm run bench                       # builds, then runs every benchmark
 *   node bench/run.js --runs 30 --json  # after `npx tsc -b packages/cli`
 *   node bench/run.js --only depthwise  # one of matmul, conv2d, depthwise
 *   node bench/run.js --no-simd         # graphc's float32 GEMM on its JavaScript kernel instead of wasm SIMD
 *
 * Each benchmark times one full graphc `Session.run` (feeds in, fetched output copied out) against
 * the tfjs op plus `dataSync()` (the result read back), median of `--runs` timed runs after
 * `--warmup` untimed ones. The two engines run interleaved so drift in machine load hits both.
 * Results are checked against each other before timing.
 */
'use strict';

const os = require('os');

const { loadGraphc, median, maxAbsDiff, seededArray: randomArray } = require('./common');
const graphc = loadGraphc();
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');

const { Graph, Session, ops, tensor, setSimdGemm } = graphc;

function parseArgs(argv) {
  const args = { runs: 20, warmup: 3, json: false, only: null, simd: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a === '--warmup') args.warmup = Number(argv[++i]);
    else if (a === '--json') args.json = true;
    else if (a === '--only') args.only = argv[++i];
    else if (a === '--no-simd') args.simd = false;
    else {
      console.error(`bench: unknown argument '${a}' (use --runs N, --warmup N, --json, --only NAME, --no-simd)`);
      process.exit(2);
    }
  }
  if (!(args.runs >= 1) || !(args.warmup >= 0)) {
    console.error('bench: --runs must be >= 1 and --warmup >= 0');
    process.exit(2);
  }
  return args;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

function summarize(times) {
  return { medianMs: round(median(times)), minMs: round(Math.min(...times)), maxMs: round(Math.max(...times)) };
}

const round = (x) => Math.round(x * 1000) / 1000;

/** Times `graphcRun` and `tfjsRun` (both async, returning the output data) interleaved. */
async function compare(name, macs, graphcRun, tfjsRun, args) {
  const g0 = await graphcRun();
  const t0 = await tfjsRun();
  const diff = maxAbsDiff(g0, t0);
  const scale = Math.max(1, ...Array.from(t0.subarray(0, 1000), Math.abs));
  if (!(diff <= 1e-3 * scale)) throw new Error(`${name}: graphc and tfjs disagree (max |diff| ${diff})`);
  for (let i = 0; i < args.warmup; i++) {
    await graphcRun();
    await tfjsRun();
  }
  const gt = [];
  const tt = [];
  for (let i = 0; i < args.runs; i++) {
    let s = now();
    await graphcRun();
    gt.push(now() - s);
    s = now();
    await tfjsRun();
    tt.push(now() - s);
  }
  const graphcStats = summarize(gt);
  const tfjsStats = summarize(tt);
  return {
    name,
    runs: args.runs,
    maxAbsDiff: diff,
    graphc: { ...graphcStats, gflops: round((2 * macs) / (graphcStats.medianMs * 1e6)) },
    tfjs: { ...tfjsStats, gflops: round((2 * macs) / (tfjsStats.medianMs * 1e6)) },
    speedup: round(tfjsStats.medianMs / graphcStats.medianMs),
  };
}

/** A tfjs result's values (read back, as a user would), the tensor freed. */
function readTensor(t) {
  const data = t.dataSync();
  t.dispose();
  return data;
}

const benchmarks = {
  /** 512x512 @ 512x512 float32: both operands fed each run. */
  async matmul(args) {
    const n = 512;
    const a = randomArray(n * n, 1);
    const b = randomArray(n * n, 2);
    const g = new Graph();
    const pa = g.placeholder('float32', [n, n], 'a');
    const pb = g.placeholder('float32', [n, n], 'b');
    const y = ops.matmul(pa, pb);
    const sess = new Session(g);
    const feeds = { a: tensor(a, [n, n]), b: tensor(b, [n, n]) };
    const ta = tf.tensor2d(a, [n, n]);
    const tb = tf.tensor2d(b, [n, n]);
    const result = await compare(
      `matmul ${n}x${n} @ ${n}x${n} float32`,
      n * n * n,
      async () => (await sess.run(y, feeds)).data,
      async () => readTensor(tf.matMul(ta, tb)),
      args,
    );
    ta.dispose();
    tb.dispose();
    return result;
  },

  /** conv2d 1x56x56x64 * 3x3x64x64, stride 1, SAME (a ResNet stage-1 layer): input fed, filter a variable. */
  conv2d: (args) => convolution(args, 'conv2d', [1, 56, 56, 64], [3, 3, 64, 64], (x, f) => ops.conv2d(x, f, 1, 'SAME'), (x, f) => tf.conv2d(x, f, 1, 'same')),

  /** depthwiseConv2d 8x56x56x64 * 3x3x64x1, stride 1, SAME (a MobileNet block's depthwise layer). */
  depthwise: (args) =>
    convolution(args, 'depthwiseConv2d', [8, 56, 56, 64], [3, 3, 64, 1], (x, f) => ops.depthwiseConv2d(x, f, 1, 'SAME'), (x, f) => tf.depthwiseConv2d(x, f, 1, 'same')),
};

/** A convolution of a fed NHWC input by a filter variable, graphc against tfjs; stride 1, SAME padding. */
async function convolution(args, op, [n, h, w, c], filterShape, graphcOp, tfjsOp) {
  const x = randomArray(n * h * w * c, 3);
  const f = randomArray(filterShape.reduce((a, b) => a * b, 1), 4);
  const g = new Graph();
  const px = g.placeholder('float32', [null, h, w, c], 'x');
  const filter = g.variable(tensor(f, filterShape), 'filter');
  const y = graphcOp(px, filter);
  const sess = new Session(g);
  await sess.run(g.globalVariablesInitializer());
  const feeds = { x: tensor(x, [n, h, w, c]) };
  const tx = tf.tensor4d(x, [n, h, w, c]);
  const tw = tf.tensor4d(f, filterShape);
  const [kh, kw] = filterShape;
  // multiply-adds per output element: the window times the input channels it sums (one for depthwise)
  const perOutput = op === 'conv2d' ? kh * kw * c : kh * kw;
  const result = await compare(
    `${op} ${n}x${h}x${w}x${c} * ${filterShape.join('x')} SAME float32`,
    y.shape.slice(1).reduce((a, b) => a * b, n) * perOutput,
    async () => (await sess.run(y, feeds)).data,
    async () => readTensor(tfjsOp(tx, tw)),
    args,
  );
  tx.dispose();
  tw.dispose();
  return result;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  await tf.setBackend('cpu');
  await tf.ready();
  const simd = setSimdGemm(args.simd);
  const machine = {
    nproc: os.cpus().length,
    cpu: os.cpus()[0] ? os.cpus()[0].model : 'unknown',
    node: process.version,
    tfjs: tf.version_core,
    graphcFloat32Gemm: simd ? 'wasm-simd' : 'javascript',
  };
  const names = args.only ? [args.only] : Object.keys(benchmarks);
  const results = [];
  for (const name of names) {
    if (!benchmarks[name]) {
      console.error(`bench: no benchmark '${name}' (have: ${Object.keys(benchmarks).join(', ')})`);
      process.exit(2);
    }
    results.push(await benchmarks[name](args));
  }
  if (args.json) {
    console.log(JSON.stringify({ machine, results }, null, 2));
    return;
  }
  console.log(`machine: ${machine.nproc} cpus, ${machine.cpu}, node ${machine.node}, tfjs ${machine.tfjs}; graphc float32 gemm: ${machine.graphcFloat32Gemm}`);
  console.log(`median of ${args.runs} runs after ${args.warmup} warm-up runs\n`);
  const pad = (s, n) => String(s).padEnd(n);
  console.log(`${pad('benchmark', 52)}${pad('graphc ms', 12)}${pad('tfjs-cpu ms', 13)}${pad('speedup', 9)}graphc GFLOP/s`);
  for (const r of results) {
    console.log(
      `${pad(r.name, 52)}${pad(r.graphc.medianMs.toFixed(1), 12)}${pad(r.tfjs.medianMs.toFixed(1), 13)}${pad(r.speedup.toFixed(2) + 'x', 9)}${r.graphc.gflops.toFixed(2)}`,
    );
  }
}

main().catch((e) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
