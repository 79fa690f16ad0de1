'use strict';
/** What the benchmark scripts share: the built package, seeded inputs, the statistics they report. */
const path = require('path');

/**
 * The built `graphc` package (packages/cli/dist), with relaxed SIMD on as the `graphc` CLI has it
 * (GRAPHC_CPU_FMA=0 times the mul+add kernels); without a build, a one-line reason and exit 2.
 */
function loadGraphc() {
  try {
    const graphc = require(path.join(__dirname, '..', 'packages/cli/dist'));
    graphc.enableRelaxedSimd();
    return graphc;
  } catch (e) {
    console.error(`bench: cannot load packages/cli/dist (${e.message}); run \`npx tsc -b packages/cli\` first`);
    process.exit(2);
  }
}

/** Deterministic float32 values in [-scale, scale) (an LCG), so every run sees the same inputs. */
function seededArray(n, seed, scale = 1) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/**
 * The script's command-line options, `--name value` or, for a boolean default, a bare `--name`,
 * with `defaults` giving the names, types and values; an unknown option or a number that is not a
 * positive number is a one-line reason and exit 2.
 */
function parseFlags(defaults, argv = process.argv.slice(2)) {
  const out = { ...defaults };
  const usage = Object.entries(defaults)
    .map(([k, v]) => (typeof v === 'boolean' ? `--${k}` : `--${k} ${typeof v === 'number' ? 'N' : 'VALUE'}`))
    .join(', ');
  const fail = (why) => {
    console.error(`bench: ${why} (options: ${usage})`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (!argv[i].startsWith('--') || !(name in defaults)) fail(`unknown argument '${argv[i]}'`);
    if (typeof defaults[name] === 'boolean') {
      out[name] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) fail(`--${name} needs a value`);
    if (typeof defaults[name] === 'number') {
      out[name] = Number(value);
      if (!(out[name] > 0)) fail(`--${name} must be a positive number, got '${value}'`);
    } else out[name] = value;
  }
  return out;
}

/** The median (the mean of the middle two for an even count). */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The median time in ms of `runs` awaited calls of `run`, after `warmup` untimed ones. */
async function medianMs(run, runs, warmup) {
  for (let i = 0; i < warmup; i++) await run();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** A profiled session's kernel time per op over `runs` runs: { op, nodes, msPerRun }, slowest first. */
function timePerOp(profile, runs) {
  const byOp = new Map();
  for (const t of profile) {
    const e = byOp.get(t.op) ?? { op: t.op, nodes: 0, msPerRun: 0 };
    e.nodes++;
    e.msPerRun += t.ms / runs;
    byOp.set(t.op, e);
  }
  return [...byOp.values()].sort((a, b) => b.msPerRun - a.msPerRun);
}

/** Largest |a[i] - b[i]|; Infinity when the lengths differ. */
function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * onnxruntime's median time (ms) on an exported model, with one intra-op thread and with its default
 * pool: [one thread, default]. Its first output is checked against `reference` (graphc's values)
 * within `tolerance` first, naming `label` where it differs.
 */
async function onnxruntimeTimes(bytes, input, shape, reference, { runs, label, tolerance = 1e-4 }) {
  const ort = require('onnxruntime-node');
  const times = [];
  for (const threads of [1, 0]) {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, shape) };
    const reply = await session.run(feeds);
    const diff = maxAbsDiff(reply[session.outputNames[0]].data, reference);
    if (!(diff < tolerance)) throw new Error(`${label}: onnxruntime's output differs from graphc's by ${diff}`);
    times.push(await medianMs(() => session.run(feeds), runs, 5));
    await session.release();
  }
  return times;
}

module.exports = { loadGraphc, seededArray, median, medianMs, maxAbsDiff, onnxruntimeTimes, parseFlags, timePerOp };
