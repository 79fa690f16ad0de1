#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled package (npm install builds it).
require('../dist/main.js').main(process.argv).then((code) => {
  process.exitCode = code;
});
