import type { Command } from 'commander';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { loadModel, toDot, writeFileAtomic } from '@graphc/graph';
import { UsageError } from '../cli-error';

/** Renders DOT with Graphviz's `dot`; a clear usage error when Graphviz is not installed. */
function renderSvg(dot: string): string {
  const r = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) throw new UsageError("Graphviz's 'dot' is needed for .svg and .html output (apt-get install graphviz); .dot output works without it");
  if (r.status !== 0) throw new Error(`dot failed: ${r.stderr.split('\n')[0]}`);
  return r.stdout;
}

function htmlPage(title: string, svg: string, summary: string): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:Helvetica,Arial,sans-serif;margin:1em}svg{max-width:100%;height:auto}pre{background:#f6f6f6;padding:.5em}</style>
</head><body><h1>${esc(title)}</h1><pre>${esc(summary)}</pre>
${svg.slice(svg.indexOf('<svg'))}
</body></html>
`;
}

export function registerViz(program: Command): void {
  program
    .command('viz')
    .description('draw a model graph as .dot, .svg or a standalone .html page')
    .argument('<model>', 'model.json or .onnx file')
    .requiredOption('-o, --out <file>', 'output file: .dot, .svg or .html')
    .action(async (modelFile: string, opts: { out: string }) => {
      const ext = path.extname(opts.out).toLowerCase();
      if (!['.dot', '.svg', '.html'].includes(ext)) throw new UsageError(`-o '${opts.out}' must end in .dot, .svg or .html`);
      const { graph } = await loadModel(modelFile);
      const title = path.basename(modelFile);
      const dot = toDot(graph, { title });
      if (ext === '.dot') return writeFileAtomic(opts.out, dot);
      const svg = renderSvg(dot);
      if (ext === '.svg') return writeFileAtomic(opts.out, svg);
      const ops = new Map<string, number>();
      for (const n of graph.nodes) ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
      const summary = `${graph.nodes.length} nodes: ${[...ops].map(([op, c]) => `${op} ${c}`).join(', ')}`;
      writeFileAtomic(opts.out, htmlPage(title, svg, summary));
    });
}
