#!/usr/bin/env node
// Runs a TypeScript script (models/*/build.ts, bench/*.ts) against the built packages:
// `node scripts/ts-run.js models/mlp/build.ts`. Transpile only; `npm run build` type-checks.
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: filename,
  });
  module._compile(outputText, filename);
};

const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: node scripts/ts-run.js SCRIPT.ts [args...]');
  process.exit(2);
}
process.argv = [process.argv[0], path.resolve(script), ...args];
// load as the main module, so `require.main === module` holds in the script
require('module')._load(path.resolve(script), null, true);
