/**
 * Figures of the graph passes (BENCHMARKS.md, "Graph passes"): memory plans of ResNet-20 inference
 * and of an MLP training step with Adam, kernel counts and run times of fused blocks, and the
 * compile time of a 5,000-node graph.
 *
 *   npm run build && node scripts/ts-run.js bench/passes.ts [--runs 20] [--json]
 */
import * as path from 'path';
import {
  Graph,
  OptLevel,
  Session,
  SymbolicTensor,
  TensorValue,
  buildPlan,
  evaluateNode,
  loadModel,
  ops,
  optimizeModel,
  tensor,
  train,
} from 'graphc';

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 20;
const JSON_OUT = args.includes('--json');
const root = path.resolve(__dirname, '..');

const seq = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;

/** Median ms of each function, the functions run interleaved (run i of each, then run i + 1) so drift in machine load hits all alike. */
async function timeInterleaved(fns: Record<string, () => Promise<unknown>>, runs = RUNS): Promise<Record<string, number>> {
  const names = Object.keys(fns);
  for (let i = 0; i < 3; i++) for (const n of names) await fns[n]();
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) {
    for (const n of names) {
      const t0 = performance.now();
      await fns[n]();
      times[n].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(times[n])]));
}

function maxDiff(a: TensorValue, b: TensorValue): number {
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs(a.data[i] - b.data[i]));
  return d;
}

const results: Record<string, unknown> = {};
const lines: string[] = [];
const log = (s: string): void => {
  lines.push(s);
  if (!JSON_OUT) console.log(s);
};

async function resnet20(): Promise<void> {
  const model = await loadModel(path.join(root, 'models/resnet20/model.json'));
  for (const batch of [1, 8]) {
    const shapes = { x: [batch, 32, 32, 3] };
    const o0 = optimizeModel(model.graph, { level: 0, outputs: ['probs'], shapes, freeze: model.variables });
    const o2 = optimizeModel(model.graph, { level: 2, outputs: ['probs'], shapes, freeze: model.variables });
    const m = o2.report.memory;
    const fig = {
      batch,
      kernelsO0: o0.report.kernelsBefore,
      kernelsO2: o2.report.kernelsAfter,
      naiveBytesO0: o0.report.memory.naiveBytes,
      naiveBytes: m.naiveBytes,
      plannedBytes: m.plannedBytes,
      lowerBoundBytes: m.lowerBoundBytes,
      plannedOverLowerBound: m.plannedBytes / m.lowerBoundBytes,
      plannedOverNaive: m.plannedBytes / m.naiveBytes,
      compileMs: o2.report.compileMs,
    };
    results[`resnet20_batch${batch}`] = fig;
    log(
      `resnet20 batch ${batch} (frozen, O2): kernels ${fig.kernelsO0} -> ${fig.kernelsO2}; naive ${kib(m.naiveBytes)} (O0 schedule ${kib(fig.naiveBytesO0)}), ` +
        `planned ${kib(m.plannedBytes)}, lower bound ${kib(m.lowerBoundBytes)}: planned/LB ${fig.plannedOverLowerBound.toFixed(3)}, planned/naive ${fig.plannedOverNaive.toFixed(3)}; compile ${fig.compileMs.toFixed(0)} ms`,
    );
  }
  // run time, O0 vs O2, on the frozen graph
  const frozen = optimizeModel(model.graph, { level: 0, outputs: ['probs'], freeze: model.variables }).graph;
  const x = tensor(seq(8 * 32 * 32 * 3, (i) => Math.sin(i * 0.01)), [8, 32, 32, 3]);
  const out: Record<string, TensorValue> = {};
  const sessions: Record<string, Session> = {};
  for (const level of [0, 2] as OptLevel[]) {
    sessions[level] = new Session(frozen, { optimize: level });
    out[level] = await sessions[level].run('probs', { x });
  }
  const ms = await timeInterleaved({ 0: () => sessions[0].run('probs', { x }), 2: () => sessions[2].run('probs', { x }) });
  results.resnet20_run_batch8 = { o0Ms: ms[0], o2Ms: ms[2], maxAbsDiff: maxDiff(out[0], out[2]) };
  log(`resnet20 batch 8 run: O0 ${ms[0].toFixed(1)} ms, O2 ${ms[2].toFixed(1)} ms (max |diff| ${maxDiff(out[0], out[2]).toExponential(1)})`);
}

