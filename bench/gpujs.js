#!/usr/bin/env node
/**
 * The gpujs backend (each gpu.js mode this machine runs) beside the cpu and webgpu backends, on the
 * same GEMM and model benchmarks, in one process and one run:
 *
 *   npx tsc -b packages/cli && node bench/gpujs.js              # markdown table
 *   node bench/gpujs.js --json --runs 10 --budget 20 --only gemm
 *
 * A row times one full `Session.run` (feeds in, fetched outputs copied out) after `--warmup` untimed
 * runs (the first compiles the plan): the median of up to `--runs` timed runs, fewer when a row has
 * spent `--budget` seconds (at least 3). Every backend's outputs are checked against the cpu
 * backend's (1e-3 relative) before timing. The backends take turns per benchmark.
 */
'use strict';

const os = require('os');

const { loadGraphc, median, seededArray: randomArray } = require('./common');
const graphc = loadGraphc();
const { Graph, Session, ops, tensor, train, GpujsBackend, gpujsUnavailableReason } = graphc;

function parseArgs(argv) {
  const args = { runs: 10, warmup: 2, budget: 20, json: false, only: null, modes: null, large: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a === '--warmup') args.warmup = Number(argv[++i]);
    else if (a === '--budget') args.budget = Number(argv[++i]);
    else if (a === '--json') args.json = true;
    else if (a === '--only') args.only = argv[++i];
    else if (a === '--modes') args.modes = argv[++i].split(',');
    else if (a === '--large') args.large = true;
    else {
      console.error(`bench: unknown argument '${a}' (use --runs N, --warmup N, --budget S, --json, --only NAME, --modes a,b, --large)`);
      process.exit(2);
    }
  }
  return args;
}

/** Benchmarks: each builds a graph and returns what one timed run fetches and feeds. */
function gemm(n) {
  return {
    name: `gemm-${n}`,
    what: `matmul [${n}, ${n}] x [${n}, ${n}] float32`,
    flops: 2 * n * n * n,
    build() {
      const g = new Graph();
      const a = g.placeholder('float32', [n, n], 'a');
      const b = g.placeholder('float32', [n, n], 'b');
      return { graph: g, fetches: [ops.matmul(a, b)], feeds: { a: tensor(randomArray(n * n, 1), [n, n]), b: tensor(randomArray(n * n, 2), [n, n]) } };
    },
  };
}

function dense(g, x, units, name, seed) {
  const inputs = x.shape[1];
  const w = g.variable(tensor(randomArray(inputs * units, seed, Math.sqrt(6 / (inputs + units))), [inputs, units]), `${name}/W`);
  const b = g.variable(tensor(new Float32Array(units), [units]), `${name}/b`);
  return ops.add(ops.matmul(x, w), b);
}

function mlp(sizes, batch, training) {
  return {
    name: `mlp-${training ? 'train' : 'infer'}-b${batch}`,
    what: `MLP ${sizes.join('-')}, batch ${batch}, ${training ? 'one Adam training step' : 'inference (softmax)'}`,
    flops: (training ? 3 : 1) * 2 * batch * sizes.slice(1).reduce((s, u, i) => s + sizes[i] * u, 0),
    build() {
      const g = new Graph();
      const x = g.placeholder('float32', [null, sizes[0]], 'x');
      let h = x;
      for (let i = 1; i < sizes.length; i++) {
        h = dense(g, h, sizes[i], `dense${i}`, 10 + i);
        if (i < sizes.length - 1) h = ops.relu(h);
      }
      const feeds = { x: tensor(randomArray(batch * sizes[0], 3), [batch, sizes[0]]) };
      if (!training) return { graph: g, fetches: [ops.softmax(h)], feeds, init: true };
      const y = g.placeholder('int32', [null], 'y');
      const loss = ops.reduceMean(ops.sparseSoftmaxCrossEntropyWithLogits(y, h));
      const step = new train.Adam(0.001).minimize(loss);
      feeds.y = tensor(Array.from({ length: batch }, (_, i) => i % sizes[sizes.length - 1]), [batch], 'int32');
      return { graph: g, fetches: [loss, step], feeds, init: true, stateful: true };
    },
  };
}

function cnn(batch) {
  return {
    name: `cnn-infer-b${batch}`,
    what: `CNN 28x28x1 -> conv3x3x16 -> pool -> conv3x3x32 -> pool -> dense 128 -> 10, batch ${batch}, inference`,
    flops: 2 * batch * (28 * 28 * 9 * 16 + 14 * 14 * 9 * 16 * 32 + 1568 * 128 + 1280),
    build() {
      const g = new Graph();
      const x = g.placeholder('float32', [null, 28, 28, 1], 'x');
      const conv = (t, cin, cout, name, seed) => {
        const w = g.variable(tensor(randomArray(9 * cin * cout, seed, Math.sqrt(2 / (9 * cin))), [3, 3, cin, cout]), `${name}/W`);
        const b = g.variable(tensor(new Float32Array(cout), [cout]), `${name}/b`);
        return ops.maxPool(ops.relu(ops.add(ops.conv2d(t, w, 1, 'SAME'), b)), 2, 2, 'VALID');
      };
      const c2 = conv(conv(x, 1, 16, 'conv1', 21), 16, 32, 'conv2', 22);
      const flat = ops.reshape(c2, [-1, 1568]);
      const logits = dense(g, ops.relu(dense(g, flat, 128, 'fc1', 23)), 10, 'fc2', 24);
      return { graph: g, fetches: [ops.softmax(logits)], feeds: { x: tensor(randomArray(batch * 784, 5), [batch, 28, 28, 1]) }, init: true };
    },
  };
}

