#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled package (npm install builds it).
const cli = require('../dist/index.js');
// the process is the CLI's: on Node 20 it turns on V8's relaxed SIMD (Node 22 has it), so the
// float32 GEMM and depthwise kernels multiply-add with FMA instructions
cli.enableRelaxedSimd();
cli.main(process.argv).then((code) => {
  process.exitCode = code;
});
