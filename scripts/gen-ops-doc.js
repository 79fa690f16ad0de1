#!/usr/bin/env node
// Writes docs/ops.md from the op registry, so the op list can never drift from the code.
// Run after `npm run build`: `node scripts/gen-ops-doc.js`.
const fs = require('fs');
const path = require('path');
const graphc = require('../packages/cli/dist');

const backendsOf = (op) => {
  const list = [];
  if (graphc.hasCpuKernel(op)) list.push('cpu');
  for (const [name, probe] of [['webgpu', graphc.hasWebgpuKernel], ['gpujs', graphc.hasGpujsKernel]]) {
    if (typeof probe === 'function' && probe(op)) list.push(name);
  }
  return list.join(', ');
};

const defs = graphc.registeredOps().sort((a, b) => a.family.localeCompare(b.family) || a.name.localeCompare(b.name));
const families = [...new Set(defs.map((d) => d.family))];
const lines = [
  '# Ops',
  '',
  'Generated from the op registry by `node scripts/gen-ops-doc.js` (after `npm run build`); do not edit by hand.',
  'Builder functions are `ops.<name>` where the op is public; gradient-only and fused ops are created by passes.',
  '',
  `${defs.length} ops. Columns: data inputs; whether a gradient is defined; whether the op is pointwise (fusable into`,
  'one generated kernel); the backends with a kernel for it.',
  '',
];
for (const family of families) {
  lines.push(`## ${family}`, '', '| op | inputs | gradient | pointwise | kernels |', '| --- | --- | --- | --- | --- |');
  for (const d of defs.filter((x) => x.family === family)) {
    lines.push(`| \`${d.name}\` | ${d.numInputs} | ${d.gradient ? 'yes' : ''} | ${d.elementwise ? 'yes' : ''} | ${backendsOf(d.name)} |`);
  }
  lines.push('');
}
fs.writeFileSync(path.join(__dirname, '..', 'docs', 'ops.md'), lines.join('\n'));
console.log(`docs/ops.md: ${defs.length} ops`);
