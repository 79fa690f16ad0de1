#!/usr/bin/env node
// Writes docs/ops.md from the op registry, so the op list can never drift from the code.
// Run after `npm run build`: `node scripts/gen-ops-doc.js` (`--check`: fail if docs/ops.md differs).
const fs = require('fs');
const path = require('path');
const graphc = require('../packages/cli/dist');

// webgpu: a registered WGSL kernel, or the generated elementwise kernel every pointwise op gets
const backendsOf = (d) => {
  const list = [];
  if (graphc.hasCpuKernel(d.name)) list.push('cpu');
  if (graphc.getWebGpuKernel(d.name) || d.elementwise) list.push('webgpu');
  else if (d.aliasesInput) list.push('webgpu (a view of its input, no kernel)');
  if (graphc.hasGpujsKernel(d.name)) list.push('gpujs');
  return list.join(', ');
};
const inputsOf = (d) => (d.numInputs < 0 ? 'any' : String(d.numInputs));

const defs = graphc.registeredOps().sort((a, b) => a.family.localeCompare(b.family) || a.name.localeCompare(b.name));
const families = [...new Set(defs.map((d) => d.family))];
const lines = [
  '# Ops',
  '',
  'Generated from the op registry by `node scripts/gen-ops-doc.js` (after `npm run build`); do not edit by hand.',
  'Builder functions are `ops.<name>` where the op is public; gradient-only and fused ops are created by passes.',
  '',
  `${defs.length} ops. Columns: data inputs; whether a gradient is defined; whether the op is pointwise (fusable into`,
  'one generated kernel); whether `exportOnnx` can write it; the backends with a kernel for it (an op without a',
  'webgpu kernel runs through the documented CPU fallback, see docs/webgpu.md).',
  '',
];
for (const family of families) {
  lines.push(`## ${family}`, '', '| op | inputs | gradient | pointwise | ONNX export | kernels |', '| --- | --- | --- | --- | --- | --- |');
  for (const d of defs.filter((x) => x.family === family)) {
    lines.push(`| \`${d.name}\` | ${inputsOf(d)} | ${d.gradient ? 'yes' : ''} | ${d.elementwise ? 'yes' : ''} | ${d.onnx ? 'yes' : ''} | ${backendsOf(d)} |`);
  }
  lines.push('');
}
// builders made of the ops above (no kernels of their own): checked to exist, so the list cannot name a missing one
const helpers = [
  'argsort', 'bincount', 'booleanMask', 'clipByGlobalNorm', 'clipByNorm', 'confusionMatrix', 'conv1d', 'depthToSpace', 'divNoNan', 'eye', 'globalNorm', 'l2Normalize', 'linspace', 'logSigmoid', 'matrixBandPart', 'matrixDiag', 'matrixDiagPart', 'matrixInverse', 'matrixSetDiag', 'moments', 'norm',
  'reduceLogSumExp', 'reduceStd', 'reduceVariance', 'reverse', 'separableConv2d', 'sequenceMask', 'silu', 'sort', 'spaceToDepth', 'stack', 'tensordot', 'trace', 'unsortedSegmentMax', 'unsortedSegmentMean',
  'unsortedSegmentMin', 'unsortedSegmentSum', 'unstack',
];
const missing = helpers.filter((h) => typeof graphc.ops[h] !== 'function');
if (missing.length) throw new Error(`gen-ops-doc: no ops.${missing.join(', ops.')}`);
const lossNames = Object.keys(graphc.ops.losses).sort();
lines.push(
  '## Helpers',
  '',
  'Built from the ops above, with no kernels of their own (every backend runs them, autodiff differentiates them), named as TensorFlow names them:',
  '',
  `${helpers.map((h) => `\`ops.${h}\``).join(', ')}; losses ${lossNames.map((l) => `\`ops.losses.${l}\``).join(', ')}.`,
  '',
);
const imported = [...graphc.supportedOnnxOps()].sort();
const [ownDomain, otherDomains] = [imported.filter((o) => !o.includes(':')), imported.filter((o) => o.includes(':'))];
lines.push(
  '## ONNX import',
  '',
  `${ownDomain.length} ONNX operators of the default domain import, at opsets 1 to 25 (ONNX's test data reaches opset 17; tests/onnx/recent-opsets.test.ts checks what opsets 18 to 25 changed against onnxruntime); per-op conformance is in docs/onnx-conformance.md.`,
  '',
  ownDomain.map((o) => `\`${o}\``).join(', '),
  '',
  `From other domains: ${otherDomains.map((o) => `\`${o}\``).join(', ')} (the training domain: Gradient by graphc's autodiff, the optimizer steps as elementwise ops).`,
  '',
);
const target = path.join(__dirname, '..', 'docs', 'ops.md');
const text = lines.join('\n');
if (process.argv.includes('--check')) {
  // the test suite's guard: the committed file must be what the registry generates now
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
  if (current !== text) {
    console.error('docs/ops.md is out of date with the op registry: run `npm run docs:ops`');
    process.exit(1);
  }
  console.log(`docs/ops.md is current: ${defs.length} ops`);
} else {
  fs.writeFileSync(target, text);
  console.log(`docs/ops.md: ${defs.length} ops`);
}