async function backends(args) {
  const list = [{ label: 'cpu', make: () => 'cpu' }, { label: 'webgpu', make: () => 'webgpu' }];
  const modes = args.modes ?? ['webgpu', 'headlessgl', 'webasm', 'cpu'];
  for (const mode of modes) {
    const why = await gpujsUnavailableReason(mode);
    if (why) list.push({ label: `gpujs (${mode})`, skip: why });
    else list.push({ label: `gpujs (${mode})`, make: () => new GpujsBackend({ mode, onFallback: () => undefined }) });
  }
  return list;
}

function maxRelDiff(got, want) {
  let worst = 0;
  let scale = 1e-6;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + 1e-3 * scale));
  return worst;
}

async function runRow(bench, backend, args, reference) {
  const { graph, fetches, feeds, init, stateful } = bench.build();
  const session = new Session(graph, { backend: backend.make() });
  try {
    if (init) await session.run(graph.globalVariablesInitializer());
    const first = await session.run(fetches, feeds);
    const out = first.filter(Boolean).map((v) => Array.from(v.data));
    let check = null;
    if (reference) check = Math.max(...out.map((o, k) => maxRelDiff(o, reference[k])));
    for (let i = 1; i < args.warmup; i++) await session.run(fetches, feeds);
    const times = [];
    const start = Date.now();
    while (times.length < args.runs && (times.length < 3 || Date.now() - start < args.budget * 1000)) {
      const t0 = process.hrtime.bigint();
      await session.run(fetches, feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const info = session.backend.lastInfo;
    return {
      backend: backend.label,
      medianMs: median(times),
      minMs: Math.min(...times),
      runs: times.length,
      gflops: bench.flops / (median(times) * 1e6),
      maxRelDiffVsCpu: check,
      // stateful rows (training) change the weights every run, so only the first run is compared
      checked: stateful ? 'first run' : 'yes',
      executor: info ? `${info.executor}${info.pipelineExecutor ? `:${info.pipelineExecutor}` : ''}` : undefined,
      modesRan: info ? info.modesRan.join(',') : undefined,
      output: out,
    };
  } finally {
    session.close();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const benches = [gemm(128), gemm(256), gemm(512), mlp([784, 256, 128, 10], 64, false), mlp([784, 1024, 1024, 10], 64, true), cnn(16)];
  if (args.large) benches.push(gemm(1024), mlp([784, 1024, 1024, 10], 512, true));
  const selected = benches.filter((b) => !args.only || b.name.includes(args.only));
  const list = await backends(args);
  const rows = [];
  for (const bench of selected) {
    let reference = null;
    for (const backend of list) {
      if (backend.skip) {
        rows.push({ bench: bench.name, backend: backend.label, error: `not available: ${backend.skip}` });
        continue;
      }
      try {
        const r = await runRow(bench, backend, args, reference);
        if (backend.label === 'cpu') reference = r.output;
        delete r.output;
        rows.push({ bench: bench.name, ...r });
      } catch (e) {
        rows.push({ bench: bench.name, backend: backend.label, error: String(e.message).split('\n')[0].slice(0, 160) });
      }
      if (!args.json) process.stderr.write(`${bench.name} ${backend.label}: ${rows[rows.length - 1].error ?? `${rows[rows.length - 1].medianMs.toFixed(2)} ms`}\n`);
    }
  }
  const machine = `${os.cpus()[0].model.trim()}, ${os.cpus().length} cores, node ${process.version}`;
  if (args.json) {
    console.log(JSON.stringify({ machine, runs: args.runs, warmup: args.warmup, rows }, null, 2));
    return;
  }
  console.log(`Machine: ${machine}\n`);
  for (const bench of selected) console.log(`- **${bench.name}**: ${bench.what}`);
  console.log('\n| benchmark | backend | median ms | min ms | runs | GFLOP/s | max rel. diff vs cpu | executor |');
  console.log('|---|---|---:|---:|---:|---:|---:|---|');
  for (const r of rows) {
    if (r.error) console.log(`| ${r.bench} | ${r.backend} | — | — | — | — | — | ${r.error.replace(/\|/g, '/')} |`);
    else {
      const diff = r.maxRelDiffVsCpu === null ? '(reference)' : `${r.maxRelDiffVsCpu.toExponential(1)}${r.checked === 'first run' ? ' (1st run)' : ''}`;
      console.log(`| ${r.bench} | ${r.backend} | ${r.medianMs.toFixed(2)} | ${r.minMs.toFixed(2)} | ${r.runs} | ${r.gflops.toFixed(2)} | ${diff} | ${r.executor ?? ''} |`);
    }
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
