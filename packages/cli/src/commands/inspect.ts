import type { Command } from 'commander';
import { Graph, functionAttrs, loadModel, shapeToString, sizeOf } from '@graphc/graph';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('describe a model: inputs, outputs, variables, op counts')
    .argument('<model>', 'model.json or .onnx file')
    .option('--json', 'print as JSON')
    .action(async (modelFile: string, opts: { json?: boolean }) => {
      const { graph, variables, signature } = await loadModel(modelFile);
      const ops = opCounts(graph);
      // the bodies of whileLoops and the branches of conds: graphs of their own, held by the node
      const functions = graph.nodes.flatMap((n) =>
        functionAttrs(n).map(({ attr, fn }) => ({ node: n.name, op: n.op, attr, nodes: fn.graph.nodes.length, ops: opCounts(fn.graph) })),
      );
      const vars = graph.variables().map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape as number[], saved: variables.has(v.name) }));
      const inputs = graph.placeholders().map((p) => ({ name: p.name, dtype: p.dtype, shape: p.shape }));
      const outputs = signature.outputs.map((o) => {
        const t = graph.tensor(o);
        return { name: o, dtype: t.dtype, shape: t.shape };
      });
      const parameters = vars.reduce((s, v) => s + sizeOf(v.shape), 0);
      // an imported ONNX model's weights are constants (its initializers), not variables
      const constants = graph.nodes.filter((n) => n.op === 'const').reduce((s, n) => s + sizeOf(n.outputs[0].shape as number[]), 0);
      const info = { file: modelFile, nodes: graph.nodes.length, inputs, outputs, variables: vars, parameters, constants, ops, functions, metadata: graph.metadata };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const lines = [
        `model: ${modelFile}`,
        `nodes: ${graph.nodes.length}    parameters (variables): ${parameters}    constant values: ${constants}`,
        'inputs:',
        ...inputs.map((i) => `  ${i.name}: ${i.dtype} ${shapeToString(i.shape)}`),
        'outputs:',
        ...outputs.map((o) => `  ${o.name}: ${o.dtype} ${shapeToString(o.shape)}`),
        'variables:',
        ...vars.map((v) => `  ${v.name}: ${v.dtype} ${shapeToString(v.shape)}${v.saved ? '' : ' (not saved: initializer)'}`),
        'ops:',
        ...Object.entries(ops).map(([op, n]) => `  ${op}: ${n}`),
        ...(functions.length ? ['functions:'] : []),
        ...functions.map((f) => `  ${f.node} (${f.op}) ${f.attr}: ${f.nodes} nodes (${Object.entries(f.ops).map(([op, n]) => `${op} ${n}`).join(', ')})`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** How many nodes of each op a graph holds, most frequent first. */
function opCounts(graph: Graph): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of graph.nodes) counts[n.op] = (counts[n.op] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
}