async function mlpAdam(): Promise<void> {
  const { graph } = await loadModel(path.join(root, 'models/fashion-mlp/model.json'));
  const loss = graph.tensor('loss');
  const step = new train.Adam(0.001).minimize(loss);
  const batch = 64;
  const feeds = { x: tensor(seq(batch * 784, (i) => (i * 37) % 256), [batch, 784]), y: tensor(seq(batch, (i) => i % 10), [batch], 'int32') };
  for (const level of [0, 2] as OptLevel[]) {
    const plan = buildPlan({
      graph,
      fetchNames: [loss.name],
      targetNames: [step.name],
      feedNames: ['x', 'y'],
      feedShapes: [[batch, 784], [batch]],
      level,
      evaluate: evaluateNode,
      planMemory: true,
    });
    const m = plan.memory!;
    results[`mlp_adam_O${level}`] = {
      kernels: plan.kernels,
      naiveBytes: m.naiveBytes,
      plannedBytes: m.plannedBytes,
      lowerBoundBytes: m.lowerBoundBytes,
      plannedOverNaive: m.plannedBytes / m.naiveBytes,
    };
    log(
      `fashion-mlp Adam training step, batch ${batch}, O${level}: ${plan.kernels} kernels; naive ${kib(m.naiveBytes)}, planned ${kib(m.plannedBytes)}, ` +
        `lower bound ${kib(m.lowerBoundBytes)}: planned/naive ${(m.plannedBytes / m.naiveBytes).toFixed(3)}`,
    );
  }
  const losses: Record<string, number[]> = {};
  const sessions: Record<string, Session> = {};
  for (const level of [0, 2] as OptLevel[]) {
    const sess = (sessions[level] = new Session(graph, { optimize: level }));
    await sess.run(graph.globalVariablesInitializer());
    losses[level] = [];
    for (let i = 0; i < 3; i++) losses[level].push((await sess.run({ loss, step }, feeds)).loss.data[0]);
  }
  const ms = await timeInterleaved({ 0: () => sessions[0].run({ loss, step }, feeds), 2: () => sessions[2].run({ loss, step }, feeds) });
  results.mlp_adam_run = { o0Ms: ms[0], o2Ms: ms[2], lossesO0: losses[0], lossesO2: losses[2] };
  log(`fashion-mlp Adam step run: O0 ${ms[0].toFixed(1)} ms, O2 ${ms[2].toFixed(1)} ms; first losses O0 ${losses[0].map((l) => l.toFixed(5))} O2 ${losses[2].map((l) => l.toFixed(5))}`);
}

