#!/usr/bin/env node
// `npm run build:browser`: one script for web pages, dist/browser/graphc.js (after `npm run build`).
// It defines the global `graphc` (the graph, passes and runtime packages: Graph, ops, Session, ...).
// In a browser the webgpu backend uses navigator.gpu and the gpujs backend gpu.js's WebGL; the
// Node-only parts (files: loadModel, saveModel, checkpoints; Dawn) are stubbed and throw if called.
//   node scripts/build-browser.js [--out FILE]
'use strict';
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const out = args.includes('--out') ? path.resolve(args[args.indexOf('--out') + 1]) : path.join(root, 'dist/browser/graphc.js');

// Node's built-ins and the Node-only packages: a module whose every use throws, naming what is missing
const NODE_ONLY = /^(node:)?(fs|path|os|crypto|child_process|worker_threads|url|util|module|zlib|stream|events)$|^(webgpu|gl)$/;
const nodeOnly = {
  name: 'node-only',
  setup(build) {
    build.onResolve({ filter: NODE_ONLY }, (a) => ({ path: a.path, namespace: 'node-only' }));
    build.onLoad({ filter: /.*/, namespace: 'node-only' }, (a) => ({
      contents: `module.exports = new Proxy({}, { get: (_, key) => key === '__esModule' ? false : () => { throw new Error("graphc in a browser: '${a.path}' is Node-only (" + String(key) + ")"); } });`,
      loader: 'js',
    }));
  },
};

const entry = `module.exports = { ...require('@graphc/graph'), ...require('@graphc/passes'), ...require('@graphc/runtime') };`;

esbuild
  .build({
    stdin: { contents: entry, resolveDir: root, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'graphc',
    target: 'es2022',
    minify: true,
    keepNames: true, // error classes keep their names (GraphcError, ShapeError, ...)
    outfile: out,
    plugins: [nodeOnly],
    // settings read from process.env (GRAPHC_*) have their defaults in a page
    inject: [path.join(__dirname, 'browser-globals.js')],
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  })
  .then(() => console.log(`wrote ${path.relative(process.cwd(), out)}`))
  .catch(() => process.exit(1));
