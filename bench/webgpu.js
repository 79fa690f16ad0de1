#!/usr/bin/env node
/**
 * The webgpu backend against the cpu backend, in one process on the same inputs:
 *
 *   npx tsc -b packages/cli && node bench/webgpu.js               # every benchmark
 *   node bench/webgpu.js --only gemm --sizes 256,512,1024 --runs 5
 *   node bench/webgpu.js --only mlp --json          # --only takes a list: --only gemm,mlp
 *   node bench/webgpu.js --torch      # and PyTorch on the same GPU (bench/torch_ref.py; see bench/gpu-device.sh)
 *   node bench/webgpu.js --only gemm --gemm-tile both   # 64x64 and 128x128 GEMM tiles, one run
 *   node bench/webgpu.js --gemm-tile all    # 64, 128 and 'auto' (the default), for the GEMMs and the MLP step
 *
 * - gemm: C = A @ B, square N x N for N in --sizes (default 256..4096); A and B are variables, so
 *   they are resident on the device and a run is the product plus reading C back.
 * - mlp: one training step of a 784-1024-1024-10 MLP (ReLU, sparse softmax cross-entropy, Adam),
 *   batch 512: the batch goes in, the loss comes out, weights and Adam slots stay on the device.
 * - convnet: inference of models/fashion-cnn (batch 64) and models/resnet20 (batch 16): the images go
 *   in, the class probabilities come out.
 *
 * Each figure is the median wall time of one full `Session.run` over --runs timed runs after
 * --warmup untimed ones (the first run compiles the plan, WGSL pipelines included). The two
 * backends run interleaved run by run, and their outputs are checked against each other first.
 * On a machine without a GPU the webgpu adapter is Mesa's lavapipe, which runs the WGSL kernels on
 * the CPU (software Vulkan): its figures say nothing about GPU speed. The adapter is printed.
 */
'use strict';

const path = require('path');
const os = require('os');

const root = path.resolve(__dirname, '..');
const { loadGraphc, median, seededArray: randomArray } = require('./common');
const graphc = loadGraphc();
const { Graph, Session, ops, tensor, train, loadModel, initializeFromModel, webgpuAvailability, releaseGpu } = graphc;

/** --gemm-tile: one setting, `both` (64 and 128) or `all` (64, 128 and auto). */
function parseTiles(value) {
  if (value === 'both') return [64, 128];
  if (value === 'all') return [64, 128, 'auto'];
  return [value === 'auto' ? 'auto' : Number(value)];
}

function parseArgs(argv) {
  const args = { runs: 5, warmup: 2, json: false, only: null, sizes: [256, 512, 1024, 2048, 4096], torch: false, gemmTiles: ['auto'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a === '--warmup') args.warmup = Number(argv[++i]);
    else if (a === '--json') args.json = true;
    else if (a === '--only') args.only = argv[++i].split(',');
    else if (a === '--sizes') args.sizes = argv[++i].split(',').map(Number);
    else if (a === '--torch') args.torch = true;
    else if (a === '--gemm-tile') args.gemmTiles = parseTiles(argv[++i]);
    else {
      console.error(`bench: unknown argument '${a}' (use --runs N, --warmup N, --json, --only gemm|mlp|convnet[,...], --sizes N,N,..., --torch, --gemm-tile 64|128|auto|both|all)`);
      process.exit(2);
    }
  }
  if (!(args.runs >= 1) || !(args.warmup >= 0) || !args.sizes.every((n) => Number.isInteger(n) && n > 0) || !args.gemmTiles.every((t) => t === 64 || t === 128 || t === 'auto')) {
    console.error('bench: --runs must be >= 1, --warmup >= 0, --sizes positive integers, --gemm-tile 64, 128, auto, both or all');
    process.exit(2);
  }
  return args;
}

