#!/usr/bin/env node
// Differential fuzzers, run against the built packages (`npm run fuzz` builds first):
//   node tests/fuzz/run.js [--suite passes|onnx|model] [--count N] [--seed S] [--quiet]
// Case i uses seed S + i, so a failure reproduces with `--seed <its seed> --count 1`. Suites are
// modules (or a module's export, `file#name`) with `runCase(seed) -> { seed, ok, detail? }` and
// optionally `outcomes` and `finish()`; add one to SUITES to join.
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: filename,
  });
  module._compile(outputText, filename);
};

const SUITES = {
  passes: './passes-fuzz.ts',
  onnx: './onnx-fuzz.ts',
  model: './model-fuzz.ts',
  webgpu: './backend-fuzz.ts',
  gpujs: './backend-fuzz.ts#gpujs',
  'onnx-export': './onnx-export-fuzz.ts',
  gradients: './gradient-fuzz.ts',
};

function parseArgs(argv) {
  const opts = { suite: 'passes', count: 1000, seed: 1, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--suite') opts.suite = next();
    else if (a === '--count') opts.count = Number(next());
    else if (a === '--seed') opts.seed = Number(next());
    else if (a === '--quiet') opts.quiet = true;
    else usage(`unknown argument '${a}'`);
  }
  if (!Number.isInteger(opts.count) || opts.count < 1) usage('--count must be a positive integer');
  if (!Number.isInteger(opts.seed) || opts.seed < 0) usage('--seed must be a non-negative integer');
  if (!(opts.suite in SUITES)) usage(`unknown suite '${opts.suite}' (suites: ${Object.keys(SUITES).join(', ')})`);
  return opts;
}

function usage(message) {
  console.error(`fuzz: ${message}\nusage: node tests/fuzz/run.js [--suite ${Object.keys(SUITES).join('|')}] [--count N] [--seed S] [--quiet]`);
  process.exit(2);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  // `file#name`: the suite is that export of the module
  const [file, member] = SUITES[opts.suite].split('#');
  const mod = require(path.join(__dirname, file));
  const suite = member ? { finish: mod.finish, ...mod[member] } : mod;
  console.log(`fuzz: suite=${opts.suite} seed=${opts.seed} count=${opts.count}`);
  const start = Date.now();
  const failures = [];
  let skipped = 0;
  for (let i = 0; i < opts.count; i++) {
    const seed = opts.seed + i;
    let result;
    try {
      result = await suite.runCase(seed);
    } catch (e) {
      result = { seed, ok: false, detail: `seed ${seed}: crashed: ${e && e.stack ? e.stack : e}` };
    }
    if (!result.ok) {
      failures.push(result);
      console.log(`MISMATCH ${result.detail}`);
    } else if (result.detail) skipped++;
    if (!opts.quiet && (i + 1) % 500 === 0) console.log(`  ${i + 1}/${opts.count} cases, ${failures.length} mismatches (${((Date.now() - start) / 1000).toFixed(1)} s)`);
  }
  if (suite.finish) suite.finish();
  const secs = ((Date.now() - start) / 1000).toFixed(1);
  console.log(`fuzz: suite=${opts.suite} seed=${opts.seed} count=${opts.count} mismatches=${failures.length} skipped=${skipped} time=${secs}s`);
  // a suite may count how its cases ended, to show they reach deep enough to mean something
  if (suite.outcomes) console.log(`fuzz: outcomes ${JSON.stringify(suite.outcomes)}`);
  if (failures.length) {
    console.log(`reproduce: node tests/fuzz/run.js --suite ${opts.suite} --seed ${failures[0].seed} --count 1`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
