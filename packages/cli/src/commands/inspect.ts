import type { Command } from 'commander';
import { loadModel, shapeToString, sizeOf } from '@graphc/graph';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('describe a model: inputs, outputs, variables, op counts')
    .argument('<model>', 'model.json or .onnx file')
    .option('--json', 'print as JSON')
    .action(async (modelFile: string, opts: { json?: boolean }) => {
      const { graph, variables, signature } = await loadModel(modelFile);
      const ops: Record<string, number> = {};
      for (const n of graph.nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
      const vars = graph.variables().map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape as number[], saved: variables.has(v.name) }));
      const inputs = graph.placeholders().map((p) => ({ name: p.name, dtype: p.dtype, shape: p.shape }));
      const outputs = signature.outputs.map((o) => {
        const t = graph.tensor(o);
        return { name: o, dtype: t.dtype, shape: t.shape };
      });
      const parameters = vars.reduce((s, v) => s + sizeOf(v.shape), 0);
      // an imported ONNX model's weights are constants (its initializers), not variables
      const constants = graph.nodes.filter((n) => n.op === 'const').reduce((s, n) => s + sizeOf(n.outputs[0].shape as number[]), 0);
      const info = { file: modelFile, nodes: graph.nodes.length, inputs, outputs, variables: vars, parameters, constants, ops, metadata: graph.metadata };
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
        ...Object.entries(ops)
          .sort((a, b) => b[1] - a[1])
          .map(([op, n]) => `  ${op}: ${n}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