/** Largest |a - b| relative to the largest |b|. */
function relativeDiff(a, b) {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/**
 * Times `runOn(backendName, session)` on both backends, interleaved. `setup(backend)` returns
 * { session, run } where run() performs one full Session.run and returns a value to compare.
 */
async function compare(name, setup, args, flops) {
  const sides = {};
  for (const backend of ['cpu', 'webgpu']) sides[backend] = await setup(backend);
  const first = {};
  for (const backend of ['cpu', 'webgpu']) {
    const t = performance.now();
    first[backend] = await sides[backend].run();
    sides[backend].firstMs = performance.now() - t;
  }
  const check = relativeDiff(first.webgpu.data, first.cpu.data);
  for (let i = 1; i < args.warmup; i++) for (const backend of ['cpu', 'webgpu']) await sides[backend].run();
  const times = { cpu: [], webgpu: [] };
  for (let i = 0; i < args.runs; i++) {
    for (const backend of ['cpu', 'webgpu']) {
      const t = performance.now();
      await sides[backend].run();
      times[backend].push(performance.now() - t);
    }
  }
  const stats = sides.webgpu.session.lastStats();
  const result = {
    name,
    cpuMs: median(times.cpu),
    webgpuMs: median(times.webgpu),
    webgpuFirstRunMs: sides.webgpu.firstMs,
    maxRelativeDiff: check,
    bytesUploadedPerRun: stats.lastRunBytesUploaded,
    bytesDownloadedPerRun: stats.lastRunBytesDownloaded,
    submitsPerRun: stats.lastRunSubmits,
    dispatchesPerRun: stats.dispatchesPerRun,
    fallbackOps: stats.fallbackOps,
  };
  if (flops) {
    result.cpuGflops = flops / result.cpuMs / 1e6;
    result.webgpuGflops = flops / result.webgpuMs / 1e6;
  }
  for (const backend of ['cpu', 'webgpu']) sides[backend].session.close();
  return result;
}

async function gemm(n, args) {
  return compare(
    `matmul ${n}x${n} @ ${n}x${n}`,
    async (backend) => {
      const g = new Graph();
      const a = g.variable(tensor(randomArray(n * n, 1), [n, n]), 'A');
      const b = g.variable(tensor(randomArray(n * n, 2), [n, n]), 'B');
      const c = ops.matmul(a, b);
      const session = new Session(g, { backend });
      await session.run(g.globalVariablesInitializer());
      return { session, run: () => session.run(c) };
    },
    args,
    2 * n * n * n,
  );
}

/**
 * Device throughput of the webgpu GEMM, the protocol bench/torch_ref.py uses for PyTorch: `runs`
 * back-to-back runs of assign(C, A @ B) (nothing read back), then one fetch of a single element
 * of C, which waits for all of them; the mean per product, launch and submit overhead included.
 */
async function gemmThroughput(n, args) {
  const g = new Graph();
  const a = g.variable(tensor(randomArray(n * n, 1), [n, n]), 'A');
  const b = g.variable(tensor(randomArray(n * n, 2), [n, n]), 'B');
  const c = g.variable(tensor(new Float32Array(n * n), [n, n]), 'C');
  const product = ops.assign(c, ops.matmul(a, b));
  const corner = ops.slice(c, [0, 0], [1, 1]);
  const session = new Session(g, { backend: 'webgpu' });
  await session.run(g.globalVariablesInitializer());
  for (let i = 0; i < args.warmup; i++) await session.run(product);
  await session.run(corner);
  const t = performance.now();
  for (let i = 0; i < args.runs; i++) await session.run(product);
  await session.run(corner);
  const ms = (performance.now() - t) / args.runs;
  session.close();
  return { webgpuDeviceMs: ms, webgpuDeviceTflops: (2 * n * n * n) / ms / 1e9 };
}

async function mlpStep(args) {
  const batch = 512;
  const sizes = [784, 1024, 1024, 10];
  const x = tensor(randomArray(batch * 784, 3), [batch, 784]);
  const y = tensor(Array.from({ length: batch }, (_, i) => (i * 7) % 10), [batch], 'int32');
  let flops = 0;
  for (let l = 0; l + 1 < sizes.length; l++) flops += 3 * 2 * batch * sizes[l] * sizes[l + 1];
  return compare(
    `MLP 784-1024-1024-10 training step (Adam, batch ${batch})`,
    async (backend) => {
      const g = new Graph();
      let h = g.placeholder('float32', [null, 784], 'x');
      const labels = g.placeholder('int32', [null], 'y');
      for (let l = 0; l + 1 < sizes.length; l++) {
        const W = g.variable(tensor(randomArray(sizes[l] * sizes[l + 1], 10 + l, Math.sqrt(2 / sizes[l])), [sizes[l], sizes[l + 1]]), `W${l}`);
        const b = g.variable(tensor(new Float32Array(sizes[l + 1]), [sizes[l + 1]]), `b${l}`);
        h = ops.add(ops.matmul(h, W), b);
        if (l + 2 < sizes.length) h = ops.relu(h);
      }
      const loss = ops.mean(ops.sparseSoftmaxCrossEntropyWithLogits(labels, h));
      const step = new train.Adam(0.001).minimize(loss);
      const session = new Session(g, { backend });
      await session.run(g.globalVariablesInitializer());
      // every run trains; both backends take the same steps, so their losses stay comparable
      return { session, run: async () => (await session.run({ loss, step }, { x, y })).loss };
    },
    args,
    flops,
  );
}

async function convnet(dir, batch, args) {
  return compare(
    `${dir} inference (batch ${batch})`,
    async (backend) => {
      const model = await loadModel(path.join(root, 'models', dir, 'model.json'));
      const g = model.graph;
      const session = new Session(g, { backend });
      await initializeFromModel(session, model);
      const signature = g.metadata.signature;
      const input = g.tensor(signature.inputs[0]);
      const shape = input.shape.map((d) => (d === null ? batch : d));
      const feeds = { [input.name]: tensor(randomArray(shape.reduce((p, d) => p * d, 1), 4).map((v) => (v + 1) * 127), shape) };
      return { session, run: () => session.run(signature.outputs[0], feeds) };
    },
    args,
  );
}

/** PyTorch on the same machine, same sizes (bench/torch_ref.py); exits if it cannot run. */
function torchFigures(args) {
  const only = args.only?.length === 1 && ['gemm', 'mlp'].includes(args.only[0]) ? ['--only', args.only[0]] : [];
  const r = require('child_process').spawnSync(
    'python3',
    [path.join(__dirname, 'torch_ref.py'), '--json', '--sizes', args.sizes.join(','), '--runs', String(Math.max(args.runs, 10)), ...only],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) {
    console.error(`bench: --torch: bench/torch_ref.py failed: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`);
    process.exit(1);
  }
  return JSON.parse(r.stdout);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const gpu = await webgpuAvailability();
  if (!gpu.available) {
    console.error(`bench: no WebGPU adapter: ${gpu.reason}`);
    process.exit(1);
  }
  const machine = {
    adapter: gpu.adapter,
    software: gpu.software,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    node: process.version,
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
  const results = [];
  const want = (name) => !args.only || args.only.includes(name);
  // a tile setting applies to plans compiled from here on (large products only; see kernels/gemm.ts)
  for (const tile of args.gemmTiles) {
    graphc.setWebGpuGemmTile(tile);
    if (want('gemm')) for (const n of args.sizes) results.push({ ...(await gemm(n, args)), ...(await gemmThroughput(n, args)), gemmTile: tile });
    if (want('mlp')) results.push({ ...(await mlpStep(args)), gemmTile: tile });
  }
  graphc.setWebGpuGemmTile('auto');
  if (want('convnet')) {
    results.push(await convnet('fashion-cnn', 64, args));
    results.push(await convnet('resnet20', 16, args));
  }
  const torch = args.torch ? torchFigures(args) : null;
  if (torch) {
    machine.torch = `${torch.device}, torch ${torch.torch}, TF32 off`;
    for (const r of results) {
      const peer = torch.results.find((t) => t.name === r.name);
      if (!peer) continue;
      r.torchMs = peer.ms;
      // the GEMM compares device throughput (same protocol both sides); the MLP full training steps
      r.graphcVsTorch = peer.ms / (r.webgpuDeviceMs ?? r.webgpuMs);
    }
  }
  if (args.json) console.log(JSON.stringify({ machine, runs: args.runs, warmup: args.warmup, results }, null, 2));
  else {
    console.log(`webgpu adapter: ${machine.adapter}${machine.software ? ' (software: WGSL kernels run on the CPU)' : ''}`);
    console.log(`cpu: ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, load ${machine.loadAverage.join(' ')}`);
    console.log(`median of ${args.runs} runs after ${args.warmup} warm-up runs\n`);
    if (torch) console.log(`peer: ${machine.torch}`);
    console.log('| benchmark | cpu ms | webgpu ms | webgpu / cpu | cpu GFLOP/s | webgpu GFLOP/s | webgpu device ms | torch ms | graphc / torch speed | webgpu first run ms | max rel. diff |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of results) {
      const f = (v, d = 1) => (v === undefined ? '' : v.toFixed(d));
      console.log(
        `| ${r.name}${r.gemmTile && args.gemmTiles.length > 1 ? ` (${r.gemmTile} tiles)` : ''} | ${f(r.cpuMs)} | ${f(r.webgpuMs)} | ${f(r.cpuMs / r.webgpuMs, 2)}x | ${f(r.cpuGflops, 2)} | ${f(r.webgpuGflops, 2)} | ` +
          `${f(r.webgpuDeviceMs, 2)} | ${f(r.torchMs, 2)} | ${f(r.graphcVsTorch, 2)} | ${f(r.webgpuFirstRunMs, 0)} | ${r.maxRelativeDiff.toExponential(1)} |`,
      );
    }
  }
  releaseGpu();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
