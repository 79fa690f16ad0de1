import { Graph, GraphcError, Shape, TensorValue } from '@graphc/graph';
import { OptLevel, PassStats, freezeVariables, optimizeGraph } from '@graphc/passes';
import { evaluateNode } from './backends/cpu';
import { buildPlan } from './plan';

export interface OptimizeModelOptions {
  level: OptLevel;
  /** Tensors the optimized model must still compute (the model's outputs). */
  outputs: string[];
  /** Concrete shapes for placeholders with unknown dimensions (others: the model's; unknown dims default to 1). */
  shapes?: Record<string, number[]>;
  /** Saved variable values to freeze into constants (an inference-only model). */
  freeze?: Map<string, TensorValue>;
}

/** `graphc optimize --report`: API.md's figures, for one inference run of the outputs. */
export interface OptimizeReport {
  level: OptLevel;
  outputs: string[];
  shapes: Record<string, number[]>;
  nodesBefore: number;
  nodesAfter: number;
  kernelsBefore: number;
  kernelsAfter: number;
  memory: { naiveBytes: number; plannedBytes: number; lowerBoundBytes: number; buffers: number; inplace: number };
  frozen: number;
  /** Passes of the inference plan at this level, then memory planning. */
  passes: PassStats[];
  compileMs: number;
}

/**
 * Optimizes a whole model for saving (keeping its outputs, placeholders, variables and their
 * initializers) and reports, for one inference run at concrete shapes, the kernel counts at O0 and
 * at `level` and the memory plan.
 */
export function optimizeModel(source: Graph, options: OptimizeModelOptions): { graph: Graph; report: OptimizeReport } {
  let graph = source;
  let frozen = 0;
  if (options.freeze) {
    const f = freezeVariables(source, options.freeze);
    graph = f.graph;
    frozen = f.frozen.length;
  }
  for (const o of options.outputs) graph.tensor(o);
  const placeholders = graph.placeholders();
  const shapes: Record<string, number[]> = {};
  for (const p of placeholders) {
    const given = options.shapes?.[p.name];
    if (given && !(given.length === p.shape.length && given.every((d, i) => p.shape[i] === null || p.shape[i] === d))) {
      throw new GraphcError(`--shape ${p.name}=${given.join(',')} does not fit its placeholder shape [${p.shape.map((d) => d ?? '?').join(', ')}]`);
    }
    shapes[p.name] = given ?? (p.shape as Shape).map((d) => d ?? 1);
  }
  for (const name of Object.keys(options.shapes ?? {})) {
    if (!(name in shapes)) throw new GraphcError(`--shape names '${name}', which is not a placeholder of the model`);
  }
  const keep = new Set<string>([
    ...options.outputs.map((o) => graph.tensor(o).node.name),
    ...placeholders.map((p) => p.name),
    ...graph.variables().map((v) => v.name),
    ...[...graph.variableInitializers.values()].map((n) => n.name),
  ]);
  const optimized = optimizeGraph(graph, { level: options.level, keep, evaluate: evaluateNode }).graph;

  const planAt = (level: OptLevel) =>
    buildPlan({
      graph,
      fetchNames: options.outputs,
      targetNames: [],
      feedNames: placeholders.map((p) => p.name),
      feedShapes: placeholders.map((p) => shapes[p.name]),
      level,
      evaluate: evaluateNode,
      planMemory: true,
    });
  const before = planAt(0);
  const start = performance.now();
  const after = planAt(options.level);
  const compileMs = performance.now() - start;
  const memory = after.memory!;
  return {
    graph: optimized,
    report: {
      level: options.level,
      outputs: options.outputs,
      shapes,
      nodesBefore: source.nodes.length,
      nodesAfter: optimized.nodes.length,
      kernelsBefore: before.kernels,
      kernelsAfter: after.kernels,
      memory: {
        naiveBytes: memory.naiveBytes,
        plannedBytes: memory.plannedBytes,
        lowerBoundBytes: memory.lowerBoundBytes,
        buffers: memory.buffers,
        inplace: memory.inplace,
      },
      frozen,
      passes: after.passes,
      compileMs,
    },
  };
}