async function geluDense(): Promise<void> {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 512], 'x');
  const W = g.constant(tensor(seq(512 * 512, (i) => Math.sin(i) * 0.05), [512, 512]), 'W');
  const b = g.constant(tensor(seq(512, (i) => Math.cos(i) * 0.1), [512]), 'b');
  const y = ops.gelu(ops.add(ops.matmul(x, W), b), false, 'y');
  const feeds = { x: tensor(seq(256 * 512, (i) => Math.cos(i * 0.3)), [256, 512]) };
  const fig: Record<string, number> = {};
  const outs: TensorValue[] = [];
  const runs: Record<string, () => Promise<unknown>> = {};
  for (const level of [0, 1, 2] as OptLevel[]) {
    const sess = new Session(g, { optimize: level });
    outs.push(await sess.run(y, feeds));
    fig[`kernelsO${level}`] = sess.plans()[0].kernels;
    runs[`msO${level}`] = () => sess.run(y, feeds);
  }
  Object.assign(fig, await timeInterleaved(runs));
  fig.maxAbsDiff = maxDiff(outs[0], outs[2]);
  results.gelu_dense_256x512x512 = fig;
  log(
    `gelu(matmul(x, W) + b), x 256x512, W 512x512: kernels O0 ${fig.kernelsO0}, O1 ${fig.kernelsO1}, O2 ${fig.kernelsO2}; ` +
      `run O0 ${fig.msO0.toFixed(2)} ms, O1 ${fig.msO1.toFixed(2)} ms, O2 ${fig.msO2.toFixed(2)} ms (max |diff| ${fig.maxAbsDiff.toExponential(1)})`,
  );

  const g2 = new Graph();
  const img = g2.placeholder('float32', [null, 32, 32, 16], 'x');
  const w = g2.constant(tensor(seq(3 * 3 * 16 * 16, (i) => Math.sin(i) * 0.1), [3, 3, 16, 16]));
  const c = (v: number[]) => g2.constant(tensor(v, [16]));
  const block = ops.relu(ops.batchNorm(ops.conv2d(img, w, 1, 'SAME'), c(Array(16).fill(0.1)), c(Array(16).fill(1.5)), c(Array(16).fill(0)), c(Array(16).fill(0.9)), 1e-3), 'block');
  const feeds2 = { x: tensor(seq(8 * 32 * 32 * 16, (i) => Math.sin(i * 0.7)), [8, 32, 32, 16]) };
  const fig2: Record<string, number> = {};
  const runs2: Record<string, () => Promise<unknown>> = {};
  for (const level of [0, 2] as OptLevel[]) {
    const sess = new Session(g2, { optimize: level });
    await sess.run(block, feeds2);
    fig2[`kernelsO${level}`] = sess.plans()[0].kernels;
    runs2[`msO${level}`] = () => sess.run(block, feeds2);
  }
  Object.assign(fig2, await timeInterleaved(runs2));
  results.conv_bn_relu_8x32x32x16 = fig2;
  log(`conv2d 3x3 16->16 + batchNorm + relu, x 8x32x32x16: kernels O0 ${fig2.kernelsO0}, O2 ${fig2.kernelsO2}; run O0 ${fig2.msO0.toFixed(2)} ms, O2 ${fig2.msO2.toFixed(2)} ms`);
}

/** A graph of `blocks` residual dense blocks (about 8 nodes each). */
function bigGraph(blocks: number): { g: Graph; out: SymbolicTensor } {
  const g = new Graph();
  let h: SymbolicTensor = g.placeholder('float32', [null, 32], 'x');
  for (let i = 0; i < blocks; i++) {
    const W = g.constant(tensor(seq(32 * 32, (j) => Math.sin(i + j) * 0.1), [32, 32]));
    const b = g.constant(tensor(seq(32, (j) => Math.cos(i * j) * 0.1), [32]));
    const a = ops.add(ops.matmul(h, W), b);
    const act = i % 2 ? ops.gelu(a) : ops.tanh(ops.mul(a, 0.5));
    h = ops.add(h, ops.mul(act, 0.1));
  }
  return { g, out: h };
}

async function compileTime(): Promise<void> {
  const { g, out } = bigGraph(625);
  const nodes = g.nodes.length;
  const times: number[] = [];
  let plan;
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    plan = buildPlan({ graph: g, fetchNames: [out.name], targetNames: [], feedNames: ['x'], feedShapes: [[16, 32]], level: 2, evaluate: evaluateNode });
    times.push(performance.now() - t0);
  }
  // a pass that runs more than once (constantFold and simplify repeat until neither changes the graph) is summed
  const passMs = new Map<string, number>();
  for (const p of plan!.passes) passMs.set(p.name, (passMs.get(p.name) ?? 0) + p.ms);
  const passes = Object.fromEntries([...passMs].map(([name, ms]) => [name, Number(ms.toFixed(1))]));
  results.compile_5000 = { nodes, scheduled: plan!.schedule.length, kernels: plan!.kernels, medianMs: median(times.slice(1)), firstMs: times[0], passesMs: passes };
  log(
    `compile (O2 + memory planning) of a ${nodes}-node graph: median ${median(times.slice(1)).toFixed(0)} ms (first ${times[0].toFixed(0)} ms), ` +
      `${plan!.schedule.length} scheduled nodes, ${plan!.kernels} kernels; per pass (last run, ms): ${JSON.stringify(passes)}`,
  );
}

(async () => {
  await resnet20();
  await mlpAdam();
  await geluDense();
  await compileTime();
  if (JSON_OUT) console.log(JSON.stringify(results, null, 2));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
